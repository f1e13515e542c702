"""``python -m ring <builder-file> <command> ...`` (same as ``stackstore ring ...``)."""

import sys

from ring.cli import main

sys.exit(main())
