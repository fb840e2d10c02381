"""Evaluation protocols of the papers, each one function returning a :class:`Split`.

=========================  ==========================================  =====================
protocol                   what is held out                            ranked against
=========================  ==========================================  =====================
leave_one_out              each user's last item (test), one more      N sampled negatives
                           (validation), by time                       (100; SDMR, MASR, LRML)
temporal_global            the globally latest 20 % (test), 10 % val.  1,000 sampled negatives
                                                                       (quaternion chapter)
temporal_holdout           globally latest 20 %; a random share of     all items (full
                           the rest for validation                     ranking; RME chapter)
random_split               random 60/20/20 per user                    all items (CoRML)
basket_split               each user's last basket (test) and the one  N sampled negatives;
                           before (validation): target + rest of cart  context = the basket
playlist_holdout           per playlist >= 3 tracks: one random track  100 sampled non-member
                           to validation, one to test                  tracks; context = rest
explicit_split             liked (rating >= 4) by temporal_holdout or  all items (full
                           random_split; dislikes before the test      ranking; RME chapter)
                           period returned apart
=========================  ==========================================  =====================

:func:`activity_groups` labels evaluation rows cold / warm / active (the RME chapter's Fig. 4.7).
The file is over 500 lines because it holds every protocol of the book, one function each,
indexed by the table above; they share the private helpers at the top.

A sampled :class:`EvalSet` holds ``candidates`` (m, 1 + N) with the held-out target in
column 0. A full-ranking one holds ``positives`` (m, P) padded with -1 and the items to
mask (``exclude``: training items, plus validation items at test time).

Extra per-row inputs a model needs (contexts, playlists) travel in ``inputs`` dicts and
are passed to ``model.score(users, items, **inputs)``. Context builders
(:func:`add_recent_context`, :func:`add_session_context`) fill them for any split.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from recsys_book.data.interactions import DataError, Interactions, as_written, split_likes
from recsys_book.utils import is_whole_number


@dataclass
class EvalSet:
    """Held-out rows of one split part (validation or test)."""

    users: torch.Tensor  # (m,)
    candidates: torch.Tensor | None = None  # (m, 1+N) sampled protocol, target in column 0
    positives: torch.Tensor | None = None  # (m, P) full ranking, padded with -1
    exclude: tuple[torch.Tensor, torch.Tensor] | None = None  # CSR (indptr (m+1,), items) masked
    inputs: dict[str, torch.Tensor] = field(default_factory=dict)  # per-row model inputs
    rows: np.ndarray | None = None  # row indices into Split.history (one per m)
    n_items: int = 0

    def __len__(self) -> int:
        return int(self.users.shape[0])

    @property
    def sampled(self) -> bool:
        return self.candidates is not None

    def subset(self, idx) -> "EvalSet":
        """Rows ``idx`` only (e.g. the rows of one user group)."""
        idx = torch.as_tensor(idx, dtype=torch.long)
        excl = None
        if self.exclude is not None:
            ptr, items = self.exclude
            starts, ends = ptr[idx], ptr[idx + 1]
            lens = ends - starts
            new_ptr = torch.zeros(len(idx) + 1, dtype=torch.long)
            new_ptr[1:] = torch.cumsum(lens, 0)
            gather = torch.repeat_interleave(starts - new_ptr[:-1], lens) + torch.arange(
                int(new_ptr[-1])
            )
            excl = (new_ptr, items[gather])
        return EvalSet(
            users=self.users[idx],
            candidates=None if self.candidates is None else self.candidates[idx],
            positives=None if self.positives is None else self.positives[idx],
            exclude=excl,
            inputs={k: v[idx] for k, v in self.inputs.items()},
            rows=None if self.rows is None else self.rows[idx.numpy()],
            n_items=self.n_items,
        )


@dataclass
class Split:
    """Train interactions plus validation and test :class:`EvalSet` s of one protocol."""

    train: Interactions
    valid: EvalSet
    test: EvalSet
    protocol: str
    history: Interactions  # all interactions, sorted by user then time
    train_rows: np.ndarray  # rows of ``history`` that are training rows
    train_inputs: dict[str, torch.Tensor] = field(default_factory=dict)  # aligned with train.df

    @property
    def n_users(self) -> int:
        return self.train.n_users

    @property
    def n_items(self) -> int:
        return self.train.n_items

    def __repr__(self) -> str:
        kind = "sampled" if self.test.sampled else "full ranking"
        extra = f", inputs {sorted(self.train_inputs)}" if self.train_inputs else ""
        return (
            f"Split({self.protocol}: {len(self.train)} train, {len(self.valid)} valid rows, "
            f"{len(self.test)} test rows, {kind}{extra})"
        )


# ---- helpers -------------------------------------------------------------------------


def _sorted_history(inter: Interactions) -> Interactions:
    cols = ["user"] + (["timestamp"] if inter.has_timestamps else [])
    return inter.with_df(inter.df.sort_values(cols, kind="stable"))


def _csr(
    groups: np.ndarray, values: np.ndarray, n_groups: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """CSR arrays (indptr, values sorted by group) from parallel arrays."""
    order = np.argsort(groups, kind="stable")
    counts = np.bincount(groups, minlength=n_groups)
    ptr = np.zeros(n_groups + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(counts)
    return torch.as_tensor(ptr), torch.as_tensor(values[order].astype(np.int64))


def sample_negatives(
    forbidden: tuple[torch.Tensor, torch.Tensor],
    rows_group: np.ndarray,
    n_items: int,
    n: int,
    seed: int,
    chunk: int = 2048,
) -> torch.Tensor:
    """For each row, ``n`` distinct items drawn uniformly from the items not forbidden.

    ``forbidden`` is a CSR over groups (users or playlists); ``rows_group[r]`` is the group
    of row r. Exactly uniform without replacement: random keys for all items, forbidden
    items pushed to +inf, the ``n`` smallest kept. Seeded and deterministic.
    """
    ptr, items = forbidden
    gen = torch.Generator().manual_seed(int(seed))
    rows_group = torch.as_tensor(rows_group, dtype=torch.long)
    counts = ptr[1:] - ptr[:-1]
    allowed = n_items - counts[rows_group]
    if len(rows_group) and int(allowed.min()) < n:
        r = int(torch.argmin(allowed))
        raise DataError(
            f"cannot sample {n} negatives: a row's group has only {int(allowed[r])} items it has "
            f"not interacted with (of {n_items}). Ask for fewer negatives (n_negatives < {int(allowed.min()) + 1})."
        )
    out = []
    for s in range(0, len(rows_group), chunk):
        g = rows_group[s : s + chunk]
        keys = torch.rand(len(g), n_items, generator=gen)
        lens = counts[g]
        r = torch.repeat_interleave(torch.arange(len(g)), lens)
        starts = torch.repeat_interleave(ptr[g], lens)
        offs = torch.arange(int(lens.sum())) - torch.repeat_interleave(
            torch.cumsum(lens, 0) - lens, lens
        )
        keys[r, items[starts + offs]] = float("inf")
        out.append(torch.topk(keys, n, dim=1, largest=False).indices)
    if not out:
        return torch.zeros(0, n, dtype=torch.long)
    return torch.cat(out)


def _check_fractions(fractions) -> None:
    """Three shares (train, validation, test), each in [0, 1], summing to 1, train > 0."""
    try:
        shares = [float(f) for f in fractions]
    except (TypeError, ValueError):
        shares = []
    if (
        len(shares) != 3
        or abs(sum(shares) - 1) > 1e-6
        or min(shares) < 0
        or shares[0] <= 0
    ):
        raise DataError(
            f"fractions must be three shares (train, validation, test) in [0, 1] summing to 1 "
            f"with some training data, got {fractions}"
        )


def _sampled_evalset(
    hist: Interactions, rows: np.ndarray, n_negatives: int, forbidden, groups, seed
) -> EvalSet:
    if not is_whole_number(n_negatives) or n_negatives < 1:
        raise DataError(
            f"n_negatives must be a positive whole number (items sampled per held-out row), got "
            f"{n_negatives!r}; leave_one_out(..., n_negatives=None) ranks all items instead."
        )
    users = hist.df["user"].to_numpy()[rows]
    targets = hist.df["item"].to_numpy()[rows]
    neg = sample_negatives(forbidden, groups, hist.n_items, n_negatives, seed)
    cand = torch.cat([torch.as_tensor(targets, dtype=torch.long)[:, None], neg], dim=1)
    return EvalSet(
        users=torch.as_tensor(users, dtype=torch.long),
        candidates=cand,
        rows=rows,
        n_items=hist.n_items,
    )


def _full_evalset(hist: Interactions, rows: np.ndarray, exclude_rows: np.ndarray) -> EvalSet:
    """One row per user with held-out items in ``rows``; mask items of ``exclude_rows``."""
    df = hist.df
    u = df["user"].to_numpy()[rows]
    it = df["item"].to_numpy()[rows]
    users = np.unique(u)
    pos_lists = pd.Series(it).groupby(u).apply(lambda s: np.unique(s.to_numpy()))
    P = max(len(p) for p in pos_lists) if len(pos_lists) else 0
    pos = np.full((len(users), P), -1, dtype=np.int64)
    for r, p in enumerate(pos_lists.loc[users]):
        pos[r, : len(p)] = p
    # exclusion CSR indexed by eval row (one per user)
    eu = df["user"].to_numpy()[exclude_rows]
    ei = df["item"].to_numpy()[exclude_rows]
    row_of_user = np.full(hist.n_users, -1)
    row_of_user[users] = np.arange(len(users))
    keep = row_of_user[eu] >= 0
    pairs = (
        np.unique(np.stack([row_of_user[eu[keep]], ei[keep]], 1), axis=0)
        if keep.any()
        else np.zeros((0, 2), np.int64)
    )
    excl = _csr(pairs[:, 0], pairs[:, 1], len(users))
    return EvalSet(
        users=torch.as_tensor(users),
        positives=torch.as_tensor(pos),
        exclude=excl,
        n_items=hist.n_items,
    )


def _finish(hist, train_rows, valid, test, protocol) -> Split:
    train = hist.with_df(hist.df.iloc[train_rows])
    return Split(
        train=train, valid=valid, test=test, protocol=protocol, history=hist, train_rows=train_rows
    )


# ---- protocols -----------------------------------------------------------------------


def leave_one_out(
    inter: Interactions, n_negatives: int | None = 100, seed: int = 0, drop_short: bool = False
) -> Split:
    """Leave-one-out by time: each user's last interaction -> test, the one before -> validation.

    ``n_negatives``: items sampled per held-out row among items the user never interacted
    with (100 in SDMR, MASR, LRML); ``None`` ranks all items (training items masked).
    Users need >= 3 interactions; ``drop_short=True`` drops the others.
    """
    hist = _sorted_history(inter)
    df = hist.df
    counts = np.bincount(df["user"].to_numpy(), minlength=hist.n_users)
    short = np.flatnonzero((counts > 0) & (counts < 3))
    if len(short):
        if not drop_short:
            raise DataError(
                f"{len(short)} users have fewer than 3 interactions (e.g. user "
                f"{as_written(hist.user_ids[short[0]])} "
                f"with {counts[short[0]]}); leave-one-out needs 3 (train, validation, test). Filter first "
                "with k_core(inter, 3) or pass drop_short=True."
            )
        from recsys_book.data.interactions import _subset

        hist = _sorted_history(_subset(hist, ~np.isin(df["user"].to_numpy(), short)))
        df = hist.df
    pos_from_end = df.groupby("user").cumcount(ascending=False).to_numpy()
    rows = np.arange(len(df))
    test_rows, valid_rows, train_rows = (
        rows[pos_from_end == 0],
        rows[pos_from_end == 1],
        rows[pos_from_end >= 2],
    )
    if n_negatives is None:
        valid = _full_evalset(hist, valid_rows, train_rows)
        test = _full_evalset(hist, test_rows, np.concatenate([train_rows, valid_rows]))
    else:
        forbidden = _csr(df["user"].to_numpy(), df["item"].to_numpy(), hist.n_users)
        valid = _sampled_evalset(
            hist, valid_rows, n_negatives, forbidden, df["user"].to_numpy()[valid_rows], seed
        )
        test = _sampled_evalset(
            hist, test_rows, n_negatives, forbidden, df["user"].to_numpy()[test_rows], seed + 1
        )
    return _finish(
        hist, train_rows, valid, test, f"leave-one-out ({n_negatives or 'all'} candidates)"
    )


def _require_time(inter: Interactions, protocol: str):
    if not inter.has_timestamps:
        raise DataError(
            f"{protocol} needs timestamps but {inter.name!r} has none; use random_split instead."
        )


def temporal_global(
    inter: Interactions, fractions=(0.7, 0.1, 0.2), n_negatives: int = 1000, seed: int = 0
) -> Split:
    """Global temporal split (70/10/20 by default) with ``n_negatives`` sampled per held-out row.

    Interactions are ordered by time across all users; the first 70 % train, the next 10 %
    validate, the last 20 % test. Held-out rows whose user or item never appears in training
    are dropped (a model cannot score them); the count dropped is kept in ``Split.train.meta``.
    """
    _require_time(inter, "temporal_global")
    _check_fractions(fractions)
    hist = _sorted_history(inter)
    df = hist.df
    order = np.argsort(df["timestamp"].to_numpy(), kind="stable")
    n = len(df)
    a, b = int(round(fractions[0] * n)), int(round((fractions[0] + fractions[1]) * n))
    train_rows, valid_rows, test_rows = np.sort(order[:a]), np.sort(order[a:b]), np.sort(order[b:])
    seen_u = np.zeros(hist.n_users, bool)
    seen_i = np.zeros(hist.n_items, bool)
    seen_u[df["user"].to_numpy()[train_rows]] = True
    seen_i[df["item"].to_numpy()[train_rows]] = True
    dropped = 0
    kept = []
    for rows in (valid_rows, test_rows):
        ok = seen_u[df["user"].to_numpy()[rows]] & seen_i[df["item"].to_numpy()[rows]]
        dropped += int((~ok).sum())
        kept.append(rows[ok])
    forbidden = _csr(df["user"].to_numpy(), df["item"].to_numpy(), hist.n_users)
    valid = _sampled_evalset(
        hist, kept[0], n_negatives, forbidden, df["user"].to_numpy()[kept[0]], seed
    )
    test = _sampled_evalset(
        hist, kept[1], n_negatives, forbidden, df["user"].to_numpy()[kept[1]], seed + 1
    )
    split = _finish(
        hist, train_rows, valid, test, f"temporal {fractions} ({n_negatives} candidates)"
    )
    split.train.meta = {**split.train.meta, "dropped_cold_rows": dropped}
    return split


def temporal_holdout(
    inter: Interactions, test_frac: float = 0.2, valid_frac: float = 0.1, seed: int = 0
) -> Split:
    """Global temporal hold-out, full ranking (RME chapter).

    The latest ``test_frac`` of interactions (by time, across users) is the test set; a random
    ``valid_frac`` share of the remaining interactions is the validation set. Held-out items
    of users/items unseen in training stay (they simply count as misses).
    """
    _require_time(inter, "temporal_holdout")
    _check_fractions((1 - test_frac - valid_frac, valid_frac, test_frac))
    hist = _sorted_history(inter)
    df = hist.df
    order = np.argsort(df["timestamp"].to_numpy(), kind="stable")
    cut = int(round((1 - test_frac) * len(df)))
    rest, test_rows = order[:cut], np.sort(order[cut:])
    rng = np.random.default_rng(seed)
    is_valid = rng.random(len(rest)) < valid_frac
    train_rows, valid_rows = np.sort(rest[~is_valid]), np.sort(rest[is_valid])
    valid = _full_evalset(hist, valid_rows, train_rows)
    test = _full_evalset(hist, test_rows, np.concatenate([train_rows, valid_rows]))
    return _finish(
        hist, train_rows, valid, test, f"temporal hold-out {1 - test_frac:.0%}/{test_frac:.0%}"
    )


def random_split(inter: Interactions, fractions=(0.6, 0.2, 0.2), seed: int = 0) -> Split:
    """Random per-user split (60/20/20 by default), full ranking (CoRML chapter).

    Each user's interactions are shuffled and cut by the fractions (rounded, at least one
    training item per user).
    """
    _check_fractions(fractions)
    hist = _sorted_history(inter)
    df = hist.df
    rng = np.random.default_rng(seed)
    key = rng.random(len(df))
    tmp = pd.DataFrame({"user": df["user"].to_numpy(), "key": key})
    rank = tmp.groupby("user")["key"].rank(method="first").to_numpy() - 1
    n_u = np.bincount(df["user"].to_numpy(), minlength=hist.n_users)[df["user"].to_numpy()]
    frac = rank / n_u
    rows = np.arange(len(df))
    train_rows = rows[frac < fractions[0]]
    valid_rows = rows[(frac >= fractions[0]) & (frac < fractions[0] + fractions[1])]
    test_rows = rows[frac >= fractions[0] + fractions[1]]
    valid = _full_evalset(hist, valid_rows, train_rows)
    test = _full_evalset(hist, test_rows, np.concatenate([train_rows, valid_rows]))
    return _finish(hist, train_rows, valid, test, f"random per-user {fractions}")


def basket_split(
    inter: Interactions, n_negatives: int = 100, seed: int = 0, max_context: int = 20
) -> Split:
    """Basket instances: each user's last basket -> test, the one before -> validation.

    Every item of a held-out basket is one instance: target = that item, context = the rest
    of its basket (``inputs['context']``/``['context_mask']``), ranked against ``n_negatives``
    items the user never bought. Training rows get their own basket context too. Users need
    >= 3 baskets; others are dropped (the count is in ``Split.train.meta``).
    """
    if "session" not in inter.df:
        raise DataError(
            f"{inter.name!r} has no session (basket) column; load it with session='basket_id'."
        )
    hist = _sorted_history(inter)
    df = hist.df
    bt = (
        df.groupby("session")["timestamp"].transform("min")
        if inter.has_timestamps
        else df["session"]
    )
    ub = pd.DataFrame({"user": df["user"], "session": df["session"], "t": bt}).drop_duplicates(
        "session"
    )
    ub = ub.sort_values(["user", "t", "session"])
    ub["from_end"] = ub.groupby("user").cumcount(ascending=False)
    nb = ub.groupby("user")["session"].transform("size")
    ub = ub[nb >= 3]
    which = df["session"].map(ub.set_index("session")["from_end"]).to_numpy()
    sizes = df.groupby("session")["item"].transform("size").to_numpy()
    rows = np.arange(len(df))
    ok = ~np.isnan(which) & (sizes >= 2)
    train_rows, valid_rows, test_rows = (
        rows[ok & (which >= 2)],
        rows[ok & (which == 1)],
        rows[ok & (which == 0)],
    )
    forbidden = _csr(df["user"].to_numpy(), df["item"].to_numpy(), hist.n_users)
    valid = _sampled_evalset(
        hist, valid_rows, n_negatives, forbidden, df["user"].to_numpy()[valid_rows], seed
    )
    test = _sampled_evalset(
        hist, test_rows, n_negatives, forbidden, df["user"].to_numpy()[test_rows], seed + 1
    )
    split = _finish(hist, train_rows, valid, test, f"baskets ({n_negatives} candidates)")
    split.train.meta = {**split.train.meta, "dropped_rows": int((~ok).sum())}
    add_session_context(split, max_context)
    return split


def playlist_holdout(
    inter: Interactions, n_negatives: int = 100, seed: int = 0, max_context: int = 50
) -> Split:
    """Playlist continuation (MASR chapter): per playlist with >= 3 tracks, one random track ->
    validation, one -> test, each ranked against ``n_negatives`` tracks not in the playlist.

    Each row carries ``inputs['playlist']`` and ``inputs['context']`` (the playlist's
    training tracks, padded) with ``inputs['context_mask']``.
    """
    if "session" not in inter.df:
        raise DataError(
            f"{inter.name!r} has no session (playlist) column; load it with session='playlist_id'."
        )
    hist = _sorted_history(inter)
    df = hist.df
    pl_codes, pl_ids = pd.factorize(df["session"], sort=True)
    sizes = np.bincount(pl_codes)
    rng = np.random.default_rng(seed)
    key = rng.random(len(df))
    rank = pd.Series(key).groupby(pl_codes).rank(method="first").to_numpy() - 1
    big = sizes[pl_codes] >= 3
    rows = np.arange(len(df))
    valid_rows, test_rows = rows[big & (rank == 0)], rows[big & (rank == 1)]
    train_rows = rows[~(big & (rank <= 1))]
    forbidden = _csr(pl_codes, df["item"].to_numpy(), len(pl_ids))
    valid = _sampled_evalset(hist, valid_rows, n_negatives, forbidden, pl_codes[valid_rows], seed)
    test = _sampled_evalset(hist, test_rows, n_negatives, forbidden, pl_codes[test_rows], seed + 1)
    split = _finish(hist, train_rows, valid, test, f"playlist hold-out ({n_negatives} candidates)")
    split.history.meta = {**split.history.meta, "n_playlists": len(pl_ids)}
    split.history.df["playlist"] = pl_codes
    split.train.df["playlist"] = pl_codes[train_rows]
    for part, r in ((split.valid, valid_rows), (split.test, test_rows)):
        part.inputs["playlist"] = torch.as_tensor(pl_codes[r], dtype=torch.long)
    split.train_inputs["playlist"] = torch.as_tensor(pl_codes[train_rows], dtype=torch.long)
    add_session_context(split, max_context, only_train_rows=True, group="playlist")
    return split


# ---- the RME chapter's explicit protocol (liked / disliked) and its user groups ----------


def explicit_split(
    inter: Interactions,
    like: float = 4,
    dislike: float = 2,
    test_frac: float = 0.2,
    valid_frac: float = 0.1,
    seed: int = 0,
    protocol: str = "temporal",
):
    """The chapter's explicit protocol: liked (>= like) and disliked (<= dislike) items;
    ``temporal_holdout`` on the liked interactions (the latest ``test_frac`` by time is test,
    a random ``valid_frac`` of the rest validation; full ranking, training items masked);
    disliked items dated before the first test interaction are training dislikes.
    Returns (split of liked items, disliked training Interactions).

    ``protocol="random"``: a random per-user split of the liked items with the same shares
    (``random_split``); every dislike is a training dislike (a disliked pair is never a
    liked test pair, so nothing leaks). On ML-100k the temporal hold-out leaves most test
    users without a training like (users rate within a short window), which makes it a
    test of popularity; the random protocol compares the models on users with history.
    """
    liked, disliked = split_likes(inter, like=like, dislike=dislike)
    if protocol == "random":
        shares = (1 - test_frac - valid_frac, valid_frac, test_frac)
        return random_split(liked, shares, seed=seed), disliked
    if protocol != "temporal":
        raise ValueError(f"protocol must be 'temporal' or 'random', got {protocol!r}")
    split = temporal_holdout(liked, test_frac=test_frac, valid_frac=valid_frac, seed=seed)
    ts = np.sort(liked.df["timestamp"].to_numpy(), kind="stable")
    test_start = ts[int(round((1 - test_frac) * len(ts)))]  # temporal_holdout's cut
    dis = disliked.with_df(disliked.df[disliked.df["timestamp"] < test_start])
    return split, dis


def activity_groups(
    train: Interactions, evalset, shares=(0.2, 0.6, 0.2), names=("cold", "warm", "active")
) -> np.ndarray:
    """Label each evaluation row by its user's training activity (#training items): users
    sorted ascending, the first 20 % 'cold', the next 60 % 'warm', the last 20 % 'active'
    (the chapter's Fig. 4.7 grouping, over the evaluated users)."""
    if len(shares) != len(names) or abs(sum(shares) - 1) > 1e-9:
        raise ValueError(f"shares must sum to 1 and match names, got {shares} for {names}")
    deg = train.user_degree()[evalset.users.numpy()]
    order = np.argsort(deg, kind="stable")
    cuts = np.round(np.cumsum((0,) + tuple(shares)) * len(order)).astype(int)
    out = np.empty(len(order), dtype=object)
    for name, a, b in zip(names, cuts[:-1], cuts[1:]):
        out[order[a:b]] = name
    return out


# ---- context builders ----------------------------------------------------------------


def recent_context(
    hist: Interactions, rows: np.ndarray, s: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``s`` most recent items of the same user before each row of ``hist`` (sorted by
    user then time), most recent last; padded on the left with ``n_items`` (the padding
    index) and a boolean mask (True = real item). Returns (context (m, s), mask (m, s))."""
    if s < 1:
        raise ValueError(f"context length s must be >= 1, got {s}")
    df = hist.df
    users = df["user"].to_numpy()
    items = df["item"].to_numpy()
    pos = df.groupby("user").cumcount().to_numpy()
    rows = np.asarray(rows)
    ctx = np.full((len(rows), s), hist.n_items, dtype=np.int64)
    for k in range(1, s + 1):
        ok = pos[rows] >= k
        src = rows[ok] - k
        assert (users[src] == users[rows[ok]]).all()
        ctx[ok, s - k] = items[src]
    ctx_t = torch.as_tensor(ctx)
    return ctx_t, ctx_t != hist.n_items


def add_recent_context(split: Split, s: int) -> Split:
    """Attach ``context``/``context_mask`` (the s most recent items before each row) to the
    training rows, validation and test rows of a split (in place; returns the split)."""
    for part, rows in (
        (None, split.train_rows),
        (split.valid, split.valid.rows),
        (split.test, split.test.rows),
    ):
        if rows is None:
            raise DataError(
                "recent contexts need a sampled split with row indices (leave_one_out, temporal_global)."
            )
        ctx, mask = recent_context(split.history, rows, s)
        target = split.train_inputs if part is None else part.inputs
        target["context"], target["context_mask"] = ctx, mask
    return split


def add_session_context(
    split: Split, max_len: int, only_train_rows: bool = False, group: str = "session"
) -> Split:
    """Attach the other items of each row's basket/playlist as ``context`` (padded with
    ``n_items``, mask True on real items, at most ``max_len`` items, earliest first).

    ``only_train_rows``: context items are taken from training rows only (playlist
    continuation: the held-out tracks must not leak into each other's context)."""
    hist = split.history
    df = hist.df
    g = df[group].to_numpy()
    items = df["item"].to_numpy()
    pool_rows = split.train_rows if only_train_rows else np.arange(len(df))
    ptr, members = _csr(g[pool_rows], pool_rows, int(g.max()) + 1)
    ptr, members = ptr.numpy(), members.numpy()
    pad = hist.n_items
    for part, rows in (
        (None, split.train_rows),
        (split.valid, split.valid.rows),
        (split.test, split.test.rows),
    ):
        ctx = np.full((len(rows), max_len), pad, dtype=np.int64)
        for j, r in enumerate(rows):
            mem = members[ptr[g[r]] : ptr[g[r] + 1]]
            mem = mem[mem != r][:max_len]
            ctx[j, : len(mem)] = items[mem]
        ctx_t = torch.as_tensor(ctx)
        target = split.train_inputs if part is None else part.inputs
        target["context"], target["context_mask"] = ctx_t, ctx_t != pad
    return split


def long_term_length(train: Interactions) -> int:
    """The long-term list length l of the quaternion chapter (dissertation Ch. 5.3.3): the
    upper whisker of the boxplot of users' history lengths, Q3 + 1.5 IQR (users with no
    training interaction are not counted), at least 1."""
    counts = np.bincount(train.df["user"].to_numpy(), minlength=train.n_users)
    counts = counts[counts > 0]
    if not len(counts):
        raise DataError("long_term_length needs a non-empty training set")
    q1, q3 = np.percentile(counts, [25, 75])
    return max(1, int(np.floor(q3 + 1.5 * (q3 - q1))))


def add_long_short_context(split: Split, s: int = 5, l: int | None = None) -> Split:
    """Short- and long-term contexts of every row (quaternion chapter, in place).

    ``context``/``context_mask`` (m, s): the s most recent items before the row (S(u));
    ``long_context``/``long_context_mask`` (m, l): the l items before those (L(u)), so that
    the two lists are disjoint and L(u) + S(u) is the row's history cut at l + s items.
    ``l`` defaults to :func:`long_term_length` of the training data. Padding index n_items,
    padded on the left, mask True on real items."""
    if l is None:
        l = long_term_length(split.train)
    if l < 1:
        raise ValueError(f"long-term length l must be >= 1, got {l}")
    add_recent_context(split, s + l)
    for target in (split.train_inputs, split.valid.inputs, split.test.inputs):
        ctx, mask = target["context"], target["context_mask"]
        target["long_context"], target["long_context_mask"] = ctx[:, :l], mask[:, :l]
        target["context"], target["context_mask"] = ctx[:, l:], mask[:, l:]
    split.train.meta = {**split.train.meta, "s": s, "l": l}
    return split
