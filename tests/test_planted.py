"""Planted generators: seeded, sized by their arguments, and consistent with their truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_book.data import (
    planted_baskets,
    planted_explicit,
    planted_implicit,
    planted_playlists,
    planted_sequences,
)

SMALL = {
    planted_implicit: {"n_users": 60, "n_items": 50, "n_clusters": 4},
    planted_sequences: {"n_users": 60, "n_items": 50, "n_clusters": 4},
    planted_baskets: {"n_users": 60, "n_items": 50, "n_groups": 10},
    planted_playlists: {"n_users": 30, "n_songs": 80, "n_themes": 5},
    planted_explicit: {"n_users": 60, "n_items": 50, "n_groups": 5},
}
GENERATORS = list(SMALL)


@pytest.mark.parametrize("gen", GENERATORS, ids=lambda g: g.__name__)
def test_seeded_determinism(gen):
    a, ta = gen(**SMALL[gen], seed=3)
    b, tb = gen(**SMALL[gen], seed=3)
    c, _ = gen(**SMALL[gen], seed=4)
    pd.testing.assert_frame_equal(a.df, b.df)
    assert ta.keys() == tb.keys() and all(np.array_equal(ta[k], tb[k]) for k in ta)
    assert not (len(a.df) == len(c.df) and a.df.equals(c.df))


@pytest.mark.parametrize("gen", GENERATORS, ids=lambda g: g.__name__)
def test_sizes_follow_arguments(gen):
    kw = dict(SMALL[gen])
    inter, _ = gen(**kw, seed=0)
    n_items = kw.get("n_items", kw.get("n_songs"))
    assert (inter.n_users, inter.n_items) == (kw["n_users"], n_items)
    assert inter.df["user"].between(0, kw["n_users"] - 1).all()
    assert inter.df["item"].between(0, n_items - 1).all()
    assert inter.df["user"].nunique() == kw["n_users"]  # every user has data
    assert list(inter.item_ids) == list(range(n_items))  # the generator's own id space
    assert inter.has_timestamps
    # sorted by user, then time (what the protocols expect)
    df = inter.df
    assert (df.groupby("user")["timestamp"].diff().dropna() >= 0).all()
    assert df["user"].is_monotonic_increasing
    bigger, _ = gen(**{**kw, "n_users": kw["n_users"] * 2}, seed=0)
    assert bigger.n_users == kw["n_users"] * 2 and len(bigger) > len(inter)


@pytest.mark.parametrize("gen", GENERATORS, ids=lambda g: g.__name__)
def test_bad_sizes(gen):
    with pytest.raises(ValueError, match="n_users must be a positive int"):
        gen(**{**SMALL[gen], "n_users": 0})


def test_implicit_truth():
    # clusters of 100 items, so drawing without replacement barely dilutes in_cluster
    inter, truth = planted_implicit(
        n_users=200, n_items=400, n_clusters=4, per_user=(10, 20), in_cluster=0.85, seed=0
    )
    df = inter.df
    per_user = df.groupby("user").size()
    assert per_user.min() >= 10 and per_user.max() <= 20
    in_cl = truth["item_cluster"][df["item"]] == truth["user_cluster"][df["user"]]
    assert 0.75 < in_cl.mean() < 0.95  # about in_cluster (0.85) of draws
    # the long tail: planted popularity predicts the observed degree
    deg = inter.item_degree()
    r = np.corrcoef(np.argsort(np.argsort(truth["popularity"])), np.argsort(np.argsort(deg)))[0, 1]
    assert r > 0.3
    assert not df.duplicated(["user", "item"]).any()
    # in_cluster=1/n_clusters-ish removes the structure: the truth parameter is honoured
    flat, t2 = planted_implicit(n_users=200, n_items=120, n_clusters=6, in_cluster=0.0, seed=0)
    in_flat = t2["item_cluster"][flat.df["item"]] == t2["user_cluster"][flat.df["user"]]
    assert in_flat.mean() == 0.0


def test_sequences_truth():
    inter, truth = planted_sequences(
        n_users=100, n_items=80, n_clusters=4, markov=0.6, order=2, seed=0
    )
    succ = truth["successor"]
    follows = []
    for _, g in inter.df.groupby("user"):
        seq = g["item"].to_numpy()
        assert len(set(seq)) == len(seq)  # no repeats
        for t in range(1, len(seq)):
            follows.append(seq[t] in succ[seq[max(0, t - 2) : t]])
    # successor transitions are common (markov=0.6, minus collisions with seen items)
    assert 0.3 < np.mean(follows) < 0.75
    none, t0 = planted_sequences(n_users=100, n_items=80, n_clusters=4, markov=0.0, seed=0)
    f0 = [
        s in t0["successor"][q[max(0, t - 2) : t]]
        for _, g in none.df.groupby("user")
        for q in [g["item"].to_numpy()]
        for t, s in enumerate(q)
        if t > 0
    ]
    assert np.mean(f0) < 0.15  # without the short-term rule, only chance successors
    # long-term taste: without markov steps items come from the user's cluster
    # (until the user's 20-item cluster is used up; then any unseen item)
    first = none.df.groupby("user").head(20)
    in_cl = t0["item_cluster"][first["item"]] == t0["user_cluster"][first["user"]]
    assert in_cl.all()


def test_baskets_truth():
    inter, truth = planted_baskets(n_users=80, n_items=100, n_groups=20, noise=0.1, seed=0)
    df = inter.df
    grp = truth["item_group"]
    shares, in_user = [], []
    for _, b in df.groupby("session"):
        assert b["user"].nunique() == 1 and b["timestamp"].nunique() == 1
        g = grp[b["item"].to_numpy()]
        top = np.bincount(g).argmax()
        shares.append(np.mean(g == top))
        in_user.append(top in truth["user_groups"][b["user"].iloc[0]])
    assert np.mean(shares) > 0.8  # a basket is (mostly) one co-purchased group
    assert np.mean(in_user) > 0.9  # ... one the user prefers
    per_user = df.groupby("user")["session"].nunique()
    assert per_user.min() >= 3 and per_user.max() <= 8


def test_playlists_truth():
    inter, truth = planted_playlists(n_users=40, n_songs=120, n_themes=6, on_theme=0.8, seed=0)
    df = inter.df
    pl = df["session"].to_numpy()
    assert len(truth["playlist_theme"]) == df["session"].nunique()
    assert (truth["playlist_user"][pl] == df["user"].to_numpy()).all()
    on = truth["song_theme"][df["item"]] == truth["playlist_theme"][pl]
    assert 0.7 < on.mean() < 0.9
    for p, th in enumerate(truth["playlist_theme"]):
        assert th in truth["user_themes"][truth["playlist_user"][p]]
    assert not df.duplicated(["session", "item"]).any()


def test_explicit_truth():
    inter, truth = planted_explicit(n_users=100, n_items=80, n_groups=6, seed=0)
    df = inter.df
    g = truth["item_group"][df["item"]]
    u = df["user"].to_numpy()
    liked = (truth["liked_groups"][u] == g[:, None]).any(1)
    disliked = (truth["disliked_groups"][u] == g[:, None]).any(1)
    r = df["rating"].to_numpy()
    assert not (liked & disliked).any()
    assert (r[liked] >= 4).all() and (r[disliked] <= 2).all() and (r[~liked & ~disliked] == 3).all()
    # strong feelings are over-represented (4 strong groups of 6, weighted 4x)
    assert (liked | disliked).mean() > 4 / 6
    with pytest.raises(ValueError, match="n_groups >= 4"):
        planted_explicit(n_groups=3)
