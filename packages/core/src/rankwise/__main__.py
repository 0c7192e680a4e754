"""``python -m rankwise``: the same command line as the ``rankwise`` script."""

from rankwise.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
