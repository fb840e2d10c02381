"""The glossary page lists the course's terms, in order, and the chapters link to it."""

from __future__ import annotations

import json
import re
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

REQUIRED = [  # terms a learner meets in chapters 00-09 (issues 17, 25)
    "AASVD",
    "ADMM",
    "ALS",
    "APR",
    "BIC",
    "Box-Cox",
    "BPR",
    "Caser",
    "E-step",
    "EASE",
    "GF-CF",
    "Gershgorin",
    "Hamilton product",
    "Hinge",
    "Leave-one-out",
    "LRML",
    "LSTM",
    "Mahalanobis",
    "Memory hops",
    "NDCG",
    "NRMSE",
    "Pareto front",
    "PMI",
    "SPPMI",
    "QABPR",
    "Quaternion",
    "RME",
    "Sign test",
    "SLIM",
    "softmin",
    "TP1",
    "Tie-neutral",
]


def entries() -> list[str]:
    text = (NOTEBOOKS / "glossary.md").read_text(encoding="utf-8")
    return re.findall(r"^\*\*(.+?)\*\*", text, flags=re.M)


def test_every_required_term_has_an_entry():
    heads = entries()
    missing = [t for t in REQUIRED if not any(t.lower() in h.lower() for h in heads)]
    assert not missing, f"glossary.md lacks entries for {missing}"


def test_entries_are_alphabetical_and_unique():
    heads = [h.lower() for h in entries()]
    assert len(heads) == len(set(heads))
    assert heads == sorted(heads), [a for a, b in zip(heads, sorted(heads)) if a != b][:3]


def test_reworked_chapters_link_to_the_glossary():
    for name in (
        "00_setup_and_data",
        "01_metric_learning_and_baselines",
        "04_sdmr_signed_distance_memory",
        "05_corml_residual_metric",
    ):
        nb = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))
        text = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
        assert "(glossary.md)" in text, name
