"""``python -m verifier``: the same as the ``gongxin-verify`` command (see verifier.cli)."""

import sys

from verifier.cli.main import main

sys.exit(main())
