"""The motif-statistics job: count a pile's motifs and write the motif table folder.

``neural-pile motifs`` (and its Ray entry point ``ray_jobs/motifs.py``) parse the options and
call :func:`motif_table_job`, which counts with the given executor and writes the table, its
metadata (with the exact source: repo, commit, config, splits) and the top-motif figure.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from builders.pile import Pile
from builders.runtime.executor import Executor
from tokenizer.motif_counting import count_pile_motifs
from tokenizer.motif_figure import plot_motif_table
from tokenizer.motif_table import FIGURE_FILE, MotifTable, owned_table_folder, table_metadata, write_motif_table
from tokenizer.patches import check_pad, check_patch_size

logger = logging.getLogger(__name__)


def motif_table_job(
    piles: list[Pile],
    patch_size,
    pad: str,
    out: str | Path,
    *,
    top: int = 24,
    executor: Executor | None = None,
    progress: bool = True,
) -> MotifTable:
    """Count every distinct motif of ``piles`` and write ``out``/{motifs.parquet, metadata.json, top_motifs.png}.

    The folder is claimed and locked before counting (a refused folder costs no work) and stays
    locked until the last file is written. The same input gives the same bytes: no timing is
    recorded in the files (the log line has it).
    """
    patch_size = check_patch_size(patch_size)
    pad = check_pad(pad)
    with owned_table_folder(out) as folder:
        return _count_and_write(piles, patch_size, pad, folder, top, executor, progress)


def _count_and_write(piles, patch_size, pad, out: Path, top: int, executor, progress: bool) -> MotifTable:
    started = time.perf_counter()
    counted = count_pile_motifs(piles, patch_size, pad, executor=executor, progress=progress)
    motifs, counts, rows = counted.motifs, counted.counts, counted.rows
    seconds = time.perf_counter() - started
    first = piles[0].source
    meta = table_metadata(
        patch_size,
        pad,
        motifs,
        counts,
        dataset=first.dataset,
        configs=[p.source.config for p in piles],
        splits=list(first.splits),
        rows=int(rows),
        files=len({f.path for p in piles for f in p.files}),
        sources=[p.source.to_json() for p in piles],
        components=sorted(counted.components),
    )
    table = MotifTable(motifs, counts, meta)
    write_motif_table(out, table)
    plot_motif_table(table, out / FIGURE_FILE, top=top)
    logger.info("%d rows, %d distinct motifs in %.1f s -> %s", rows, len(motifs), seconds, out)
    return table
