"""Motif statistics on a Ray cluster: ``neural-pile motifs`` with its files spread over Ray actors.

    ray job submit --working-dir . -- python ray_jobs/motifs.py --patch-size 1 10 \
        --dataset hf://datasets/user/neural-pile-rodent --out /mnt/shared/motifs_1x10

Same options and output as ``neural-pile motifs``; ``--ray`` is implied (the cluster of the
job, or ``--ray ADDRESS``). Inside a submitted job, local paths must be absolute paths on
storage every node sees (the job runs in an uploaded copy of the working directory).
"""

import sys

from ray_jobs.entry import run_on_ray

if __name__ == "__main__":
    sys.exit(run_on_ray("motifs"))
