"""``python -m clusters.emulator``: see :mod:`clusters.emulator.cli`."""

import sys

from clusters.emulator.cli import main

sys.exit(main())
