"""``python -m zcpt_analysis`` is the ``zcpt`` command."""
import sys

from .cli import main

sys.exit(main())
