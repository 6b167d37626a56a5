"""Build the pile on a Ray cluster: ``neural-pile build`` with its sessions spread over Ray actors.

    ray job submit --working-dir . -- python ray_jobs/build.py vbn ibl shield \
        --out /mnt/shared/neural_pile_rodent

Same options and output as the local command; ``--ray`` is implied. Every actor runs
:func:`builders.build.pipeline.process_session`, the same unit of work as the local build, so the rows
are identical; shards and markers are written atomically, so a lost node or a killed driver loses
at most the sessions in flight, and a rerun resumes. A failed session's batch is tried
``--max-retries`` more times, then reported. --out (and --data-dir, --cache-dir) must be absolute
paths on storage every node sees.
"""

import sys

from ray_jobs.entry import run_on_ray

if __name__ == "__main__":
    sys.exit(run_on_ray("build"))
