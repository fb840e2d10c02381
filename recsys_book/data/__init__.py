"""Datasets, planted generators, protocols (splits) and context builders."""

from recsys_book.data.datasets import fetch_ml100k, load, load_atomic, load_csv, load_ml100k, load_movielens
from recsys_book.data.interactions import DataError, Interactions, binarize, from_dataframe, k_core, split_likes
from recsys_book.data.planted import (
    planted_baskets,
    planted_explicit,
    planted_implicit,
    planted_playlists,
    planted_sequences,
)
from recsys_book.data.splits import (
    EvalSet,
    Split,
    add_recent_context,
    add_session_context,
    basket_split,
    leave_one_out,
    playlist_holdout,
    random_split,
    recent_context,
    sample_negatives,
    temporal_global,
    temporal_holdout,
)

__all__ = [
    "DataError", "EvalSet", "Interactions", "Split", "add_recent_context", "add_session_context",
    "basket_split", "binarize", "fetch_ml100k", "from_dataframe", "k_core", "leave_one_out", "load",
    "load_atomic", "load_csv", "load_ml100k", "load_movielens", "planted_baskets", "planted_explicit",
    "planted_implicit", "planted_playlists", "planted_sequences", "playlist_holdout", "random_split",
    "recent_context", "sample_negatives", "split_likes", "temporal_global", "temporal_holdout",
]
