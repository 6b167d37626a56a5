"""Reorder the neurons of a pile on a Ray cluster: ``neural-pile reorder`` with its files spread over
Ray actors.

    ray job submit --working-dir . -- python ray_jobs/reorder.py --in user/neural-pile-rodent \
        --out /mnt/shared/neural_pile_rodent_reordered

Same options and output as the local command; ``--ray`` is implied. Each actor writes its files
atomically into --out, which must be storage every node sees; reruns skip finished files.
"""

import sys

from ray_jobs.entry import run_on_ray

if __name__ == "__main__":
    sys.exit(run_on_ray("reorder"))
