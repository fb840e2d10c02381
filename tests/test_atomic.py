"""Nothing half-written is left behind: each writer, interrupted in the middle of a write,
leaves the previous file intact and no temporary file (utils.atomic_path underneath)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from recsys_book.utils import atomic_path, write_text_atomic

ROOT = Path(__file__).resolve().parents[1]


def _leftovers(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.tmp"))


def test_an_interrupted_process_leaves_the_previous_file(tmp_path):
    """A real process, stopped with Ctrl-C (SIGINT) while it is writing 20 MB, and another
    killed outright (SIGKILL): the file still holds its previous content. After Ctrl-C the
    temporary file is gone too; after SIGKILL (no code runs) only a hidden ``.NAME.*.tmp``
    may stay beside it, never the half-written data under the real name."""
    target = tmp_path / "table.md"
    target.write_text("previous\n")
    script = textwrap.dedent(
        f"""
        import signal, sys, time
        from recsys_book.utils import atomic_path
        # Ctrl-C raises KeyboardInterrupt (a background job may have inherited SIGINT ignored)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        with atomic_path({str(target)!r}) as tmp:
            with open(tmp, "w") as f:
                for i in range(200_000):
                    f.write("x" * 100 + "\\n")
                    if i == 1000:
                        f.flush(); print("writing", flush=True)
                    if i > 1000:
                        time.sleep(0.0001)
        """
    )
    for sig in (signal.SIGINT, signal.SIGKILL):
        proc = subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert proc.stdout.readline().strip() == "writing"
        time.sleep(0.2)
        proc.send_signal(sig)
        proc.wait(timeout=30)
        assert proc.returncode != 0, "the writer finished before it was interrupted"
        assert target.read_text() == "previous\n", sig
        if sig == signal.SIGINT:
            assert not _leftovers(tmp_path), _leftovers(tmp_path)
        for left in _leftovers(tmp_path):
            left.unlink()


class Boom(RuntimeError):
    pass


def test_a_results_row_raises_mid_write(tmp_path, monkeypatch):
    """The runner's one writer (results.ResultsFile.add): the second row's write fails half
    way; the file keeps the first row, complete, and nothing temporary is left."""
    from recsys_book.results import ResultsFile, Row, read

    store = ResultsFile(tmp_path, "exp", smoke=False)
    store.add(Row("exp", "loo", "d", "A", {"k": 1}, 0, valid={"NDCG@10": 0.5}))
    before = (tmp_path / "exp.csv").read_text()
    real = Path.write_text

    def half_then_boom(self, text, *a, **k):
        if self.name.startswith(".exp"):
            real(self, text[: len(text) // 2], *a, **k)
            raise Boom("disk full")
        return real(self, text, *a, **k)

    monkeypatch.setattr(Path, "write_text", half_then_boom)
    with pytest.raises(Boom):
        store.add(Row("exp", "loo", "d", "B", {"k": 2}, 0, valid={"NDCG@10": 0.6}))
    assert (tmp_path / "exp.csv").read_text() == before
    assert list(read(tmp_path / "exp.csv")["model"]) == ["A"]
    assert not _leftovers(tmp_path)


def test_data_fetch_raises_mid_write(tmp_path, monkeypatch):
    """data fetch from a folder of RecBole files: the write of the second file fails half-way;
    the cache keeps the previous files, and the next fetch replaces them."""
    from recsys_book.data import datasets

    src = datasets.data_dir() / "ml-100k"
    if not (src / "ml-100k.inter").exists():
        pytest.skip("MovieLens-100k is not fetched (make data)")
    dest = tmp_path / "ml-100k"
    dest.mkdir()
    for name in datasets.ML100K_FILES:
        (dest / name).write_bytes(b"previous")
    real = Path.write_bytes
    calls = []

    def half_then_boom(self, data):
        calls.append(self.name)
        if len(calls) == 2:
            real(self, data[: len(data) // 2])
            raise Boom("interrupted")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", half_then_boom)
    with pytest.raises(Boom):
        datasets.fetch_ml100k(source=src, dest=dest, force=True)
    written = [n for n in datasets.ML100K_FILES if (dest / n).read_bytes() != b"previous"]
    assert len(written) <= 1, written  # at most the first file, complete
    for n in written:
        datasets._verify(n, (dest / n).read_bytes())
    assert not _leftovers(dest)
    monkeypatch.setattr(Path, "write_bytes", real)
    datasets.fetch_ml100k(source=src, dest=dest, force=True)
    for n in datasets.ML100K_FILES:
        datasets._verify(n, (dest / n).read_bytes())


def test_book_summary_raises_mid_write(tmp_path, monkeypatch):
    """The book's build.json (and any write_text_atomic) keeps its previous content."""
    target = tmp_path / "build.json"
    target.write_text('{"previous": true}\n')
    real = Path.write_text

    def half_then_boom(self, text, *a, **k):
        real(self, text[:5], *a, **k)
        raise Boom("interrupted")

    monkeypatch.setattr(Path, "write_text", half_then_boom)
    with pytest.raises(Boom):
        write_text_atomic(target, '{"pages": []}\n')
    monkeypatch.setattr(Path, "write_text", real)
    assert target.read_text() == '{"previous": true}\n'
    assert not _leftovers(tmp_path)


def test_atomic_path_creates_nothing_on_failure(tmp_path):
    target = tmp_path / "sub" / "new.csv"
    with pytest.raises(Boom):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise Boom()
    assert not target.exists() and not _leftovers(target.parent)
