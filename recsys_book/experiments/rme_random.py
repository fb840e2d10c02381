"""Table 4.2 (RME) under the random per-user 70/10/20 protocol: ``python -m recsys_book reproduce
rme_random`` (the same as ``reproduce rme --protocol random``; see ``experiments/rme.py``)."""

from __future__ import annotations

from recsys_book.experiments._runner import main as _main
from recsys_book.experiments.rme import RANDOM


def main(argv=None) -> int:
    return _main(RANDOM, argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
