"""APR with flexible and fixed noise (dissertation Eq. 4.31-4.33): noise sizes, the
fit hook, eps = 0 equals plain BPR, robustness evaluation, bad input."""

from __future__ import annotations

import pytest
import torch

from recsys_book.adversarial import (
    APR,
    evaluate_perturbed,
    fast_gradient_noise,
    perturbation_sizes,
    perturbed_objective,
    robustness_curve,
)
from recsys_book.data import planted_playlists, playlist_holdout
from recsys_book.evaluate import evaluate
from recsys_book.models.mahalanobis import MASS, MDR, n_playlists
from recsys_book.train import bpr_loss, fit

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def split():
    inter, _ = planted_playlists(n_users=40, n_songs=120, n_themes=6, seed=5)
    return playlist_holdout(inter, seed=0)


def _objective(m, batch):
    s = m.score(batch["users"], batch["items"], **batch["inputs"])
    return bpr_loss(s[:, 0], s[:, 1:])


def _train_batch(split, n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(split.train), generator=g)[:n]
    users = torch.tensor(split.train.df["user"].to_numpy())[idx]
    pos = torch.tensor(split.train.df["item"].to_numpy())[idx]
    neg = torch.randint(0, split.n_items, (n, 2), generator=g)
    return {
        "users": users,
        "items": torch.cat([pos[:, None], neg], 1),
        "inputs": {k: v[idx] for k, v in split.train_inputs.items()},
    }


# fit settings of the step-for-step comparisons on the playlist split
PLAYLIST_FIT = dict(batch_size=128, n_negatives=2, lr=1e-2, exclude_by="playlist", progress=False)


@pytest.mark.parametrize("noise", ["flexible", "fixed"])
def test_noise_has_norm_eps_std_per_row(noise):
    g = torch.Generator().manual_seed(0)
    param = torch.randn(10, 6, generator=g) * 0.3
    grad = torch.randn(10, 6, generator=g)
    grad[3] = 0  # a row not in the batch
    d = fast_gradient_noise(grad, param, eps=0.7, noise=noise)
    size = 0.7 * (param.std() if noise == "flexible" else 1.0)
    norms = d.norm(dim=1)
    keep = torch.arange(10) != 3
    assert torch.allclose(norms[keep], torch.full((9,), float(size)), rtol=1e-5)
    assert norms[3] == 0
    cos = torch.nn.functional.cosine_similarity(d[keep], grad[keep], dim=1)
    assert torch.allclose(cos, torch.ones(9), atol=1e-5)  # the ascent direction
    vec = fast_gradient_noise(torch.randn(6, generator=g), param[0], eps=0.7, noise=noise)
    assert torch.isclose(
        vec.norm(), 0.7 * (param[0].std() if noise == "flexible" else torch.tensor(1.0))
    )


def test_apr_deltas_per_table_and_loss_goes_up(split):
    torch.manual_seed(0)
    m = MASS(split.n_users, split.n_items, dim=8)
    batch = _train_batch(split)
    apr = APR(eps=0.5, noise="flexible")
    deltas = apr.deltas(m, batch, _objective)
    assert set(deltas) == {
        "song.weight",
        "user.weight",
        "bias.weight",
        "song_a.weight",
        "user_a.weight",
    }
    params = dict(m.named_parameters())
    for name in ("song.weight", "user.weight"):
        sizes = perturbation_sizes({name: deltas[name]})["norm"].to_numpy()
        assert len(sizes) > 0
        assert abs(sizes - 0.5 * float(params[name].detach().std())).max() < 1e-5
    clean = float(_objective(m, batch).detach())
    small = APR(eps=0.05).deltas(m, batch, _objective)
    assert (
        float(perturbed_objective(m, small, _objective, batch).detach()) > clean
    )  # fast gradient ascends
    # the perturbed term sends gradients to Theta (delta is a constant)
    m.zero_grad()
    apr.loss(m, batch, _objective).backward()
    assert m.song.weight.grad.abs().sum() > 0 and m.W1.weight.grad.abs().sum() > 0
    assert apr.last_deltas.keys() == deltas.keys()


def test_eps_zero_reproduces_bpr_step_for_step(split):
    """eps = 0: L + lam * L(Theta + 0) = 2 L (lam = 1): identical to BPR on 2 L, bit for bit."""
    P = n_playlists(split)
    kw = dict(PLAYLIST_FIT, epochs=2, seed=7)

    def run(**extra):
        torch.manual_seed(1)
        m = MDR(split.n_users, split.n_items, P, dim=8)
        fit(m, split, valid_metric=None, **kw, **extra)
        return m.state_dict()

    base = run(loss=lambda p, n: 2 * bpr_loss(p, n))
    zero = run(adversary=APR(eps=0.0, lam=1.0))
    assert all(torch.equal(base[k], zero[k]) for k in base)
    noisy = run(adversary=APR(eps=0.5, lam=1.0))
    assert not all(torch.equal(base[k], noisy[k]) for k in base)


def test_robustness_curve_and_restore(split):
    P = n_playlists(split)
    m = MDR(split.n_users, split.n_items, P, dim=16)
    fit(
        m,
        split,
        epochs=8,
        batch_size=256,
        lr=1e-2,
        n_negatives=4,
        exclude_by="playlist",
        progress=False,
    )
    before = {k: v.clone() for k, v in m.state_dict().items()}
    clean = evaluate(m, split.test)
    curve = robustness_curve(m, split, eps_values=(0.0, 3.0), noise="flexible")
    assert curve.loc[0, "HR@10"] == pytest.approx(clean["HR@10"])
    assert curve.loc[1, "NDCG@10"] < clean["NDCG@10"] - 0.02, curve  # the attack hurts
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())  # weights restored
    with pytest.raises(RuntimeError):
        evaluate_perturbed(m, split.test, {"song.weight": torch.zeros(3)})  # wrong shape
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())


def test_bad_inputs(split):
    m = MDR(split.n_users, split.n_items, n_playlists(split), dim=4)
    with pytest.raises(ValueError, match="noise must be one of"):
        APR(noise="gaussian")
    with pytest.raises(ValueError, match="eps"):
        APR(eps=-1)
    with pytest.raises(ValueError, match="unknown parameter"):
        APR(targets=["nope.weight"]).deltas(m, _train_batch(split), _objective)


def test_clean_loss_handed_over_gives_the_same_training_as_recomputing(split):
    """fit hands APR its clean loss (two forwards per batch, not three): the same weights
    as APR recomputing it, step for step."""

    class Recompute(APR):
        def loss(self, model, batch, objective):  # the hook without ``clean``
            deltas = self.deltas(model, batch, objective)
            return self.lam * perturbed_objective(model, deltas, objective, batch)

    calls = {"n": 0}

    def counting(p, n):
        calls["n"] += 1
        return bpr_loss(p, n)

    P = n_playlists(split)
    kw = dict(PLAYLIST_FIT, epochs=1, seed=3, valid_metric=None, loss=counting)
    out = {}
    for name, adv in (("recompute", Recompute(eps=0.5)), ("handed", APR(eps=0.5))):
        torch.manual_seed(1)
        m = MDR(split.n_users, split.n_items, P, dim=8)
        calls["n"] = 0
        fit(m, split, adversary=adv, **kw)
        out[name] = (m.state_dict(), calls["n"])
    (a, na), (b, nb) = out["recompute"], out["handed"]
    for k in a:
        torch.testing.assert_close(b[k], a[k], msg=lambda s, k=k: f"{k}: {s}")
    assert nb * 3 == na * 2  # 2 loss evaluations per batch instead of 3
