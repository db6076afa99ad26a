import sys

from spiralkit.cli import main

sys.exit(main())
