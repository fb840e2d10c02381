"""recsys_book.check: the chapters over several random streams, and the GPU check."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest
import torch

from recsys_book import check
from recsys_book.utils import SEED_SHIFT_ENV, seed_everything, seed_shift, torch_generator


def test_seed_shift_moves_every_stream(monkeypatch):
    monkeypatch.delenv(SEED_SHIFT_ENV, raising=False)
    seed_everything(3)
    plain = torch.rand(3)
    g_plain = torch.rand(2, generator=torch_generator(3))
    monkeypatch.setenv(SEED_SHIFT_ENV, "2")
    assert seed_shift() == 2
    seed_everything(1)  # 1 + 2 = 3: the same stream as seed 3 unshifted
    assert torch.equal(torch.rand(3), plain)
    assert torch.equal(torch.rand(2, generator=torch_generator(1)), g_plain)
    seed_everything(3)
    assert not torch.equal(torch.rand(3), plain)
    monkeypatch.setenv(SEED_SHIFT_ENV, "two")
    with pytest.raises(ValueError, match="RECSYS_BOOK_SEED_SHIFT='two'"):
        seed_everything(0)


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# a chapter")]
    nb.cells += [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return path


def test_run_chapter_names_the_failing_cell_and_reads_the_stream(tmp_path):
    ok = _notebook(
        tmp_path / "01_ok.ipynb",
        "import os\nprint('shift', os.environ['RECSYS_BOOK_SEED_SHIFT'], os.environ['RECSYS_BOOK_FAST'])",
    )
    r = check.run_chapter(ok, shift=3, grep=r"^shift")
    assert r["ok"] and r["error"] is None and r["lines"] == ["shift 3 1"], r
    bad = _notebook(tmp_path / "02_bad.ipynb", "x = 1", "assert x == 2, 'the claim'")
    r = check.run_chapter(bad)
    assert not r["ok"] and r["error"] == "cell 2: AssertionError: the claim", r


def test_gpu_check_without_cuda_says_so_and_exits_0():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: `make gpu-check` runs the real check")
    out = subprocess.run(
        [sys.executable, "-m", "recsys_book.check", "gpu"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert "no CUDA device here" in out.stdout


def test_unit_test_rows_name_the_failing_file(monkeypatch):
    """The GPU table's test rows come from pytest's summary lines."""

    class Done:
        returncode = 1
        stdout = (
            "FAILED tests/test_train.py::test_params_subset - RuntimeError: Expected all "
            "tensors to be on the same device\n1 failed, 10 passed in 3.2s\n"
        )
        stderr = ""

    monkeypatch.setattr(check.subprocess, "run", lambda *a, **k: Done())
    rows = {r["where"]: r["result"] for r in check.unit_tests(None)}
    assert rows["tests/test_train.py"] == (
        "FAIL test_params_subset: RuntimeError: Expected all tensors to be on the same device"
    )
    assert rows["tests/test_metrics.py"] == "ok"
    assert "pytest" not in rows
