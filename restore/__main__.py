"""``python -m restore``: the ``restore`` command line (``restore.cli``), for environments without its script."""

import sys

from restore.cli import main

if __name__ == "__main__":
    sys.exit(main())
