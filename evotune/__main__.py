"""``python -m evotune`` runs the command line."""

import sys

from evotune.cli import main

sys.exit(main())
