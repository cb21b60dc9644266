"""``python -m maskrun`` is the ``maskrun`` command."""

import sys

from maskrun.cli.console import main

sys.exit(main())
