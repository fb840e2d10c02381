"""Planted synthetic data: small, seeded datasets that return the truth they planted.

They are the fast default for tests and FAST-mode notebooks. A model that learns should
recover the planted structure and beat popularity by a clear margin; a model that does
not, will not. Every generator returns ``(Interactions, truth)`` where ``truth`` is a
dict of numpy arrays describing what was planted.

(a) :func:`planted_implicit`  latent taste clusters + a popularity long tail + timestamps
(b) :func:`planted_sequences` next item depends on the last few items and on long-term taste
(c) :func:`planted_baskets`   shopping baskets made of co-purchased item groups
(d) :func:`planted_playlists` users -> playlists with themes -> songs
(e) :func:`planted_explicit`  ratings with co-liked and co-disliked item groups
(f) :func:`planted_relations` user-item pairs related through a few latent relation types
(g) :func:`planted_long_short` each next item is either the last item's successor (short
    term) or a draw from the user's taste cluster (long term); says which, row by row
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_book.data.interactions import Interactions, from_dataframe


def _zipf(n: int, a: float, rng: np.random.Generator) -> np.ndarray:
    """A long-tailed popularity vector over n items (shuffled so ids carry no order)."""
    w = 1.0 / np.arange(1, n + 1) ** a
    return rng.permutation(w / w.sum())


def _item_clusters(n_items: int, n_clusters: int, rng) -> np.ndarray:
    return rng.permutation(np.arange(n_items) % n_clusters)


def _check_sizes(**kw):
    for k, v in kw.items():
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{k} must be a positive int, got {v!r}")


def planted_implicit(
    n_users: int = 300,
    n_items: int = 200,
    n_clusters: int = 8,
    per_user: tuple[int, int] = (10, 40),
    in_cluster: float = 0.85,
    pop_exponent: float = 0.8,
    seed: int = 0,
) -> tuple[Interactions, dict]:
    """(a) Implicit feedback with latent taste clusters and a popularity long tail.

    Each user belongs to one taste cluster; each interaction is drawn from the user's
    cluster with probability ``in_cluster`` (else from the whole catalogue), within which
    items are weighted by a Zipf-like popularity. Timestamps increase per user.
    truth: ``user_cluster`` (n_users,), ``item_cluster`` (n_items,), ``popularity`` (n_items,).
    """
    _check_sizes(n_users=n_users, n_items=n_items, n_clusters=n_clusters)
    rng = np.random.default_rng(seed)
    pop = _zipf(n_items, pop_exponent, rng)
    icl = _item_clusters(n_items, n_clusters, rng)
    ucl = rng.integers(0, n_clusters, n_users)
    rows = []
    t0 = 1_000_000_000
    for u in range(n_users):
        k = int(rng.integers(per_user[0], per_user[1] + 1))
        w = pop * np.where(
            icl == ucl[u],
            in_cluster / pop[icl == ucl[u]].sum(),
            (1 - in_cluster) / pop[icl != ucl[u]].sum(),
        )
        k = min(k, n_items - 1)
        items = rng.choice(n_items, size=k, replace=False, p=w / w.sum())
        times = t0 + np.sort(rng.integers(0, 10_000_000, k))
        rows.append(pd.DataFrame({"user": u, "item": items, "timestamp": times}))
    df = pd.concat(rows, ignore_index=True)
    inter = from_dataframe(df, timestamp="timestamp", name="planted-implicit")
    return _align(inter, n_users, n_items), {
        "user_cluster": ucl,
        "item_cluster": icl,
        "popularity": pop,
    }


def _align(inter: Interactions, n_users: int, n_items: int) -> Interactions:
    """Keep the generator's own id space (0..n-1) even if an item was never drawn."""
    df = inter.df.copy()
    df["user"] = inter.user_ids[df["user"].to_numpy()].astype(np.int64)
    df["item"] = inter.item_ids[df["item"].to_numpy()].astype(np.int64)
    inter.df = df.sort_values(
        ["user"] + (["timestamp"] if "timestamp" in df else []), kind="stable"
    ).reset_index(drop=True)
    inter.n_users, inter.n_items = n_users, n_items
    inter.user_ids, inter.item_ids = np.arange(n_users), np.arange(n_items)
    if inter.item_info is not None:
        inter.item_info = None
    return inter


def planted_sequences(
    n_users: int = 300,
    n_items: int = 200,
    n_clusters: int = 8,
    length: tuple[int, int] = (15, 40),
    markov: float = 0.6,
    order: int = 2,
    seed: int = 0,
) -> tuple[Interactions, dict]:
    """(b) Sequences whose next item depends on the last ``order`` items and on taste.

    Every item has a planted successor ``successor[i]``. With probability ``markov`` the
    next item is the successor of one of the last ``order`` items (short-term dynamics);
    otherwise it is drawn from the user's taste cluster (long-term preference). Repeats
    are avoided. truth: ``successor``, ``user_cluster``, ``item_cluster``.
    """
    _check_sizes(n_users=n_users, n_items=n_items, n_clusters=n_clusters, order=order)
    rng = np.random.default_rng(seed)
    icl = _item_clusters(n_items, n_clusters, rng)
    ucl = rng.integers(0, n_clusters, n_users)
    successor = rng.permutation(n_items)
    members = [np.flatnonzero(icl == c) for c in range(n_clusters)]
    rows = []
    for u in range(n_users):
        L = min(int(rng.integers(length[0], length[1] + 1)), n_items - 1)
        seq: list[int] = [int(rng.choice(members[ucl[u]]))]
        seen = set(seq)
        while len(seq) < L:
            nxt = -1
            if rng.random() < markov:
                cand = successor[seq[-1 - int(rng.integers(0, min(order, len(seq))))]]
                nxt = int(cand) if cand not in seen else -1
            if nxt < 0:
                pool = [i for i in members[ucl[u]] if i not in seen] or [
                    i for i in range(n_items) if i not in seen
                ]
                nxt = int(rng.choice(pool))
            seq.append(nxt)
            seen.add(nxt)
        rows.append(
            pd.DataFrame({"user": u, "item": seq, "timestamp": np.arange(len(seq)) + 1_000_000_000})
        )
    df = pd.concat(rows, ignore_index=True)
    inter = _align(
        from_dataframe(df, timestamp="timestamp", name="planted-sequences"), n_users, n_items
    )
    return inter, {"successor": successor, "user_cluster": ucl, "item_cluster": icl}


def planted_baskets(
    n_users: int = 200,
    n_items: int = 150,
    n_groups: int = 30,
    baskets_per_user: tuple[int, int] = (3, 8),
    basket_size: tuple[int, int] = (3, 6),
    noise: float = 0.15,
    seed: int = 0,
) -> tuple[Interactions, dict]:
    """(c) Shopping baskets made of co-purchased item groups.

    Items are partitioned into ``n_groups`` groups of items bought together. A basket picks
    one group and draws its items from it (each item replaced by a random one with
    probability ``noise``). Each user prefers a few groups. The ``session`` column is the
    basket id; timestamps order baskets. truth: ``item_group``, ``user_groups``.
    """
    _check_sizes(n_users=n_users, n_items=n_items, n_groups=n_groups)
    rng = np.random.default_rng(seed)
    grp = _item_clusters(n_items, n_groups, rng)
    members = [np.flatnonzero(grp == g) for g in range(n_groups)]
    ugroups = np.stack([rng.choice(n_groups, 3, replace=False) for _ in range(n_users)])
    rows, basket_id, t = [], 0, 1_000_000_000
    for u in range(n_users):
        for _ in range(int(rng.integers(baskets_per_user[0], baskets_per_user[1] + 1))):
            g = ugroups[u, int(rng.integers(0, 3))]
            size = min(int(rng.integers(basket_size[0], basket_size[1] + 1)), len(members[g]))
            items = rng.choice(members[g], size, replace=False)
            flip = rng.random(size) < noise
            items[flip] = rng.integers(0, n_items, int(flip.sum()))
            items = np.unique(items)
            t += 1000
            rows.append(
                pd.DataFrame({"user": u, "item": items, "timestamp": t, "session": basket_id})
            )
            basket_id += 1
    df = pd.concat(rows, ignore_index=True)
    inter = from_dataframe(
        df, timestamp="timestamp", session="session", name="planted-baskets", duplicates="keep"
    )
    return _align(inter, n_users, n_items), {"item_group": grp, "user_groups": ugroups}


def planted_playlists(
    n_users: int = 100,
    n_songs: int = 300,
    n_themes: int = 12,
    playlists_per_user: tuple[int, int] = (2, 5),
    playlist_len: tuple[int, int] = (5, 20),
    on_theme: float = 0.8,
    seed: int = 0,
) -> tuple[Interactions, dict]:
    """(d) Users -> playlists with themes -> songs.

    Each user likes two themes; each playlist takes one of them and draws songs from it
    with probability ``on_theme`` (else from anywhere), weighted by a long-tailed song
    popularity. ``session`` is the playlist id. truth: ``song_theme``, ``playlist_theme``,
    ``playlist_user``, ``user_themes``.
    """
    _check_sizes(n_users=n_users, n_songs=n_songs, n_themes=n_themes)
    rng = np.random.default_rng(seed)
    theme = _item_clusters(n_songs, n_themes, rng)
    pop = _zipf(n_songs, 0.6, rng)
    uth = np.stack([rng.choice(n_themes, 2, replace=False) for _ in range(n_users)])
    rows, pid, p_theme, p_user, t = [], 0, [], [], 1_000_000_000
    for u in range(n_users):
        for _ in range(int(rng.integers(playlists_per_user[0], playlists_per_user[1] + 1))):
            th = uth[u, int(rng.integers(0, 2))]
            L = int(rng.integers(playlist_len[0], playlist_len[1] + 1))
            w = pop * np.where(
                theme == th,
                on_theme / pop[theme == th].sum(),
                (1 - on_theme) / pop[theme != th].sum(),
            )
            songs = rng.choice(n_songs, min(L, n_songs), replace=False, p=w / w.sum())
            t += 1000
            rows.append(
                pd.DataFrame(
                    {
                        "user": u,
                        "item": songs,
                        "timestamp": t + np.arange(len(songs)),
                        "session": pid,
                    }
                )
            )
            p_theme.append(th)
            p_user.append(u)
            pid += 1
    df = pd.concat(rows, ignore_index=True)
    inter = _align(
        from_dataframe(df, timestamp="timestamp", session="session", name="planted-playlists"),
        n_users,
        n_songs,
    )
    truth = {
        "song_theme": theme,
        "playlist_theme": np.array(p_theme),
        "playlist_user": np.array(p_user),
        "user_themes": uth,
    }
    return inter, truth


def planted_explicit(
    n_users: int = 300,
    n_items: int = 200,
    n_groups: int = 10,
    per_user: tuple[int, int] = (20, 50),
    seed: int = 0,
) -> tuple[Interactions, dict]:
    """(e) Explicit 1-5 ratings with co-liked and co-disliked item groups.

    Items fall into ``n_groups`` groups; each user loves two groups (ratings 4-5) and hates
    two others (1-2); other groups get 3s and are rated less often. A user rates mostly
    items of the groups they feel strongly about, so both co-liked and co-disliked
    co-occurrence carry signal. truth: ``item_group``, ``liked_groups``, ``disliked_groups``.
    """
    _check_sizes(n_users=n_users, n_items=n_items, n_groups=n_groups)
    if n_groups < 4:
        raise ValueError(
            "planted_explicit needs n_groups >= 4 (two liked and two disliked groups per user)"
        )
    rng = np.random.default_rng(seed)
    grp = _item_clusters(n_items, n_groups, rng)
    pop = _zipf(n_items, 0.5, rng)
    picks = np.stack([rng.choice(n_groups, 4, replace=False) for _ in range(n_users)])
    liked, disliked = picks[:, :2], picks[:, 2:]
    rows = []
    for u in range(n_users):
        k = min(int(rng.integers(per_user[0], per_user[1] + 1)), n_items)
        strong = np.isin(grp, picks[u])
        w = pop * np.where(strong, 4.0, 1.0)
        items = rng.choice(n_items, k, replace=False, p=w / w.sum())
        g = grp[items]
        r = np.where(
            np.isin(g, liked[u]),
            rng.integers(4, 6, k),
            np.where(np.isin(g, disliked[u]), rng.integers(1, 3, k), 3),
        )
        rows.append(
            pd.DataFrame(
                {
                    "user": u,
                    "item": items,
                    "rating": r.astype(np.float32),
                    "timestamp": 1_000_000_000 + np.sort(rng.integers(0, 10_000_000, k)),
                }
            )
        )
    df = pd.concat(rows, ignore_index=True)
    inter = _align(
        from_dataframe(df, rating="rating", timestamp="timestamp", name="planted-explicit"),
        n_users,
        n_items,
    )
    return inter, {"item_group": grp, "liked_groups": liked, "disliked_groups": disliked}


def planted_relations(
    n_users: int = 600,
    n_items: int = 200,
    n_relations: int = 4,
    dim: int = 2,
    per_user: tuple[int, int] = (15, 40),
    sharpness: float = 20.0,
    reach: float = 1.0,
    temperature: float = 0.05,
    seed: int = 0,
) -> tuple[Interactions, dict]:
    """(f) Pairs related through a few latent relation types (a planted LRML, WWW 2018).

    Users x_u and items y_i lie uniformly in the unit ball of R^dim. Each pair (u, i) gets
    a relation type, the slot of ``n_relations`` keys K (norm ~ ``sharpness``) that best
    matches x_u ⊙ y_i, and its translation t = Σ softmax(K (x_u ⊙ y_i))_n M_n with
    ``reach``-long vectors M_n; a user draws items without replacement with probability
    ∝ exp(−||x_u + t − y_i||² / ``temperature``). So a user's items are where the user
    lands after the pair's relation, not around the user: in ``dim`` dimensions a single
    point per user (CML) cannot place itself near all of them.
    truth: ``relation`` (n_users, n_items) the type of every pair, ``distance`` the planted
    ||x_u + t − y_i||², ``user_pos``, ``item_pos``, ``keys``, ``memory``.
    """
    _check_sizes(n_users=n_users, n_items=n_items, n_relations=n_relations, dim=dim)
    if not (temperature > 0 and sharpness >= 0 and reach >= 0):
        raise ValueError(
            f"need temperature > 0, sharpness >= 0, reach >= 0; got {temperature}, "
            f"{sharpness}, {reach}"
        )
    rng = np.random.default_rng(seed)

    def ball(n: int) -> np.ndarray:
        v = rng.normal(size=(n, dim))
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        return v * rng.uniform(0, 1, (n, 1)) ** (1 / dim)

    x, y = ball(n_users), ball(n_items)
    keys = rng.normal(size=(n_relations, dim)) * sharpness
    memory = rng.normal(size=(n_relations, dim))
    memory *= reach / np.linalg.norm(memory, axis=1, keepdims=True)
    logits = (x[:, None, :] * y[None, :, :]) @ keys.T  # (U, I, R)
    a = np.exp(logits - logits.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    dist = ((x[:, None, :] + a @ memory - y[None, :, :]) ** 2).sum(-1)  # (U, I)
    rows = []
    for u in range(n_users):
        w = np.exp(-(dist[u] - dist[u].min()) / temperature)
        k = min(int(rng.integers(per_user[0], per_user[1] + 1)), n_items - 1)
        items = rng.choice(n_items, k, replace=False, p=w / w.sum())
        times = 1_000_000_000 + np.sort(rng.integers(0, 10_000_000, k))
        rows.append(pd.DataFrame({"user": u, "item": items, "timestamp": times}))
    df = pd.concat(rows, ignore_index=True)
    inter = _align(
        from_dataframe(df, timestamp="timestamp", name="planted-relations"), n_users, n_items
    )
    return inter, {
        "relation": logits.argmax(-1),
        "distance": dist,
        "user_pos": x,
        "item_pos": y,
        "keys": keys,
        "memory": memory,
    }


def planted_long_short(
    n_users: int = 300,
    n_items: int = 300,
    n_clusters: int = 10,
    length: tuple[int, int] = (20, 50),
    p_short: float = 0.5,
    seed: int = 0,
) -> tuple[Interactions, dict]:
    """(g) Sequences mixing a long-term taste and a short-term transition, row by row.

    Every item has a planted successor (a random permutation); each user has a taste
    cluster. The next item is, with probability ``p_short``, the successor of the user's
    last item (short-term; when that item was already consumed, a taste draw instead),
    otherwise a uniform draw among the unconsumed items of the user's cluster (long-term).
    A model of the last few items alone sees only the short-term half, one of the whole
    history alone mostly the long-term half; a fused model can get both.

    Timestamps: each user's sequence is spread over the same time window (position / length
    plus jitter), so a global temporal cut is close to a per-user cut at the same share.
    truth: ``successor`` (n_items,), ``user_cluster`` (n_users,), ``item_cluster`` (n_items,),
    ``source`` (one per row of the returned ``df``, in its order: 1 = short-term successor,
    0 = long-term draw; the first item of a user is 0).
    """
    _check_sizes(n_users=n_users, n_items=n_items, n_clusters=n_clusters)
    if not 0 <= p_short <= 1:
        raise ValueError(f"p_short must be in [0, 1], got {p_short}")
    if length[0] < 2 or length[1] < length[0]:
        raise ValueError(f"length must be (min >= 2, max >= min), got {length}")
    rng = np.random.default_rng(seed)
    icl = _item_clusters(n_items, n_clusters, rng)
    ucl = rng.integers(0, n_clusters, n_users)
    successor = rng.permutation(n_items)
    members = [np.flatnonzero(icl == c) for c in range(n_clusters)]
    frames = []
    for u in range(n_users):
        L = min(int(rng.integers(length[0], length[1] + 1)), n_items)
        seq = [int(rng.choice(members[ucl[u]]))]
        src = [0]
        seen = set(seq)
        while len(seq) < L:
            nxt, s = int(successor[seq[-1]]), 1
            if rng.random() >= p_short or nxt in seen:
                pool = [i for i in members[ucl[u]] if i not in seen]
                if not pool:
                    break
                nxt, s = int(rng.choice(pool)), 0
            seq.append(nxt)
            src.append(s)
            seen.add(nxt)
        n = len(seq)
        t = 1_000_000_000 + (np.arange(n) / n * 1_000_000).astype(np.int64)
        t = t + rng.integers(0, 1_000_000 // (2 * n), n)
        frames.append(pd.DataFrame({"user": u, "item": seq, "timestamp": t, "source": src}))
    df = pd.concat(frames, ignore_index=True)
    inter = _align(
        from_dataframe(
            df[["user", "item", "timestamp"]], timestamp="timestamp", name="planted-long-short"
        ),
        n_users,
        n_items,
    )
    # rows keep (user, time) order through _align: re-attach the source in that order
    key = df.sort_values(["user", "timestamp"], kind="stable")["source"].to_numpy()
    return inter, {
        "successor": successor,
        "user_cluster": ucl,
        "item_cluster": icl,
        "source": key,
    }
