"""``python -m builders.cli``: the ``neural-pile`` command, for a checkout without the console script."""

import sys

from builders.cli.main import main

sys.exit(main())
