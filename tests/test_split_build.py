"""The split as builds make it: decided at finalize from the markers, the same for an uninterrupted,
a resumed and a Ray build; shards renamed when sessions are added; the builder class route."""

import json
import shutil
from pathlib import Path

import pytest

from builders.build.pipeline import BuildOptions, build
from builders.cli.main import main as cli
from builders.runtime.executor import SerialExecutor
from builders.spec.split import assign_sessions, rule_of
from builders.storage import layout
from builders.synthetic.recordings import write_nwb_session

COMPONENT = "giocomo"  # 349 published sessions: whole sessions go to test
DANDISET = "000053"
#: (subject, session, units, seconds): unequal sizes so that the nearest prefix matters
SESSIONS = [
    ("A", "1", 30, 40.0),
    ("A", "2", 12, 20.0),
    ("B", "1", 45, 60.0),
    ("B", "2", 8, 15.0),
    ("C", "1", 20, 30.0),
    ("C", "2", 25, 50.0),
    ("D", "1", 15, 25.0),
]


def write_sessions(folder: Path, sessions) -> Path:
    for i, (subject, session, units, seconds) in enumerate(sessions):
        write_nwb_session(
            folder / f"sub-{subject}" / f"sub-{subject}_ses-{session}_ecephys.nwb",
            subject_id=subject,
            session_id=session,
            n_units=units,
            duration_s=seconds,
            seed=100 + i,
        )
    return folder


@pytest.fixture(scope="module")
def giocomo_dir(tmp_path_factory):
    return write_sessions(tmp_path_factory.mktemp("giocomo") / DANDISET, SESSIONS)


def split_files(out: Path, component: str = COMPONENT) -> dict[str, set[str]]:
    """Session shard names (without the split prefix) per split, schema-only shards left out."""
    files = {"train": set(), "test": set()}
    for path in (out / layout.DATA_DIR / component).glob("*.parquet"):
        split, _, rest = path.name.partition("-")
        if rest != f"{layout.EMPTY}.parquet":
            files[split].add(rest)
    return files


def expected_test(out: Path, component: str = COMPONENT) -> set[str]:
    """The rule applied to the markers' tokens, by hand."""
    markers = [json.loads(p.read_text()) for p in (out / layout.STATE_DIR / component).glob("*.json")]
    splits = assign_sessions(component, [(m["subject_id"], m["session_id"], m["tokens"]) for m in markers])
    return {
        Path(m["shards"][0]).name.partition("-")[2]
        for m in markers
        if splits[(m["subject_id"], m["session_id"])] == "test"
    }


@pytest.fixture(scope="module")
def uninterrupted_build_folder(giocomo_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("whole") / "pile"
    assert cli(["build", COMPONENT, "--data-dir", str(giocomo_dir), "--out", str(out), "--no-progress"]) == 0
    return out


def test_finalize_names_shards_by_the_session_rule(uninterrupted_build_folder):
    assert rule_of(COMPONENT) == "sessions"
    files = split_files(uninterrupted_build_folder)
    assert files["test"] and not files["train"] & files["test"]  # no session in both splits
    assert len(files["train"]) + len(files["test"]) == len(SESSIONS)
    assert files["test"] == expected_test(uninterrupted_build_folder)
    assert not list((uninterrupted_build_folder / layout.STATE_DIR).rglob("*.parquet")), "a shard was left waiting"
    report = json.loads((uninterrupted_build_folder / layout.REPORT).read_text())["components"][COMPONENT]
    assert report["split_rule"] == "sessions" and report["test_sessions"] == len(files["test"])
    card = (uninterrupted_build_folder / "README.md").read_text()
    assert "split rule version 2" in card


@pytest.mark.ray
def test_resumed_and_ray_builds_split_the_same_way(giocomo_dir, uninterrupted_build_folder, tmp_path, local_ray):
    from builders.runtime.executor import RayExecutor

    options = BuildOptions(out=str(tmp_path / "resumed"), data_dir=str(giocomo_dir))

    class DiesHalfWay(SerialExecutor):
        """Builds half of its items, then is interrupted (as by Ctrl-C)."""

        def map(self, task, items, **kwargs):
            super().map(task, list(items)[: len(items) // 2], **kwargs)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build([COMPONENT], options, executor=DiesHalfWay(), progress=False)
    build([COMPONENT], options, progress=False)
    assert split_files(Path(options.out)) == split_files(uninterrupted_build_folder)

    ray_options = BuildOptions(out=str(tmp_path / "ray"), data_dir=str(giocomo_dir))
    build([COMPONENT], ray_options, executor=RayExecutor(), progress=False)
    assert split_files(Path(ray_options.out)) == split_files(uninterrupted_build_folder)


def test_added_sessions_move_shards_to_their_new_split(giocomo_dir, uninterrupted_build_folder, tmp_path):
    data = tmp_path / DANDISET
    shutil.copytree(giocomo_dir, data)
    out = tmp_path / "pile"
    shutil.copytree(uninterrupted_build_folder, out)
    write_sessions(data, [("E", "1", 60, 90.0), ("E", "2", 5, 10.0), ("F", "1", 35, 45.0)])
    assert cli(["build", COMPONENT, "--data-dir", str(data), "--out", str(out), "--no-progress"]) == 0
    files = split_files(out)
    assert len(files["train"]) + len(files["test"]) == len(SESSIONS) + 3
    assert not files["train"] & files["test"]
    assert files["test"] == expected_test(out)


def test_builder_class_without_test_data(tmp_path):
    """A time-tail component whose only session is too short to hold out a bin (< 50 bins)."""
    from neural_pile_rodent import NeuralPileRodent

    folder = tmp_path / "000931"
    write_nwb_session(
        folder / "sub-I" / "sub-I_ses-1_ecephys.nwb", subject_id="I", session_id="1", n_units=10, duration_s=0.6, seed=5
    )
    builder = NeuralPileRodent(config_name="iurilli", data_dir=str(folder), cache_dir=str(tmp_path / "cache"))
    builder.download_and_prepare()
    datasets = builder.as_dataset()
    assert list(datasets) == ["train"] and len(datasets["train"]) == 1


def test_builder_class_splits_as_the_build(giocomo_dir, uninterrupted_build_folder, tmp_path):
    from neural_pile_rodent import NeuralPileRodent

    builder = NeuralPileRodent(config_name=COMPONENT, data_dir=str(giocomo_dir), cache_dir=str(tmp_path / "cache"))
    builder.download_and_prepare()
    datasets = builder.as_dataset()
    files = split_files(uninterrupted_build_folder)
    for split, ds in datasets.items():
        sessions = {(s, t) for s, t in zip(ds["subject_id"], ds["session_id"], strict=True)}
        expected = {tuple(name.rsplit("-", 1)[0].split("_", 1)) for name in files[split]}
        assert sessions == expected
