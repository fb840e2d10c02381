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


# A chapter prints many measured numbers of its own, and a three-digit one can equal a paper's
# by chance (our 0.604 is not the dissertation's AMASR 0.604). In a chapter a number counts as
# a copy when it is quoted as the paper's: a word below within QUOTE_WINDOW characters of it.
# Library code holds no measured numbers, so there every occurrence counts.
QUOTE_WORDS = re.compile(r"paper|report|publish|Table|Fig\.|dissertation|PAPER", re.IGNORECASE)
QUOTE_WINDOW = 120


def _texts():
    """(where, text, quoted_only) for every library module and every chapter cell."""
    for path in sorted((ROOT / "recsys_book").rglob("*.py")):
        if path.name != "published.py":
            yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8"), False
    for path in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for i, cell in enumerate(cells):
            yield f"{path.relative_to(ROOT)} cell {i}", "".join(cell["source"]), True


def _quoted(text: str, m: re.Match) -> bool:
    near = text[max(0, m.start() - QUOTE_WINDOW): m.end() + QUOTE_WINDOW]
    return QUOTE_WORDS.search(near) is not None


def _copies(where: str, text: str, quoted_only: bool, patterns) -> list[str]:
    return [
        f"{where}: {what} (as {m.group(0)!r})"
        for p, what in patterns
        for m in p.finditer(text)
        if not quoted_only or _quoted(text, m)
    ]


def _patterns():
    found = {}
    for t in published.TABLES.values():
        for row, values in t.data.items():
            for col, v in zip(t.columns, values):
                p = _pattern(v)
                if p is not None:
                    found.setdefault(p.pattern, (p, f"{t.paper} {t.name} {row} {col} = {v}"))
    return list(found.values())


SOURCES = sorted({where.split(" cell ")[0] for where, _, _ in _texts()})


@pytest.mark.parametrize("source", SOURCES)
def test_no_published_number_is_written_twice(source):
    patterns = _patterns()
    copies = [
        c
        for where, text, quoted_only in _texts()
        if where.split(" cell ")[0] == source
        for c in _copies(where, text, quoted_only, patterns)
    ]
    assert not copies, "published numbers copied outside recsys_book/published.py:\n" + "\n".join(copies)


def test_a_copy_is_found_in_code_always_and_in_a_chapter_when_quoted():
    patterns = _patterns()
    assert _copies("m.py", "SCORES = {'SDM': (0.713, 0.435)}", False, patterns)
    assert _copies("nb", "the paper reports HR@10 .713 for SDM", True, patterns)
    assert not _copies("nb", "our run: HR@10 0.713 on the test rows", True, patterns)


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
