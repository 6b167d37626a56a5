"""Nothing private leaves the machine: a pile built, analysed and turned into a tokenizer under a
home folder, then pushed to the loopback Hub stand-in, names neither the home nor the working
directory in any byte the stand-in received, nor in the cards and reports written locally."""

from __future__ import annotations

import json

from builders.cli.main import main as cli
from builders.synthetic.recordings import write_demo_recordings


def _leaks(data: bytes, needles: list[str]) -> list[str]:
    return [n for n in needles if n.encode() in data or json.dumps(n)[1:-1].encode() in data]


def test_pushed_and_written_files_hold_no_local_path(hub, tmp_path, monkeypatch):
    home = tmp_path / "home" / "alice"
    work = home / "projects" / "neuro"
    work.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    monkeypatch.setenv("HF_TOKEN", hub.token)
    write_demo_recordings(work / "recordings", seed=3, scale=0.05)
    pile = work / "neural_pile_rodent"
    built = ["build", "demo", "--data-dir", str(work / "recordings"), "--out", str(pile), "--no-progress"]
    assert cli([*built, "--max-tokens", "200000"]) == 0
    # every path given absolute, as a user with the pile elsewhere would
    assert cli(["stats", "--dataset", str(pile), "--no-progress"]) == 0
    motifs = ["motifs", "--patch-size", "1", "5", "--dataset", str(pile), "--out", str(work / "m"), "--quiet"]
    assert cli(motifs) == 0
    assert cli(["train-tokenizer", "--motifs", str(work / "m"), "--vocab-size", "8", "--out", "tok", "--quiet"]) == 0
    assert cli(["push", str(pile), "--repo", "loopback/pile"]) == 0
    assert cli(["push", str(work / "tok"), "--repo", "loopback/tok"]) == 0

    needles = [str(home), str(work), str(tmp_path), str(work.resolve())]
    pushed = {**hub.repo_files("loopback/pile"), **{f"tok/{p}": b for p, b in hub.repo_files("loopback/tok").items()}}
    assert any(p.startswith("stats/") and p.endswith(".json") for p in pushed)  # the stats reports went up
    assert {"tok/README.md", "tok/config.json"} <= set(pushed)
    received = sum(len(b) for b in pushed.values())
    assert received > 0
    leaking = {p: _leaks(b, needles) for p, b in pushed.items() if _leaks(b, needles)}
    assert leaking == {}, f"{len(leaking)} of {len(pushed)} pushed files ({received} bytes) hold a local path"
    assert not any(_leaks(m.encode(), needles) for messages in hub.commits.values() for m in messages)

    written = [p for p in (work / "m").rglob("*") if p.is_file() and p.suffix in (".json", ".md")]
    written += [p for p in (work / "tok").rglob("*") if p.is_file()]
    assert not {p.name: _leaks(p.read_bytes(), needles) for p in written if _leaks(p.read_bytes(), needles)}

    # the source is still named: the pile's own folder name, in the stats report and the card
    stats = json.loads(next(b for p, b in pushed.items() if p.startswith("stats/") and p.endswith(".json")))
    assert stats["source"]["dataset"] == "neural_pile_rodent" and "uri" not in stats["source"]
    assert "- `neural_pile_rodent`: config" in pushed["tok/README.md"].decode()
