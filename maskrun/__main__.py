"""``python -m maskrun`` is the ``maskrun`` command."""

import sys

from maskrun.cli import main

sys.exit(main())
