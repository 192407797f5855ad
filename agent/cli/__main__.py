"""`python -m agent.cli`: the `wmagent` command."""

import sys

from agent.cli import main

sys.exit(main())
