"""Command line: `python -m recsys_book data info|fetch`, errors exit 2 with a message."""

from __future__ import annotations

import subprocess
import sys

import pytest

from recsys_book.__main__ import main
from recsys_book.utils import data_dir

HAS_ML = (data_dir() / "ml-100k" / "ml-100k.inter").exists()


@pytest.mark.skipif(not HAS_ML, reason="MovieLens-100k not fetched: run `make data`")
def test_data_info_ml100k_subprocess():
    out = subprocess.run(
        [sys.executable, "-m", "recsys_book", "data", "info", "ml-100k"],
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "users: 943" in out.stdout and "items: 1,682" in out.stdout
    assert "interactions: 100,000" in out.stdout
    assert "from: 1997-09-20" in out.stdout and "to: 1998-04-22" in out.stdout
    assert "density: 0.06305" in out.stdout


def test_data_info_on_a_file(tmp_path, capsys):
    p = tmp_path / "mine.csv"
    p.write_text("user,item\na,x\nb,x\nb,y\n")
    assert main(["data", "info", str(p)]) == 0
    out = capsys.readouterr().out
    assert "users: 2" in out and "items: 2" in out and "interactions: 3" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["data", "info", "no-such-dataset"], "unknown dataset 'no-such-dataset'"),
        (
            ["data", "fetch", "ml-100k", "--source", "/nonexistent/ml-100k.zip", "--force"],
            "does not exist",
        ),
    ],
)
def test_errors_exit_2_with_a_message(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


def test_bad_file_exits_2(tmp_path, capsys):
    p = tmp_path / "dup.csv"
    p.write_text("user,item\na,x\na,x\n")
    assert main(["data", "info", str(p)]) == 2
    assert "duplicate" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["data", "fetch", "ml-1b"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "no-such-experiment"])
    assert exc.value.code == 2


@pytest.mark.skipif(not HAS_ML, reason="MovieLens-100k not fetched: run `make data`")
def test_data_fetch_when_cached_only_verifies(capsys):
    before = {p.name: p.stat().st_mtime_ns for p in (data_dir() / "ml-100k").iterdir()}
    assert main(["data", "fetch", "ml-100k"]) == 0
    assert "SHA-256 verified" in capsys.readouterr().out
    after = {p.name: p.stat().st_mtime_ns for p in (data_dir() / "ml-100k").iterdir()}
    assert before == after  # nothing downloaded or rewritten


def test_data_info_uses_and_reports_conventional_columns(tmp_path, capsys):
    p = tmp_path / "r.csv"
    p.write_text("user,item,rating,timestamp,note\na,x,5,881250949,hi\nb,x,3,881250950,yo\n")
    assert main(["data", "info", str(p)]) == 0
    out = capsys.readouterr().out
    assert "ratings: 3..5" in out and "from: 1997-12-04" in out
    assert "columns: user=user, item=item, rating=rating, timestamp=timestamp" in out
    assert "ignored: note" in out
    p.write_text("user,item,rating,timestamp\na,x,5,1\nb,x,five,2\n")
    assert main(["data", "info", str(p)]) == 2
    assert "must be numeric but holds 'five'" in capsys.readouterr().err
    # the explicit way out, from the command line
    assert main(["data", "info", str(p), "--rating", "none"]) == 0
    out = capsys.readouterr().out
    assert "ratings" not in out and "ignored: rating" in out


def test_data_info_on_a_cut_short_file_exits_2_naming_the_line(tmp_path, capsys):
    """A RecBole file cut mid-timestamp was reported with a date range from 1970; now it is
    refused (exit 2) with its line number and content."""
    p = tmp_path / "cut.inter"
    p.write_text(
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
        "1\t10\t4\t881250949\n2\t10\t3\t881251949\n3\t11\t5\t88125"
    )
    assert main(["data", "info", str(p)]) == 2
    out = capsys.readouterr()
    assert "line 4" in out.err and "'3\\t11\\t5\\t88125'" in out.err and "cut short" in out.err
    assert "1970" not in out.out
