"""``python -m assetmap``: the command line."""

from .cli import main

raise SystemExit(main())
