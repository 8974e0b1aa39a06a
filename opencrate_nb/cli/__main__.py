"""``python -m opencrate_nb.cli``: the same as the ``crate`` command."""

import sys

from . import main

sys.exit(main())
