"""``python -m motcua.cli``: the ``motcua`` command."""

import sys

from motcua.cli.main import main

sys.exit(main())
