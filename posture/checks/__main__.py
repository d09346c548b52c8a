"""``python -m posture.checks``: the ``posture`` command line."""

import sys

from posture.checks.cli import main

sys.exit(main())
