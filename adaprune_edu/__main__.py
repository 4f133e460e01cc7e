"""``python -m adaprune_edu demo`` is the same as ``adaprune-edu demo``."""
import sys

from .cli import main

sys.exit(main())
