"""Playlists from time-stamped histories: each user's history cut into sessions.

The MASR chapter needs users -> playlists -> songs (30Music, AOTM-2011: not reachable
offline). Our real-data stand-in is MovieLens-100k cut into *sessions*:

* a user's ratings are sorted by time; a new session starts when the gap to the previous
  rating exceeds ``gap_hours`` (1 hour by default: ML-100k ratings come in bursts of
  web-form sittings, and 1 h separates them without merging days);
* a session longer than ``max_len`` is cut into consecutive chunks of ``max_len`` (the
  paper's playlists hold at most 58-63 songs; some ML-100k sittings hold hundreds);
* chunks with fewer than ``min_len`` items are dropped (the paper's 5-core on playlists).

Each session is one "playlist" of its user (``session`` column). The order inside a
session is kept in ``timestamp``, but MASR treats a playlist as a set, as in the paper.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_book.data.interactions import DataError, Interactions, from_dataframe


def sessions_by_gap(
    inter: Interactions,
    gap_hours: float = 1.0,
    max_len: int = 50,
    min_len: int = 5,
    name: str | None = None,
) -> Interactions:
    """Cut each user's time-ordered history into sessions (see module doc); returns new
    :class:`Interactions` (ids re-indexed) with a ``session`` column of ``"<user>-<k>"``."""
    if not inter.has_timestamps:
        raise DataError(f"{inter.name!r} has no timestamps; sessions by time gap need them.")
    if gap_hours <= 0 or max_len < 1 or min_len < 1 or min_len > max_len:
        raise ValueError(
            f"need gap_hours > 0 and 1 <= min_len <= max_len, got gap_hours={gap_hours}, "
            f"min_len={min_len}, max_len={max_len}"
        )
    df = inter.df.sort_values(["user", "timestamp", "item"], kind="stable").reset_index(drop=True)
    u = df["user"].to_numpy()
    t = df["timestamp"].to_numpy()
    new_user = np.r_[True, u[1:] != u[:-1]]
    gap = np.r_[np.inf, np.diff(t).astype(float)]
    new = new_user | (gap > gap_hours * 3600)
    sess = np.cumsum(new) - 1  # session index, global
    pos = df.groupby(sess).cumcount().to_numpy()  # position inside the session
    chunk = sess * 10_000 + pos // max_len  # split long sessions
    size = pd.Series(chunk).map(pd.Series(chunk).value_counts()).to_numpy()
    keep = size >= min_len
    if not keep.any():
        raise DataError(
            f"no session has {min_len} items with gap_hours={gap_hours}; lower min_len."
        )
    out = df.loc[
        keep, ["user", "item", "timestamp"] + (["rating"] if "rating" in df else [])
    ].copy()
    codes = pd.factorize(chunk[keep])[0]
    out["session"] = [f"{inter.user_ids[a]}-{b}" for a, b in zip(out["user"].to_numpy(), codes)]
    out["user"] = inter.user_ids[out["user"].to_numpy()]
    out["item"] = inter.item_ids[out["item"].to_numpy()]
    info = None
    if inter.item_info is not None:
        info = inter.item_info.copy()
        info.index = (
            inter.item_ids[np.arange(len(info))] if len(info) == inter.n_items else info.index
        )
    res = from_dataframe(
        out,
        rating="rating" if "rating" in out else None,
        timestamp="timestamp",
        session="session",
        item_info=info,
        name=name or f"{inter.name}-sessions",
    )
    res.meta = {**res.meta, "gap_hours": gap_hours, "max_len": max_len, "min_len": min_len}
    return res


def ml100k_playlists(
    gap_hours: float = 1.0, max_len: int = 50, min_len: int = 5, min_rating: float | None = None
) -> Interactions:
    """MovieLens-100k as playlists (sessions by time gap; see module doc).

    ``min_rating``: keep only ratings >= this first (4: a "playlist" of liked movies)."""
    from recsys_book.data.datasets import load_ml100k

    return sessions_by_gap(
        load_ml100k(min_rating=min_rating), gap_hours, max_len, min_len, name="ml-100k-sessions"
    )
