"""Full-mode wall and CPU time of each chapter, as a learner's `make lab` runs it.

    .venv/bin/python tools/chapter_times.py                 # every chapter, in order
    .venv/bin/python tools/chapter_times.py 04_sdmr_signed_distance_memory.ipynb

Executes each notebook top to bottom in a fresh kernel (RECSYS_BOOK_FAST removed from the
environment: full mode) and prints its wall seconds and the CPU seconds of the kernel (Linux:
/proc). Run it on an idle machine: another job on the same cores multiplies both.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its waited-for children (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def main(names: list[str]) -> int:
    os.environ.pop("RECSYS_BOOK_FAST", None)
    names = names or sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    total = 0.0
    for name in names:
        nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        client = NotebookClient(nb, timeout=3600, kernel_name="python3",
                                resources={"metadata": {"path": str(ROOT / "notebooks")}})  # fmt: skip
        t0 = time.perf_counter()
        with client.setup_kernel():
            pid = client.km.provisioner.process.pid
            for i, cell in enumerate(nb.cells):
                client.execute_cell(cell, i)
            cpu = cpu_seconds(pid)
        wall = time.perf_counter() - t0
        total += wall
        print(f"{name}: wall {wall:.0f} s, kernel CPU {cpu:.0f} s", flush=True)
    print(f"all: wall {total:.0f} s ({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at the end)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
