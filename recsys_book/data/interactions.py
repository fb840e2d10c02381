"""The one data structure every protocol and model starts from: :class:`Interactions`.

An ``Interactions`` holds a pandas frame with contiguous integer ids::

    user  item  [rating]  [timestamp]  [session]
    0     17    4.0       881250949    ...

``user`` and ``item`` run over ``0..n_users-1`` and ``0..n_items-1``; the original ids
live in ``user_ids[u]`` / ``item_ids[i]``. ``item_info`` (optional) is indexed by the
contiguous item id and carries titles, years and genres where the dataset has them.
A ``session`` column groups interactions into baskets or playlists.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import torch


class DataError(ValueError):
    """Bad input data: the message names the problem and the fix."""


def as_written(value: object) -> str:
    """An id or value for an error message, as the user wrote it: ``1``, ``'ann'``, ``4.5``.

    numpy scalars become Python scalars first, so a message says ``user 1``, not
    ``user np.int64(1)``; strings keep their quotes (``'1'`` and ``1`` are different ids).
    Every message in ``recsys_book.data`` that shows an id or a value goes through here.
    """
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


@dataclass
class Interactions:
    df: pd.DataFrame
    n_users: int
    n_items: int
    user_ids: np.ndarray
    item_ids: np.ndarray
    item_info: pd.DataFrame | None = None
    name: str = "interactions"
    meta: dict = field(default_factory=dict)

    # ---- views -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.df)

    def __repr__(self) -> str:
        cols = [c for c in ("rating", "timestamp", "session") if c in self.df]
        return (
            f"Interactions({self.name!r}: {self.n_users} users, {self.n_items} items, "
            f"{len(self)} interactions, columns: user, item{''.join(', ' + c for c in cols)})"
        )

    @property
    def users(self) -> np.ndarray:
        return self.df["user"].to_numpy(np.int64)

    @property
    def items(self) -> np.ndarray:
        return self.df["item"].to_numpy(np.int64)

    @property
    def has_ratings(self) -> bool:
        return "rating" in self.df

    @property
    def has_timestamps(self) -> bool:
        return "timestamp" in self.df

    @property
    def density(self) -> float:
        pairs = self.df[["user", "item"]].drop_duplicates().shape[0]
        return pairs / max(1, self.n_users * self.n_items)

    def item_degree(self) -> np.ndarray:
        """Number of distinct users per item, shape (n_items,)."""
        pairs = self.df[["user", "item"]].drop_duplicates()
        return np.bincount(pairs["item"].to_numpy(), minlength=self.n_items)

    def user_degree(self) -> np.ndarray:
        pairs = self.df[["user", "item"]].drop_duplicates()
        return np.bincount(pairs["user"].to_numpy(), minlength=self.n_users)

    def to_dense(self, device: str | torch.device = "cpu", dtype=torch.float32) -> torch.Tensor:
        """Binary user x item matrix (1 where the user interacted), shape (n_users, n_items)."""
        m = torch.zeros(self.n_users, self.n_items, dtype=dtype, device=device)
        m[torch.tensor(self.users, device=device), torch.tensor(self.items, device=device)] = 1
        return m

    def to_sparse(self, values: np.ndarray | None = None) -> torch.Tensor:
        """Sparse COO user x item tensor (duplicates summed); binary unless ``values``."""
        pairs = self.df[["user", "item"]].drop_duplicates() if values is None else self.df
        idx = torch.as_tensor(np.stack([pairs["user"].to_numpy(), pairs["item"].to_numpy()]))
        vals = (
            torch.ones(idx.shape[1])
            if values is None
            else torch.as_tensor(values, dtype=torch.float32)
        )
        return torch.sparse_coo_tensor(idx, vals, (self.n_users, self.n_items)).coalesce()

    def user_items(self) -> list[np.ndarray]:
        """For each user, the sorted array of distinct items they interacted with."""
        pairs = self.df[["user", "item"]].drop_duplicates().sort_values(["user", "item"])
        counts = np.bincount(pairs["user"].to_numpy(), minlength=self.n_users)
        return np.split(pairs["item"].to_numpy(np.int64), np.cumsum(counts)[:-1])

    def titles(self, items) -> list[str]:
        """Human-readable labels for contiguous item ids (titles when the dataset has them)."""
        items = np.asarray(items).ravel()
        if self.item_info is not None and "title" in self.item_info:
            return [str(self.item_info["title"].iloc[i]) for i in items]
        return [f"item {self.item_ids[i]}" for i in items]

    def with_df(self, df: pd.DataFrame, **changes) -> "Interactions":
        """Same id space, other rows (used by splits: train/valid/test share n_users, n_items)."""
        return replace(self, df=df.reset_index(drop=True), **changes)

    def info(self) -> dict:
        """Counts, density and date range, as shown by ``python -m recsys_book data info``."""
        out = {
            "name": self.name,
            "users": self.n_users,
            "items": self.n_items,
            "interactions": len(self),
            "density": round(self.density, 5),
        }
        if self.has_ratings:
            r = self.df["rating"]
            out["ratings"] = f"{r.min():g}..{r.max():g} (mean {r.mean():.2f})"
        if self.has_timestamps:
            ts = pd.to_datetime(self.df["timestamp"], unit="s")
            out["from"] = str(ts.min().date())
            out["to"] = str(ts.max().date())
        if "session" in self.df:
            out["sessions"] = int(self.df["session"].nunique())
        used = {k: v for k, v in self.meta.get("columns", {}).items() if k in self.df}
        if used:  # which column of the source became which (set by from_dataframe)
            out["columns"] = ", ".join(f"{k}={v}" for k, v in used.items())
        if self.meta.get("ignored_columns"):
            out["ignored"] = ", ".join(map(str, self.meta["ignored_columns"]))
        return out


# ---- building from user data -------------------------------------------------------


def _check_hashable(values: pd.Series, column: str) -> None:
    bad = []
    if values.dtype == object:  # numeric/string columns are hashable by construction
        for v in values:
            try:
                hash(v)
            except TypeError:
                bad.append(v)
                break
    if bad:
        raise DataError(
            f"column {column!r} holds values that cannot be used as ids (unhashable, e.g. "
            f"{as_written(bad[0])} of type {type(bad[0]).__name__}); convert them to str or int first."
        )
    if values.isna().any():
        n = int(values.isna().sum())
        raise DataError(f"column {column!r} has {n} missing ids; drop those rows first.")


def from_dataframe(
    df: pd.DataFrame,
    user: str = "user",
    item: str = "item",
    rating: str | None = None,
    timestamp: str | None = None,
    session: str | None = None,
    item_info: pd.DataFrame | None = None,
    name: str = "interactions",
    duplicates: str = "error",
) -> Interactions:
    """Build :class:`Interactions` from any frame with user and item columns.

    Original ids may be anything hashable; they are mapped to contiguous ``0..n-1`` ids in
    order of first appearance after sorting, and kept in ``user_ids`` / ``item_ids``.

    ``duplicates``: what to do with repeated (user, item[, session]) rows: ``"error"``
    (default), ``"first"`` (keep the earliest) or ``"keep"`` (keep all: repeat purchases).
    ``item_info``: a frame indexed by the *original* item id (title, year, genres ...).
    Only the named columns are loaded (``rating=None`` etc. leave a column out); which
    column became which, and which were left out, is kept in ``meta["columns"]`` and
    ``meta["ignored_columns"]`` and shown by :meth:`Interactions.info`.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame, got {type(df).__name__}")
    wanted = {
        "user": user,
        "item": item,
        "rating": rating,
        "timestamp": timestamp,
        "session": session,
    }
    missing = [src for src in wanted.values() if src is not None and src not in df.columns]
    if missing:
        raise DataError(
            f"missing column(s) {missing}; the frame has {list(df.columns)}. Pass the right "
            "names, e.g. from_dataframe(df, user='userId', item='movieId', rating='rating')."
        )
    if len(df) == 0:
        raise DataError("the frame is empty: there are no interactions to load.")
    out = pd.DataFrame({k: df[v].to_numpy() for k, v in wanted.items() if v is not None})
    _check_hashable(out["user"], user)
    _check_hashable(out["item"], item)
    for col, src in (("rating", rating), ("timestamp", timestamp)):
        if col in out:
            raw = out[col]
            empty = raw.isna()
            if raw.dtype == object:  # text files read as str: an empty field is ""
                empty |= raw.map(lambda v: isinstance(v, str) and not v.strip()).astype(bool)
            leave_out = f"or leave the column out ({col}=None)"
            if empty.any():
                n = int(empty.sum())
                raise DataError(
                    f"column {src!r} has {n} empty value{'s' if n > 1 else ''} (the {col} of "
                    f"user {as_written(out['user'][empty].iloc[0])}, item "
                    f"{as_written(out['item'][empty].iloc[0])}); fill or drop those rows, "
                    f"{leave_out}."
                )
            num = pd.to_numeric(raw, errors="coerce")
            if num.isna().any():
                bad = raw[num.isna()].iloc[0]
                raise DataError(
                    f"column {src!r} must be numeric but holds {as_written(bad)} (and "
                    f"{int(num.isna().sum()) - 1} more non-numeric values); clean or drop those "
                    f"rows, {leave_out}."
                )
            out[col] = num.astype(np.float32 if col == "rating" else np.int64)
    keys = ["user", "item"] + (["session"] if "session" in out else [])
    dup = out.duplicated(keys)
    if dup.any():
        if duplicates == "error":
            ex = out[dup].iloc[0]
            raise DataError(
                f"{int(dup.sum())} duplicate {tuple(keys)} rows (e.g. user "
                f"{as_written(ex['user'])}, item {as_written(ex['item'])}); pass duplicates='first' to keep the earliest, or 'keep' if "
                "repeats are meaningful (repeat purchases)."
            )
        if duplicates == "first":
            if "timestamp" in out:
                out = out.sort_values("timestamp", kind="stable")
            out = out.drop_duplicates(keys, keep="first")
        elif duplicates != "keep":
            raise DataError(f"duplicates must be 'error', 'first' or 'keep', got {duplicates!r}")
    used = {k: v for k, v in wanted.items() if v is not None}
    meta = {
        "columns": used,
        "ignored_columns": [c for c in df.columns if c not in set(used.values())],
    }
    return _reindex(out, item_info=item_info, name=name, meta=meta)


def _reindex(out: pd.DataFrame, item_info=None, name="interactions", meta=None) -> Interactions:
    """Map whatever ids are in ``user``/``item`` to contiguous ids (sorted original order)."""
    user_codes, user_ids = pd.factorize(out["user"], sort=True)
    item_codes, item_ids = pd.factorize(out["item"], sort=True)
    out = out.copy()
    out["user"] = user_codes.astype(np.int64)
    out["item"] = item_codes.astype(np.int64)
    sort_cols = ["user"] + (["timestamp"] if "timestamp" in out else [])
    out = out.sort_values(sort_cols, kind="stable").reset_index(drop=True)
    info = None
    if item_info is not None:
        info = item_info.reindex(pd.Index(item_ids)).reset_index(drop=True)
    return Interactions(
        df=out,
        n_users=len(user_ids),
        n_items=len(item_ids),
        user_ids=np.asarray(user_ids),
        item_ids=np.asarray(item_ids),
        item_info=info,
        name=name,
        meta=dict(meta or {}),
    )


def _subset(inter: Interactions, mask: np.ndarray, name: str | None = None) -> Interactions:
    """Keep rows where ``mask`` and re-index to contiguous ids (original ids preserved)."""
    df = inter.df[mask].copy()
    if len(df) == 0:
        raise DataError(f"no interactions left in {inter.name!r} after filtering.")
    df["user"] = inter.user_ids[df["user"].to_numpy()]
    df["item"] = inter.item_ids[df["item"].to_numpy()]
    info = None
    if inter.item_info is not None:
        info = inter.item_info.copy()
        info.index = inter.item_ids
    return _reindex(df, item_info=info, name=name or inter.name, meta=inter.meta)


# ---- preprocessing ----------------------------------------------------------------


def k_core(inter: Interactions, k_user: int = 5, k_item: int | None = None) -> Interactions:
    """Repeatedly drop users with < ``k_user`` and items with < ``k_item`` distinct partners.

    Ids are re-made contiguous; the original ids stay in ``user_ids`` / ``item_ids``.
    """
    k_item = k_user if k_item is None else k_item
    df = inter.df
    mask = np.ones(len(df), dtype=bool)
    while True:
        sub = df[mask]
        pairs = sub[["user", "item"]].drop_duplicates()
        ucount = np.bincount(pairs["user"].to_numpy(), minlength=inter.n_users)
        icount = np.bincount(pairs["item"].to_numpy(), minlength=inter.n_items)
        keep = (
            mask
            & (ucount[df["user"].to_numpy()] >= k_user)
            & (icount[df["item"].to_numpy()] >= k_item)
        )
        if keep.sum() == mask.sum():
            break
        mask = keep
        if not mask.any():
            raise DataError(
                f"{k_user}-core (users) / {k_item}-core (items) filtering left {inter.name!r} empty: "
                f"no user has >= {k_user} items among items with >= {k_item} users. Lower k_user/k_item."
            )
    return _subset(inter, mask, name=f"{inter.name}-{k_user}core")


def binarize(inter: Interactions, threshold: float | None = None) -> Interactions:
    """Implicit feedback: keep interactions with rating >= ``threshold`` (all when None),
    drop the rating column."""
    df = inter.df
    if threshold is not None:
        if not inter.has_ratings:
            raise DataError(
                f"{inter.name!r} has no ratings to threshold; call binarize(inter) without a threshold."
            )
        inter = _subset(inter, (df["rating"] >= threshold).to_numpy())
    return inter.with_df(inter.df.drop(columns=["rating"], errors="ignore"))


def split_likes(
    inter: Interactions, like: float = 4, dislike: float = 2
) -> tuple[Interactions, Interactions]:
    """Explicit ratings -> (liked: rating >= like, disliked: rating <= dislike), same id space.

    Ratings strictly between the two thresholds are dropped (neither liked nor disliked),
    as in the RME chapter.
    """
    if not inter.has_ratings:
        raise DataError(
            f"{inter.name!r} has no rating column; liked/disliked needs explicit ratings."
        )
    if dislike >= like:
        raise DataError(f"dislike threshold ({dislike}) must be below the like threshold ({like}).")
    r = inter.df["rating"]
    return inter.with_df(inter.df[r >= like]), inter.with_df(inter.df[r <= dislike])
