"""``python -m estates``: the ``estates`` command, for when the script is not on PATH."""

from estates.cli import run

if __name__ == "__main__":  # pragma: no cover
    run()
