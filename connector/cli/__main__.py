"""`python -m connector.cli` runs the `backorder` command."""

import sys

from connector.cli import main

sys.exit(main())
