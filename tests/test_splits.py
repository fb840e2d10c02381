"""Protocols (splits) and context builders: disjoint parts, time order, negatives, masks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from recsys_book.data import (
    DataError,
    add_recent_context,
    basket_split,
    from_dataframe,
    leave_one_out,
    planted_baskets,
    planted_implicit,
    planted_playlists,
    playlist_holdout,
    random_split,
    sample_negatives,
    temporal_global,
    temporal_holdout,
)


@pytest.fixture(scope="module")
def implicit():
    inter, _ = planted_implicit(n_users=120, n_items=150, n_clusters=5, per_user=(6, 25), seed=1)
    return inter


def _user_sets(inter):
    return [set(x.tolist()) for x in inter.user_items()]


def _excluded(evalset, r):
    ptr, items = evalset.exclude
    return set(items[int(ptr[r]) : int(ptr[r + 1])].tolist())


def _positives(evalset, r):
    p = evalset.positives[r]
    return set(p[p >= 0].tolist())


def _check_sampled(split, n_neg):
    """Candidates: target first, n_neg distinct negatives the user (group) never touched."""
    hist = split.history
    seen = _user_sets(hist)
    for part in (split.valid, split.test):
        cand = part.candidates
        assert cand.shape == (len(part), 1 + n_neg)
        assert (cand[:, 0].numpy() == hist.df["item"].to_numpy()[part.rows]).all()
        for r in range(len(part)):
            c = cand[r].tolist()
            assert len(set(c)) == len(c)  # distinct, target not repeated
            assert not (set(c[1:]) & seen[int(part.users[r])])
            assert all(0 <= i < hist.n_items for i in c)


def _check_disjoint(split, parts_rows):
    n = len(split.history)
    allrows = np.concatenate(parts_rows)
    assert len(np.unique(allrows)) == len(allrows)  # no row in two parts
    assert len(allrows) <= n


# ---- leave-one-out -----------------------------------------------------------------------


def test_leave_one_out_by_time(implicit):
    split = leave_one_out(implicit, n_negatives=20, seed=0)
    hist = split.history
    df = hist.df
    _check_disjoint(split, [split.train_rows, split.valid.rows, split.test.rows])
    assert len(split.train_rows) + len(split.valid) + len(split.test) == len(df)
    assert len(split.test) == len(split.valid) == implicit.n_users
    # test = each user's latest interaction, valid = the one before; train is older
    last = df.groupby("user")["timestamp"].idxmax()
    assert set(split.test.rows.tolist()) == set(last.tolist())
    ts = df["timestamp"].to_numpy()
    u = df["user"].to_numpy()
    for r_v, r_t in zip(split.valid.rows, split.test.rows):
        assert u[r_v] == u[r_t] and ts[r_v] <= ts[r_t]
        tr = split.train_rows[u[split.train_rows] == u[r_t]]
        assert (ts[tr] <= ts[r_v]).all()
    # train Interactions is the training rows, same id space
    assert split.train.n_items == implicit.n_items and len(split.train) == len(split.train_rows)
    assert (split.train.df["item"].to_numpy() == df["item"].to_numpy()[split.train_rows]).all()
    _check_sampled(split, 20)


def test_leave_one_out_seeds(implicit):
    a = leave_one_out(implicit, n_negatives=20, seed=5)
    b = leave_one_out(implicit, n_negatives=20, seed=5)
    c = leave_one_out(implicit, n_negatives=20, seed=6)
    assert torch.equal(a.test.candidates, b.test.candidates)
    assert torch.equal(a.valid.candidates, b.valid.candidates)
    assert not torch.equal(a.test.candidates, c.test.candidates)
    assert torch.equal(a.test.candidates[:, 0], c.test.candidates[:, 0])  # same targets
    assert not torch.equal(a.valid.candidates[:, 1:], a.test.candidates[:, 1:])


def test_leave_one_out_full_ranking_excludes(implicit):
    split = leave_one_out(implicit, n_negatives=None)
    df = split.history.df
    train_sets = _user_sets(split.train)
    u = df["user"].to_numpy()
    it = df["item"].to_numpy()
    for part, extra in ((split.valid, None), (split.test, "valid")):
        assert not part.sampled and len(part) == implicit.n_users
        for r in range(len(part)):
            user = int(part.users[r])
            want = set(train_sets[user])
            if extra:  # at test time validation items are masked too
                want |= set(
                    _positives(split.valid, int(np.flatnonzero(split.valid.users == user)[0]))
                )
            assert _excluded(part, r) == want
    # positives: the last item at test
    last = df.groupby("user").tail(1)
    for r in range(len(split.test)):
        assert _positives(split.test, r) == set(
            last[last["user"] == int(split.test.users[r])]["item"]
        )
    assert len(np.unique(u)) == len(split.test) and len(it) == len(df)


def test_sample_negatives_uniform_and_error():
    # group 0 forbids items 0..5 of 10; 4 negatives drawn over many rows cover items 6..9 evenly
    ptr = torch.tensor([0, 6, 6])
    items = torch.arange(6)
    neg = sample_negatives((ptr, items), np.zeros(2000, dtype=np.int64), 10, 2, seed=0)
    assert set(neg.flatten().tolist()) == {6, 7, 8, 9}
    counts = np.bincount(neg.flatten().numpy(), minlength=10)[6:]
    assert counts.min() > 0.8 * counts.mean()
    assert (neg[:, 0] != neg[:, 1]).all()
    with pytest.raises(DataError, match="cannot sample 5 negatives.*only 4"):
        sample_negatives((ptr, items), np.zeros(3, dtype=np.int64), 10, 5, seed=0)


# ---- global temporal ------------------------------------------------------------------------


def test_temporal_global(implicit):
    split = temporal_global(implicit, n_negatives=30, seed=0)
    df = split.history.df
    ts = df["timestamp"].to_numpy()
    _check_disjoint(split, [split.train_rows, split.valid.rows, split.test.rows])
    assert len(split.train_rows) == round(0.7 * len(df))
    assert ts[split.train_rows].max() <= ts[split.valid.rows].min()
    assert ts[split.valid.rows].max() <= ts[split.test.rows].min()
    dropped = split.train.meta["dropped_cold_rows"]
    assert len(split.valid) + len(split.test) + dropped == len(df) - len(split.train_rows)
    train_users = set(split.train.df["user"])
    train_items = set(split.train.df["item"])
    for part in (split.valid, split.test):  # cold rows are gone
        assert set(part.users.tolist()) <= train_users
        assert set(part.candidates[:, 0].tolist()) <= train_items
    _check_sampled(split, 30)
    with pytest.raises(DataError, match="three shares .* summing to 1"):
        temporal_global(implicit, fractions=(0.5, 0.5, 0.5))


def test_temporal_holdout(implicit):
    split = temporal_holdout(implicit, test_frac=0.2, valid_frac=0.1, seed=0)
    df = split.history.df
    ts = df["timestamp"].to_numpy()
    n_test = len(df) - round(0.8 * len(df))
    n_pos_test = int((split.test.positives >= 0).sum())
    n_pos_valid = int((split.valid.positives >= 0).sum())
    assert n_pos_test == n_test
    assert len(split.train) + n_pos_valid + n_pos_test == len(df)
    assert 0.05 < n_pos_valid / (len(df) - n_test) < 0.15
    # the test part is the latest 20 %: all its timestamps >= every train/valid timestamp
    test_min = min(
        ts[(df["user"] == int(u)) & df["item"].isin(_positives(split.test, r))].min()
        for r, u in enumerate(split.test.users)
    )
    assert test_min >= split.train.df["timestamp"].max()
    train_sets = _user_sets(split.train)
    for r in range(len(split.valid)):
        assert _excluded(split.valid, r) == train_sets[int(split.valid.users[r])]
        assert not (_positives(split.valid, r) & _excluded(split.valid, r))
    with pytest.raises(DataError, match="needs timestamps"):
        temporal_holdout(from_dataframe(pd.DataFrame({"user": [1, 2], "item": [1, 2]})))


# ---- random per-user --------------------------------------------------------------------------


def test_random_split(implicit):
    split = random_split(implicit, seed=0)
    train_sets = _user_sets(split.train)
    all_sets = _user_sets(implicit)
    valid_of = {int(u): _positives(split.valid, r) for r, u in enumerate(split.valid.users)}
    for r, u in enumerate(split.test.users.tolist()):
        test_items = _positives(split.test, r)
        v = valid_of.get(u, set())
        tr = train_sets[u]
        assert not (tr & v) and not (tr & test_items) and not (v & test_items)
        assert tr | v | test_items == all_sets[u]
        n = len(all_sets[u])
        assert abs(len(tr) - 0.6 * n) <= 1 and abs(len(test_items) - 0.2 * n) <= 1
        # full-ranking exclusion: training items, plus validation items at test time
        assert _excluded(split.test, r) == tr | v
    for r, u in enumerate(split.valid.users.tolist()):
        assert _excluded(split.valid, r) == train_sets[u]
    again = random_split(implicit, seed=0)
    other = random_split(implicit, seed=1)
    assert torch.equal(again.test.positives, split.test.positives)
    assert np.array_equal(again.train_rows, split.train_rows)
    assert not np.array_equal(other.train_rows, split.train_rows)


def test_evalset_subset(implicit):
    split = random_split(implicit, seed=0)
    idx = [5, 0, 7]
    sub = split.test.subset(idx)
    assert sub.users.tolist() == split.test.users[idx].tolist()
    for j, r in enumerate(idx):
        assert _excluded(sub, j) == _excluded(split.test, r)
        assert _positives(sub, j) == _positives(split.test, r)


# ---- contexts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("s", [1, 3, 8])
def test_recent_context(implicit, s):
    split = add_recent_context(leave_one_out(implicit, n_negatives=10, seed=0), s)
    hist = split.history
    df = hist.df
    pad = hist.n_items
    for inputs, rows in (
        (split.train_inputs, split.train_rows),
        (split.valid.inputs, split.valid.rows),
        (split.test.inputs, split.test.rows),
    ):
        ctx, mask = inputs["context"], inputs["context_mask"]
        assert ctx.shape == mask.shape == (len(rows), s) and mask.dtype == torch.bool
        assert torch.equal(mask, ctx != pad)
        for j, r in enumerate(rows[:200]):
            u = df["user"].iat[r]
            before = df.iloc[:r]
            prev = before[before["user"] == u]["item"].to_numpy()[-s:]  # most recent last
            want = np.full(s, pad)
            if len(prev):
                want[s - len(prev) :] = prev
            assert ctx[j].tolist() == want.tolist()
    # the test target's context ends with the validation item
    assert (split.test.inputs["context"][:, -1] == split.valid.candidates[:, 0]).all()
    assert split.test.inputs["context_mask"][:, -1].all()


def test_recent_context_needs_rows(implicit):
    with pytest.raises(DataError, match="sampled split"):
        add_recent_context(random_split(implicit), 3)


def test_basket_split_contexts():
    inter, _ = planted_baskets(n_users=40, n_items=60, n_groups=10, seed=0)
    split = basket_split(inter, n_negatives=15, seed=0)
    df = split.history.df
    sess = df["session"].to_numpy()
    items = df["item"].to_numpy()
    _check_disjoint(split, [split.train_rows, split.valid.rows, split.test.rows])
    _check_sampled(split, 15)
    pad = split.history.n_items
    for part in (split.valid, split.test):
        ctx = part.inputs["context"]
        for j, r in enumerate(part.rows):
            basket = df.index[sess == sess[r]]
            want = items[[x for x in basket if x != r]]
            got = ctx[j][part.inputs["context_mask"][j]].tolist()
            assert sorted(got) == sorted(want.tolist())  # the rest of the cart, not the target
            assert (ctx[j][~part.inputs["context_mask"][j]] == pad).all()
    # test baskets are each user's last basket, validation the one before
    t = df["timestamp"].to_numpy()
    for r_t in split.test.rows:
        u = df["user"].iat[r_t]
        assert t[r_t] == t[df["user"].to_numpy() == u].max()
    for r_v in split.valid.rows:
        u = df["user"].iat[r_v]
        assert t[r_v] < t[split.test.rows[df["user"].to_numpy()[split.test.rows] == u]].min()
    with pytest.raises(DataError, match="no session"):
        basket_split(planted_implicit(n_users=10, n_items=20, seed=0)[0])


def test_playlist_holdout_contexts():
    inter, _ = planted_playlists(n_users=20, n_songs=100, n_themes=5, seed=0)
    split = playlist_holdout(inter, n_negatives=20, seed=0)
    df = split.history.df
    pl = df["playlist"].to_numpy()
    items = df["item"].to_numpy()
    _check_disjoint(split, [split.train_rows, split.valid.rows, split.test.rows])
    n_big = int((df.groupby("playlist").size() >= 3).sum())
    assert len(split.valid) == len(split.test) == n_big
    held = set(split.valid.rows.tolist()) | set(split.test.rows.tolist())
    for part in (split.valid, split.test):
        assert (part.inputs["playlist"].numpy() == pl[part.rows]).all()
        for j, r in enumerate(part.rows):
            members = [x for x in np.flatnonzero(pl == pl[r]) if x not in held]
            got = part.inputs["context"][j][part.inputs["context_mask"][j]].tolist()
            assert sorted(got) == sorted(items[members].tolist())  # no held-out track leaks
            assert items[r] not in got
            cand = part.candidates[j].tolist()
            assert not (set(cand[1:]) & set(items[pl == pl[r]].tolist()))  # not in the playlist
    assert (split.train_inputs["playlist"].numpy() == pl[split.train_rows]).all()
