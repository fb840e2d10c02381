"""MDR, MASS, MASR (dissertation Ch. 4.3): identities, masks, fusion, learning, bad input;
ML-100k sessions as playlists."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from recsys_book.data import from_dataframe, planted_playlists, playlist_holdout
from recsys_book.data.sessions import sessions_by_gap
from recsys_book.evaluate import evaluate
from recsys_book.models.base import Popularity
from recsys_book.models.baselines import MFBPR
from recsys_book.models.mahalanobis import (
    ATTENTIONS,
    MASR,
    MASS,
    MDR,
    mass_distance_naive,
    mdr_variant,
    n_playlists,
)
from recsys_book.nn import diag_mahalanobis_sq as mahalanobis_sq
from recsys_book.nn import masked_softmax
from recsys_book.nn import pairwise_diag_mahalanobis_sq as pairwise_mahalanobis_sq
from recsys_book.train import fit

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def split():
    inter, _ = planted_playlists(n_users=60, n_songs=150, n_themes=6, seed=3)
    return playlist_holdout(inter, seed=0)


def _batch(split, n=6):
    ev = split.test
    return ev.users[:n], ev.candidates[:n, :7], {k: v[:n] for k, v in ev.inputs.items()}


def test_unit_metric_is_squared_euclidean():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(5, 8, generator=g), torch.randn(5, 8, generator=g)
    ref = torch.cdist(x, y).pow(2)
    assert torch.allclose(mahalanobis_sq(x[:, None], y[None], torch.ones(8)), ref, atol=1e-5)
    b = torch.rand(8, generator=g) + 0.5
    assert torch.allclose(
        mahalanobis_sq(x[:, None], y[None], b), torch.cdist(x * b, y * b).pow(2), atol=1e-4
    )
    q, s = torch.randn(3, 4, 8, generator=g), torch.randn(3, 6, 8, generator=g)
    direct = mahalanobis_sq(q[:, :, None], s[:, None], b)
    assert torch.allclose(pairwise_mahalanobis_sq(q, s, b), direct, atol=1e-4)


def test_mdr_is_eq_4_20(split):
    m = MDR(split.n_users, split.n_items, n_playlists(split), dim=8, learn_metric=False)
    with torch.no_grad():
        m.bias.weight.normal_()
    u, it, inp = _batch(split)
    uu, pp, ss = m.user(u)[:, None], m.playlist(inp["playlist"])[:, None], m.song(it)
    ref = ((uu - ss) ** 2).sum(-1) + ((pp - ss) ** 2).sum(-1) + m.bias(it).squeeze(-1)
    assert torch.allclose(m.score(u, it, **inp), -ref, atol=1e-5)
    assert not any(n.startswith("B") for n, _ in m.named_parameters())  # Euclidean: B frozen
    learned = MDR(split.n_users, split.n_items, n_playlists(split), dim=8)
    assert {"B1", "B2"} <= {n for n, _ in learned.named_parameters()}
    us = mdr_variant("us", split.n_users, split.n_items, n_playlists(split), dim=8)
    ps = mdr_variant("ps", split.n_users, split.n_items, n_playlists(split), dim=8)
    assert hasattr(us, "user") and not hasattr(us, "playlist")
    assert hasattr(ps, "playlist") and not hasattr(ps, "user")
    us.score(u, it)  # the user-only variant needs no playlist


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_attention_sums_to_one_zero_on_padding(split, attention):
    m = MASS(split.n_users, split.n_items, dim=8, attention=attention)
    u, it, inp = _batch(split)
    a = m.attention_weights(u, it, **inp)  # (B, C, L)
    mask = inp["context_mask"][:, None, :].expand_as(a)
    assert torch.allclose(a.sum(-1), torch.ones(a.shape[:2]), atol=1e-5)
    assert (a[~mask] == 0).all() and (a[mask] > 0).all()
    # extra padding columns change nothing
    pad = torch.full((u.shape[0], 5), split.n_items)
    inp2 = {
        **inp,
        "context": torch.cat([inp["context"], pad], 1),
        "context_mask": torch.cat(
            [inp["context_mask"], torch.zeros_like(pad, dtype=torch.bool)], 1
        ),
    }
    assert torch.allclose(m.score(u, it, **inp2), m.score(u, it, **inp), atol=1e-5)


def test_masked_softmax_empty_row_is_zero():
    logits = torch.randn(2, 3, 4)
    mask = torch.tensor([[True, False, True, False], [False] * 4])
    a = masked_softmax(logits, mask)
    assert (
        torch.allclose(a[0].sum(-1), torch.ones(3))
        and (a[1] == 0).all()
        and torch.isfinite(a).all()
    )


@pytest.mark.parametrize(
    "query,attention",
    [
        ("user", "mem-metric"),
        ("playlist", "mem-dot"),
        ("both", "nonmem-metric"),
        ("user", "nonmem-dot"),
    ],
)
def test_vectorised_mass_equals_loop_over_members(split, query, attention):
    m = MASS(
        split.n_users, split.n_items, n_playlists(split), dim=8, query=query, attention=attention
    )
    with torch.no_grad():
        m.B3.uniform_(0.5, 1.5)
        m.bias.weight.normal_()
    u, it, inp = _batch(split)
    naive = mass_distance_naive(m, u, it, inp["context"], inp["context_mask"], inp["playlist"])
    assert torch.allclose(-m.score(u, it, **inp), naive, atol=1e-4)


def test_masr_alpha_endpoints(split):
    P = n_playlists(split)
    mdr, mass = (
        MDR(split.n_users, split.n_items, P, dim=8),
        MASS(split.n_users, split.n_items, dim=8),
    )
    u, it, inp = _batch(split)
    a, b = mdr.score(u, it, **inp), mass.score(u, it, **inp)
    assert not torch.allclose(a, b)
    assert torch.equal(MASR(mdr, mass, alpha=1.0).score(u, it, **inp), a)
    assert torch.equal(MASR(mdr, mass, alpha=0.0).score(u, it, **inp), b)
    assert torch.allclose(MASR(mdr, mass, alpha=0.3).score(u, it, **inp), 0.3 * a + 0.7 * b)
    with pytest.raises(ValueError, match="alpha"):
        MASR(mdr, mass, alpha=1.5)


def test_bad_inputs_name_the_fix(split):
    P = n_playlists(split)
    u, it, inp = _batch(split)
    with pytest.raises(ValueError, match="playlist_holdout"):
        MDR(split.n_users, split.n_items, P, dim=4).score(u, it)
    with pytest.raises(ValueError, match="context"):
        MASS(split.n_users, split.n_items, dim=4).score(u, it, playlist=inp["playlist"])
    with pytest.raises(ValueError, match="attention must be one of"):
        MASS(split.n_users, split.n_items, dim=4, attention="cosine")
    with pytest.raises(ValueError, match="n_playlists"):
        MASS(split.n_users, split.n_items, dim=4, query="playlist")
    with pytest.raises(ValueError, match="use_user or use_playlist"):
        MDR(split.n_users, split.n_items, P, use_user=False, use_playlist=False)


def test_learning_on_planted_playlists_beats_popularity_and_mf(split, over_seeds):
    kw = dict(epochs=12, batch_size=256, n_negatives=4, exclude_by="playlist", progress=False)
    P = n_playlists(split)
    pop = evaluate(Popularity(split.n_users, split.n_items).fit(split), split.test)["HR@10"]

    def run(seed):
        mf = MFBPR(split.n_users, split.n_items, dim=16)
        fit(mf, split, lr=1e-2, seed=seed, **kw)
        mdr = MDR(split.n_users, split.n_items, P, dim=16)
        fit(mdr, split, lr=1e-2, seed=seed, **kw)
        mass = MASS(split.n_users, split.n_items, dim=16)
        fit(mass, split, lr=3e-3, seed=seed, **kw)
        return {
            name: evaluate(m, split.test)["HR@10"]
            for name, m in [("mf", mf), ("mdr", mdr), ("mass", mass), ("masr", MASR(mdr, mass))]
        }

    # one seed's MASR − MF ranged +.05 to +.16 over training streams: judged on 3 seeds' mean
    # (3-seed means over RECSYS_BOOK_SEED_SHIFT=0..4: +.080 to +.143, sd .024; MASS − popularity
    # +.23 to +.27, MASR − popularity +.27 to +.30)
    hr = over_seeds(run)
    print("planted playlists HR@10 (3 seeds)", {k: round(v, 3) for k, v in hr.items()}, "pop", round(pop, 3))
    assert hr["masr"] > pop + 0.15, (hr, pop)
    assert hr["mass"] > pop + 0.1, (hr, pop)
    assert hr["masr"] > hr["mf"] + 0.03, hr


def test_sessions_by_gap():
    h = 3600
    df = pd.DataFrame(
        {
            "user": ["a"] * 9 + ["b"] * 3,
            "item": list(range(9)) + [0, 1, 2],
            "timestamp": [
                0,
                10,
                20,
                30,
                5 * h,
                5 * h + 1,
                5 * h + 2,
                5 * h + 3,
                5 * h + 4,
                0,
                1,
                2,
            ],
        }
    )
    inter = from_dataframe(df, timestamp="timestamp")
    s = sessions_by_gap(inter, gap_hours=1, max_len=50, min_len=3)
    sizes = s.df.groupby("session").size().sort_values().to_numpy()
    assert list(sizes) == [3, 4, 5]  # a: 4 then 5 (gap 5 h), b: 3
    s2 = sessions_by_gap(inter, gap_hours=1, max_len=2, min_len=2)
    assert (s2.df.groupby("session").size() == 2).all()  # long sessions cut into chunks
    assert set(s2.df.groupby("session")["user"].nunique()) == {1}
    with pytest.raises(ValueError, match="min_len"):
        sessions_by_gap(inter, min_len=10, max_len=5)


def test_fism_and_cmn_baselines(split):
    from recsys_book.models.memory import CMN, FISM

    u, it, inp = _batch(split)
    f = FISM(split.n_users, split.n_items, dim=8)
    with torch.no_grad():
        f.bias.weight.normal_()
    ctx, mask = inp["context"], inp["context_mask"]
    r, c = 0, 2
    members = ctx[r][mask[r]]
    members = members[members != it[r, c]]
    ref = f.p(members).mv(f.q(it[r, c])).sum() / len(members) ** 0.5 + f.bias(it[r, c]).squeeze()
    assert torch.allclose(f.score(u, it, **inp)[r, c], ref, atol=1e-5)
    # a member equal to the candidate is left out: adding it to the context changes nothing
    ctx2 = ctx.clone()
    ctx2[r, int(mask[r].sum())] = it[r, c]
    mask2 = ctx2 != split.n_items
    assert torch.allclose(f.score(u, it, context=ctx2, context_mask=mask2)[r, c], ref, atol=1e-5)
    cmn = CMN(split.n_users, split.n_items, split, dim=8, max_neighbours=7)
    s = cmn.score(u, it, **inp)
    assert s.shape == it.shape and torch.isfinite(s).all()
    # CMN Eq. 2-5 for one (playlist, candidate), written out over its neighbour owners
    owner, k = int(inp["playlist"][r]), int(it[r, c])
    with torch.no_grad():
        cmn.mem.weight[: cmn.n_owners].normal_()  # the padding row stays zero
        vs = [int(v) for v in cmn.neighbours[k] if int(v) not in (cmn.n_owners, owner)]
        m_o, e_k = cmn.mem.weight[owner], cmn.item.weight[k]
        q = torch.stack([m_o @ cmn.mem.weight[v] + e_k @ cmn.mem.weight[v] for v in vs])  # Eq. 2
        att = torch.softmax(q, 0)  # Eq. 3
        o = sum(a * cmn.out_mem.weight[v] for a, v in zip(att, vs))  # Eq. 4
        ref = cmn.w(torch.relu(cmn.U(m_o * e_k) + cmn.W(o))).squeeze()  # Eq. 5
        assert len(vs) > 1 and torch.allclose(cmn.score(u, it, **inp)[r, c], ref, atol=1e-5)
    holders = split.train.df.groupby("item")["playlist"].nunique()
    nb = cmn.neighbours[torch.tensor(holders.index.to_numpy())]
    assert ((nb != cmn.n_owners).sum(1).numpy() == holders.clip(upper=7).to_numpy()).all()
    with pytest.raises(ValueError, match="owner"):
        CMN(split.n_users, split.n_items, split, owner="song")
