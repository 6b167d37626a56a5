"""Train a MotifTokenizer on a Ray cluster: ``neural-pile train-tokenizer`` with the nearest-motif
search spread over Ray actors.

    ray job submit --working-dir . -- python ray_jobs/train_tokenizer.py --motifs /mnt/shared/motifs_1x10 \
        --vocab-size 32000 --out /mnt/shared/tok_1x10_32k

Same options and output as the local command; ``--ray`` is implied.
"""

import sys

from ray_jobs.entry import run_on_ray

if __name__ == "__main__":
    sys.exit(run_on_ray("train-tokenizer"))
