"""ControlNet Studio: `python main.py` opens the app; sub-commands do headless work."""

import sys

from desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
