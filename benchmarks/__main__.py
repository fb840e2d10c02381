"""Run every ``benchmarks/bench_*.py`` module's ``main()`` in turn: ``python -m benchmarks``."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).resolve().parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    for name in names:
        print(f"== {name} ==")
        mod = importlib.import_module(f"benchmarks.{name}")
        rc = int(mod.main() or 0)
        if rc:
            return rc
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
