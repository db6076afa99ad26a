"""``python -m spiralkit ...``: the ``spiralkit`` command line."""

import sys

from spiralkit.cli import main

sys.exit(main())
