"""Every number the course quotes from a paper, written once, with where it is printed.

The experiments, the leaderboard and the chapters read these tables; nothing else in
``recsys_book/`` or ``notebooks/`` holds a copy (``tests/test_published.py`` fails if a
number below is written a second time). A table is keyed by paper and table, its rows by
the paper's row names, its columns by metric::

    from recsys_book.published import table, value
    table("SDMR", "Table 3")["SDM"]          # {'HR@10': 0.713, 'NDCG@10': 0.435}
    value("SDMR", "Table 3", "SDM", "HR@10")  # 0.713
    cite("SDMR", "Table 3")                   # 'SDMR (WWW 2019), Table 3, ML-100k column'

Papers (``../shared/papers/``): SDMR (Tran, Wang, Lee, WWW 2019); CoRML (Liu et al.,
2023); LRML (Tay, Tuan, Hui, WWW 2018); the dissertation (Tran, 2019: Ch. 3 crowdfunding,
Ch. 4 RME and MASR, Ch. 5 quaternion models).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

__all__ = ["Published", "TABLES", "cite", "table", "value", "rows"]


@dataclass(frozen=True)
class Published:
    paper: str  # short name: "SDMR", "CoRML", "LRML", "dissertation"
    name: str  # "Table 3", "Fig. 5", ...
    where: str  # the full reference a reader can look up
    dataset: str  # the paper's dataset for these numbers
    columns: tuple[str, ...]  # metric (or column) names, in the paper's order
    data: Mapping[str, tuple[float, ...]] = field(repr=False)

    def row(self, name: str) -> dict[str, float]:
        if name not in self.data:
            raise KeyError(
                f"{self.where} has no row {name!r}; its rows are {list(self.data)}"
            )
        return dict(zip(self.columns, self.data[name]))


def _t(paper, name, where, dataset, columns, data) -> Published:
    return Published(paper, name, where, dataset, tuple(columns), MappingProxyType(dict(data)))


_ALL = (
    _t(
        "SDMR",
        "Table 3",
        "SDMR (WWW 2019), Table 3, ML-100k column",
        "MovieLens-100k, leave-one-out, 100 sampled negatives",
        ("HR@10", "NDCG@10"),
        {
            "Item-KNN": (0.166, 0.073),
            "SLIM": (0.520, 0.298),
            "MF-BPR": (0.554, 0.316),
            "CML": (0.596, 0.326),
            "NeuMF++": (0.623, 0.341),
            "CMN++": (0.620, 0.344),
            "PRME": (0.638, 0.381),
            "PRME_s": (0.674, 0.398),
            "TransRec": (0.684, 0.402),
            "Caser": (0.674, 0.386),
            "SDP": (0.616, 0.349),
            "SDM": (0.713, 0.435),
            "SDMR": (0.695, 0.562),
        },
    ),
    _t(
        "SDMR",
        "Fig. 5",
        "SDMR (WWW 2019), Fig. 5: Pearson r between SDM attention and PMI, by hops",
        "MovieLens-100k",
        ("r",),
        {"1": (0.059,), "2": (0.097,), "3": (0.143,), "4": (0.146,)},
    ),
    _t(
        "CoRML",
        "Table 2",
        "CoRML (2023), Table 2, ML-20M column (the paper has no ML-100k)",
        "MovieLens-20M, random 60/20/20 per user, full ranking",
        ("NDCG@10", "MRR@10"),
        {
            "EASE": (0.2934, 0.4963),
            "GF-CF": (0.2671, 0.4506),
            "CoRML": (0.3103, 0.5098),
            "SLIM": (0.2710, 0.4621),
            "CML": (0.2326, 0.3932),
        },
    ),
    _t(
        "LRML",
        "reported",
        "LRML (WWW 2018), as reported for MovieLens-1M (papers/README.md; the full text is not in the papers folder)",
        "MovieLens-1M, leave-one-out, 100 sampled negatives",
        ("HR@10", "NDCG@10"),
        {"LRML": (0.7397, 0.5453)},
    ),
    _t(
        "dissertation",
        "Table 4.2",
        "Dissertation Table 4.2, MovieLens-10M",
        "MovieLens-10M, liked items 70/10/20 per user, full ranking",
        ("Recall@5", "NDCG@20", "MAP@10"),
        {
            "Item-KNN": (0.0137, 0.0338, 0.0397),
            "Item2Vec": (0.1020, 0.1001, 0.0502),
            "WMF": (0.1280, 0.1245, 0.0655),
            "Cofactor": (0.1460, 0.1381, 0.0772),
            "U_RME": (0.1516, 0.1412, 0.0818),
            "I_RME": (0.1511, 0.1422, 0.0817),
            "RME": (0.1562, 0.1458, 0.0841),
        },
    ),
    _t(
        "dissertation",
        "Tables 4.4-4.6",
        "Dissertation Tables 4.4, 4.5, 4.6 and Fig. 4.13",
        "30Music and AOTM playlists",
        ("30Music hit@10", "30Music ndcg@10", "AOTM hit@10", "AOTM ndcg@10"),
        {
            "MF-BPR": (0.450, 0.315, 0.699, 0.473),
            "CML": (0.600, 0.452, 0.735, 0.481),
            "FISM": (0.544, 0.346, 0.686, 0.446),
            "CMN": (0.536, 0.397, 0.722, 0.505),
            "MDR": (0.705, 0.524, 0.820, 0.631),
            "MASS": (0.670, 0.500, 0.834, 0.639),
            "MASR": (0.731, 0.564, 0.854, 0.654),
            "AMDR": (0.764, 0.581, 0.850, 0.658),
            "AMASS": (0.753, 0.581, 0.856, 0.659),
            "AMASR": (0.785, 0.604, 0.874, 0.677),
            "MDR_us": (0.684, 0.500, 0.815, 0.594),
            "MDR_ps": (0.654, 0.476, 0.746, 0.547),
            "MASS_ups": (0.651, 0.479, 0.789, 0.581),
            "MASS_ps": (0.621, 0.450, 0.764, 0.523),
            "MASS nonmem-dot": (0.630, 0.454, 0.785, 0.574),
            "MASS nonmem-metric": (0.660, 0.490, 0.803, 0.601),
            "MASS mem-dot": (0.659, 0.475, 0.791, 0.585),
        },
    ),
    _t(
        "dissertation",
        "Fig. 4.13",
        "Dissertation Fig. 4.13: Pearson r between MASS attention and PMI",
        "30Music",
        ("r",),
        {"nonmem-dot": (0.153,), "nonmem-metric": (0.215,), "mem-dot": (0.171,), "mem-metric": (0.254,)},
    ),
    _t(
        "dissertation",
        "Fig. 5.13",
        "Dissertation Fig. 5.13: Pearson r between attention and softmax(PMI), quaternion vs real",
        "Apps for Android",
        ("r",),
        {"QUALE": (0.232,), "AASVD": (0.216,), "QUASE": (0.148,), "ALSTM": (0.100,)},
    ),
    _t(
        "dissertation",
        "Table 3.3",
        "Dissertation Table 3.3: accuracy (%) at TP1-TP4",
        "Kickstarter (2,198 labelled projects, not public)",
        ("TP1", "TP2", "TP3", "TP4"),
        {
            "majority class": (54.36, 54.36, 54.36, 54.36),
            "Kim et al. features": (62.65, 62.65, 63.10, 63.10),
            "all features (ours)": (65.8, 66.4, 71.4, 82.5),
        },
    ),
    _t(
        "dissertation",
        "Table 3.4",
        "Dissertation Table 3.4: accuracy (%) at TP4 without one feature group",
        "Kickstarter",
        ("accuracy",),
        {"all": (82.5,), "linguistic": (80.8,), "semantic": (80.5,), "backer": (80.1,), "creator": (72.5,)},
    ),
    _t(
        "dissertation",
        "Table 3.5",
        "Dissertation Table 3.5: RMSE (days) of the delivery duration at TP1-TP4",
        "Kickstarter",
        ("TP1", "TP2", "TP3", "TP4"),
        {
            "Kim et al. features (linear)": (180.0, 180.0, 173.0, 173.0),
            "semantic reward clusters": (106.8, 106.8, 106.8, 106.8),
            "other features": (106.1, 106.1, 105.6, 93.2),
            "all features (ours)": (100.7, 100.4, 94.1, 78.1),
        },
    ),
)

#: (paper, table name) -> Published
TABLES: Mapping[tuple[str, str], Published] = MappingProxyType({(t.paper, t.name): t for t in _ALL})


def _get(paper: str, name: str) -> Published:
    try:
        return TABLES[(paper, name)]
    except KeyError:
        raise KeyError(
            f"no published table {name!r} of {paper!r}; the course holds {sorted(TABLES)}"
        ) from None


def table(paper: str, name: str) -> dict[str, dict[str, float]]:
    """``{row: {column: value}}`` of one published table (a fresh copy)."""
    t = _get(paper, name)
    return {r: t.row(r) for r in t.data}


def rows(paper: str, name: str, column: str) -> dict[str, float]:
    """``{row: value}`` of one column of a published table."""
    t = _get(paper, name)
    if column not in t.columns:
        raise KeyError(f"{t.where} has no column {column!r}; its columns are {list(t.columns)}")
    i = t.columns.index(column)
    return {r: v[i] for r, v in t.data.items()}


def value(paper: str, name: str, row: str, column: str) -> float:
    """One published number."""
    return _get(paper, name).row(row)[column]


def cite(paper: str, name: str) -> str:
    """Where the numbers of a table are printed (for captions and reports)."""
    return _get(paper, name).where
