"""``python -m rankwise``: the same command line as the ``rankwise`` script."""

from rankwise.cli import main

raise SystemExit(main())
