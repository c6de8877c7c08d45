"""`python -m alertd`: the same as the `alertd` console script."""

import sys

from alertd.cli.app import main

sys.exit(main())
