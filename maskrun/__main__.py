"""``python -m maskrun`` is the ``maskrun`` command."""

import sys

from maskrun.console import main

sys.exit(main())
