"""Every number the course quotes from a paper is written once, in recsys_book/published.py:
the experiments, the leaderboard and the chapters read it from there."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from recsys_book import published

ROOT = Path(__file__).resolve().parents[1]


def _pattern(v: float) -> re.Pattern | None:
    """The ways a published number is written (.713, 0.713, 0.7130; 82.5), for numbers
    distinctive enough to be a copy (three significant digits or more)."""
    s = f"{v:.4f}".rstrip("0").rstrip(".")
    if "." not in s:
        return None
    whole, frac = s.split(".")
    digits = len(frac) if whole == "0" else len(whole) + len(frac)
    if digits < 3:
        return None
    head = r"0?\." if whole == "0" else re.escape(whole) + r"\."
    return re.compile(r"(?<![\d.])" + head + frac + r"0*(?!\d)")


def _texts():
    for path in sorted((ROOT / "recsys_book").rglob("*.py")):
        if path.name != "published.py":
            yield path.relative_to(ROOT), path.read_text(encoding="utf-8")
    for path in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for i, cell in enumerate(cells):
            yield f"{path.relative_to(ROOT)} cell {i}", "".join(cell["source"])


def test_no_published_number_is_written_twice():
    patterns = {}
    for t in published.TABLES.values():
        for row, values in t.data.items():
            for col, v in zip(t.columns, values):
                p = _pattern(v)
                if p is not None:
                    patterns.setdefault(p.pattern, (p, f"{t.paper} {t.name} {row} {col} = {v}"))
    copies = [
        f"{where}: {what} (as {m.group(0)!r})"
        for where, text in _texts()
        for p, what in patterns.values()
        for m in p.finditer(text)
    ]
    assert not copies, "published numbers copied outside recsys_book/published.py:\n" + "\n".join(copies)


def test_the_pattern_finds_the_ways_a_number_is_written():
    p = _pattern(0.713)
    assert p.search("SDM .713 / .435") and p.search("(0.713, 0.435)") and p.search("0.7130")
    assert not p.search("0.7131") and not p.search("10.713") and _pattern(0.5) is None
    assert _pattern(82.5).search("82.5 %") and not _pattern(82.5).search("182.5")


def test_lookups_and_their_errors():
    assert published.value("SDMR", "Table 3", "SDM", "HR@10") == published.table("SDMR", "Table 3")["SDM"]["HR@10"]
    assert "Table 3" in published.cite("SDMR", "Table 3")
    with pytest.raises(KeyError, match="no published table"):
        published.table("SDMR", "Table 9")
    with pytest.raises(KeyError, match="has no row"):
        published.value("SDMR", "Table 3", "SDM++", "HR@10")
    with pytest.raises(KeyError, match="has no column"):
        published.rows("SDMR", "Table 3", "MRR@10")
