"""Merge the pile on a Ray cluster: ``neural-pile merge`` with its scatter and gather tasks on Ray actors.

    ray job submit --working-dir . -- python ray_jobs/merge.py --in /mnt/shared/neural_pile_rodent \
        --out /mnt/shared/merged

Same options and output as the local command; ``--ray`` is implied. --out must be storage every
node sees (the actors write the shards there).
"""

import sys

from ray_jobs.entry import run_on_ray

if __name__ == "__main__":
    sys.exit(run_on_ray("merge"))
