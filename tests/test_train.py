"""The training loop :func:`recsys_book.train.fit`: repeatability, early stopping,
negative sampling, callbacks, the adversary hook, errors, and learning on planted data."""

from __future__ import annotations

import pytest
import torch

from recsys_book.data import leave_one_out, planted_implicit
from recsys_book.evaluate import evaluate
from recsys_book.models.base import Popularity, Recommender
from recsys_book.models.baselines import CML, MFBPR
from recsys_book.train import NegativeSampler, TrainingOptions, bpr_loss, fit, hinge_loss


@pytest.fixture(scope="module")
def split():
    inter, _ = planted_implicit(n_users=200, n_items=120, seed=3)
    return leave_one_out(inter, n_negatives=50, seed=0)


def _mf(split, dim=16, seed=0):
    torch.manual_seed(seed)  # the same initial weights
    return MFBPR(split.n_users, split.n_items, dim)


def _quiet(**kw):
    return {"progress": False, **kw}


def test_same_seed_same_history_and_weights(split):
    a, b, c = _mf(split), _mf(split), _mf(split)
    ha = fit(a, split, epochs=3, seed=7, **_quiet())
    hb = fit(b, split, epochs=3, seed=7, **_quiet())
    hc = fit(c, split, epochs=3, seed=8, **_quiet())
    cols = [k for k in ha.columns if k != "seconds"]
    assert ha[cols].equals(hb[cols])
    assert torch.equal(a.user.weight, b.user.weight)
    assert not ha["loss"].equals(hc["loss"])
    assert list(ha["epoch"]) == [1, 2, 3]
    assert {"loss", "valid_NDCG@10", "valid_HR@10", "seconds"} <= set(ha.columns)


def test_options_and_keywords_are_one_set_of_settings(split):
    """fit(model, split, TrainingOptions(...)) trains exactly as the same settings given as
    keywords; a keyword replaces the options' field for that run only."""
    opts = TrainingOptions(epochs=3, lr=5e-3, n_negatives=2, batch_size=64, seed=4)
    a, b, c = _mf(split), _mf(split), _mf(split)
    ha = fit(a, split, opts, **_quiet())
    hb = fit(b, split, epochs=3, lr=5e-3, n_negatives=2, batch_size=64, seed=4, **_quiet())
    hc = fit(c, split, opts, seed=5, **_quiet())
    cols = [k for k in ha.columns if k != "seconds"]
    assert ha[cols].equals(hb[cols]) and torch.equal(a.user.weight, b.user.weight)
    assert not ha["loss"].equals(hc["loss"]) and opts.seed == 4  # the override did not stick


def test_early_stopping_restores_the_best_weights(split):
    model = _mf(split)
    # a learning rate high enough that validation peaks and then degrades
    hist = fit(model, split, epochs=25, lr=0.1, patience=3, **_quiet())
    best = hist["valid_NDCG@10"].max()
    assert hist["valid_NDCG@10"].iloc[-1] < best  # the last epoch was not the best
    assert len(hist) < 25  # stopped early
    assert evaluate(model, split.valid)["NDCG@10"] == pytest.approx(best, abs=1e-9)
    assert hist.attrs["best_valid"] == pytest.approx(best)
    assert hist.attrs["best_epoch"] == int(hist.loc[hist["valid_NDCG@10"].idxmax(), "epoch"])


def test_validate_start_keeps_a_start_that_training_only_hurts(split):
    good = _mf(split)
    fit(good, split, epochs=15, lr=0.02, **_quiet())  # a trained model, then a ruinous lr
    start = evaluate(good, split.valid)["NDCG@10"]
    hist = fit(good, split, epochs=3, lr=5.0, patience=3, validate_start=True, **_quiet())
    assert list(hist["epoch"])[0] == 0 and hist["valid_NDCG@10"].iloc[0] == pytest.approx(start)
    assert hist["valid_NDCG@10"].iloc[1:].max() < start  # every epoch was worse than the start
    assert hist.attrs["best_epoch"] == 0  # ... so the start is kept
    assert evaluate(good, split.valid)["NDCG@10"] == pytest.approx(start, abs=1e-9)
    plain = fit(_mf(split), split, epochs=2, **_quiet())
    assert list(plain["epoch"]) == [1, 2]  # off by default: no epoch 0


class Recorder(MFBPR):
    """MF that remembers every (users, items) batch it was asked to score in training."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.seen: list[tuple[torch.Tensor, torch.Tensor]] = []

    def score(self, users, items, **inputs):
        if self.training:
            self.seen.append((users.clone(), items.clone()))
        return super().score(users, items, **inputs)


def test_negatives_never_include_a_training_item_of_the_user(split):
    model = Recorder(split.n_users, split.n_items, 8)
    fit(model, split, epochs=2, n_negatives=5, batch_size=256, **_quiet())
    train = set(zip(split.train.df["user"].tolist(), split.train.df["item"].tolist()))
    users = torch.cat([u for u, _ in model.seen])
    items = torch.cat([i for _, i in model.seen])
    assert items.shape[1] == 6
    assert len(users) == 2 * len(split.train.df)  # every row once per epoch
    pos = list(zip(users.tolist(), items[:, 0].tolist()))
    assert all(p in train for p in pos)  # column 0: the positives
    for j in range(1, 6):
        assert not any(p in train for p in zip(users.tolist(), items[:, j].tolist()))


@pytest.mark.parametrize("dense_limit", [0, 10**9])
def test_sampler_excludes_items_of_a_nearly_full_user(dense_limit):
    # user 0 holds 9 of 10 items: its only admissible negative is item 9
    groups = torch.tensor([0] * 9 + [1])
    items = torch.tensor(list(range(9)) + [3])
    s = NegativeSampler(groups, items, 10, torch.device("cpu"), dense_limit=dense_limit)
    assert (s.table is None) == (dense_limit == 0)
    neg = s.sample(torch.tensor([0, 0, 1]), 20, torch.Generator().manual_seed(0))
    assert neg.shape == (3, 20)
    assert torch.all(neg[:2] == 9)
    assert not torch.any(neg[2] == 3)
    with pytest.raises(ValueError, match="every item"):
        NegativeSampler(
            torch.zeros(10, dtype=torch.long), torch.arange(10), 10, torch.device("cpu")
        )


def test_callbacks_are_called_every_epoch_with_the_history(split):
    calls = []
    fit(_mf(split), split, epochs=4, callbacks=[lambda m, h: calls.append(len(h))], **_quiet())
    assert calls == [1, 2, 3, 4]


class ScaledAdversary:
    """Adds lam * (the training objective recomputed under perturbed user embeddings)."""

    def __init__(self, lam, eps=0.5):
        self.lam, self.eps, self.calls = lam, eps, 0

    def loss(self, model, batch, objective):
        self.calls += 1
        saved = model.user.weight.data.clone()
        model.user.weight.data.add_(self.eps)  # a crude perturbation
        try:
            return self.lam * objective(model, batch)  # second forward pass
        finally:
            model.user.weight.data.copy_(saved)


def test_adversary_hook_is_called_and_its_term_changes_the_gradient(split):
    kw = _quiet(epochs=1, batch_size=512, valid_metric=None, seed=1)
    plain, zero, adv = _mf(split), _mf(split), _mf(split)
    adv.load_state_dict(plain.state_dict())
    zero.load_state_dict(plain.state_dict())
    fit(plain, split, **kw)
    z = ScaledAdversary(0.0)
    fit(zero, split, adversary=z, **kw)
    a = ScaledAdversary(1.0)
    fit(adv, split, adversary=a, **kw)
    n_batches = -(-len(split.train.df) // 512)
    assert a.calls == z.calls == n_batches
    assert torch.allclose(zero.item.weight, plain.item.weight)  # a zero term changes nothing
    assert not torch.allclose(adv.item.weight, plain.item.weight, atol=1e-4)


def test_params_subset_keeps_the_rest_frozen(split):
    model = _mf(split)
    before = model.user.weight.detach().clone()
    fit(model, split, epochs=1, params=[model.item.weight, model.bias.weight], **_quiet())
    assert torch.equal(model.user.weight.cpu(), before.cpu())  # fit may have moved it to CUDA


def test_losses():
    pos, neg = torch.tensor([2.0, 0.0]), torch.tensor([[0.0, 1.0], [0.0, 0.0]])
    assert bpr_loss(pos, neg).item() == pytest.approx(
        float(-torch.nn.functional.logsigmoid(pos[:, None] - neg).mean())
    )
    assert bpr_loss(pos, neg, "max").item() == pytest.approx(
        float(-torch.nn.functional.logsigmoid(torch.tensor([1.0, 0.0])).mean())
    )
    # hinge: max(0, m - pos + neg): (0, 0) for row 0 with m = 0.5 ... row 1 both 0.5
    assert hinge_loss(pos, neg, 0.5).item() == pytest.approx((0 + 0 + 0.5 + 0.5) / 4)


def test_bad_arguments_give_clear_errors(split):
    m = _mf(split)
    with pytest.raises(ValueError, match="epochs must be >= 1, got 0"):
        fit(m, split, epochs=0, **_quiet())
    with pytest.raises(ValueError, match="loss must be"):
        fit(m, split, loss="hingee", **_quiet())
    with pytest.raises(ValueError, match="optimizer must be"):
        fit(m, split, optimizer="lbfgs", **_quiet())
    with pytest.raises(ValueError, match="valid_metric"):
        fit(m, split, valid_metric="NDCG10", **_quiet())
    with pytest.raises(ValueError, match="exclude_by"):
        fit(m, split, exclude_by="playlist", **_quiet())
    with pytest.raises(ValueError, match="rows"):
        fit(m, split, train_inputs={"context": torch.zeros(3, 2)}, **_quiet())
    with pytest.raises(TypeError, match="closed form"):
        fit(Popularity(split.n_users, split.n_items), split, **_quiet())


# ---- the model contract: declared loss and hooks -------------------------------------------


class _NoReg(Recommender):
    def __init__(self, n_users, n_items):
        super().__init__(n_users, n_items)
        self.user = torch.nn.Embedding(n_users, 4)
        self.item = torch.nn.Embedding(n_items, 4)

    def score(self, users, items, **inputs):
        return (self.user(users)[:, None, :] * self.item(items)).sum(-1)


class _Misspelled(_NoReg):
    def post_steps(self):  # a near miss of the post_step hook: would never run
        pass


def test_reg_without_a_regularization_hook_is_an_error(split):
    with pytest.raises(ValueError, match="no regularization"):
        fit(_NoReg(split.n_users, split.n_items), split, reg=0.1, epochs=1, **_quiet())
    fit(_NoReg(split.n_users, split.n_items), split, epochs=1, valid_metric=None, **_quiet())


def test_misspelled_hook_is_an_error(split):
    with pytest.raises(ValueError, match="post_step"):
        fit(_Misspelled(split.n_users, split.n_items), split, epochs=1, **_quiet())


def test_fit_uses_the_loss_the_model_declares(split):
    """CML(loss="hinge") trained by a plain fit() equals fit(loss="hinge") on CML(loss="bpr")
    (same seed, same draws), and differs from the BPR form."""
    kw = dict(epochs=2, valid_metric=None, n_negatives=2, **_quiet())
    a, b, c = (CML(split.n_users, split.n_items, 8, loss=x) for x in ("hinge", "bpr", "bpr"))
    for m in (a, b, c):
        torch.manual_seed(0)
        m.load_state_dict(a.state_dict())
    ha = fit(a, split, seed=3, **kw)
    hb = fit(b, split, seed=3, loss="hinge", margin=0.5, **kw)
    hc = fit(c, split, seed=3, **kw)
    assert ha["loss"].tolist() == hb["loss"].tolist()
    torch.testing.assert_close(a.user.weight, b.user.weight)
    assert ha["loss"].tolist() != hc["loss"].tolist()


def test_a_declared_unknown_loss_is_an_error(split):
    m = _NoReg(split.n_users, split.n_items)
    m.loss = "hingee"
    with pytest.raises(ValueError, match="loss must be one of"):
        fit(m, split, epochs=1, **_quiet())


def test_fit_restores_thread_count(split):
    before = torch.get_num_threads()
    fit(_mf(split), split, epochs=1, valid_metric=None, **_quiet())
    assert torch.get_num_threads() == before


def test_learning_on_planted_data_beats_popularity():
    inter, _ = planted_implicit(n_users=300, n_items=200, seed=0)
    split = leave_one_out(inter, n_negatives=100, seed=0)
    floor = evaluate(Popularity(split.n_users, split.n_items).fit(split), split.test)["HR@10"]
    model = _mf(split, 32)
    hist = fit(model, split, epochs=15, lr=5e-3, n_negatives=4, **_quiet())
    assert hist["loss"].iloc[-1] < hist["loss"].iloc[0]
    assert evaluate(model, split.test)["HR@10"] > floor + 0.15


def test_threads_default_from_the_environment(split, monkeypatch):
    """cpu_threads=None: RECSYS_BOOK_THREADS when set (CI), else torch's own setting."""
    from recsys_book.train import THREADS_ENV, default_cpu_threads

    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert default_cpu_threads() is None
    seen = []
    cb = lambda m, h: seen.append(torch.get_num_threads())  # noqa: E731
    before = torch.get_num_threads()
    fit(_mf(split), split, epochs=1, valid_metric=None, callbacks=[cb], **_quiet())
    assert seen == [before]
    monkeypatch.setenv(THREADS_ENV, "1")
    assert default_cpu_threads() == 1
    fit(_mf(split), split, epochs=1, valid_metric=None, callbacks=[cb], **_quiet())
    assert seen[-1] == 1 and torch.get_num_threads() == before
    for bad in ("two", "0", "-3"):
        monkeypatch.setenv(THREADS_ENV, bad)
        with pytest.raises(ValueError, match=THREADS_ENV):
            default_cpu_threads()


def test_a_diverging_run_stops_with_the_epoch_and_the_fix(split):
    """lr 1e6 on MF-BPR: BPR goes from 0.69 to 1e12 within the first epoch; fit stops there
    and says so (a history with 1e12 losses, or NaN, is never returned as a result)."""
    with pytest.raises(FloatingPointError, match=r"rose from 0\.69\d* \(before the first step\) to a mean of .*e\+\d+ in epoch 1.*smaller learning rate \(lr=1000000"):
        fit(_mf(split), split, lr=1e6, epochs=5, **_quiet())
    # a healthy run's loss never comes near the limit
    h = fit(_mf(split), split, lr=1e-2, epochs=3, **_quiet())
    assert (h["loss"] < 1.0).all()


def test_a_model_sized_for_another_dataset_is_named_with_both_sizes(split):
    small = MFBPR(2, 3, 8)
    with pytest.raises(ValueError, match=r"built for 2 users x 3 items, but the split has 200 users x 120 items"):
        fit(small, split, **_quiet())
    with pytest.raises(ValueError, match=r"built for 2 users x 3 items.*user ids up to 199"):
        evaluate(small, split.test)
    with pytest.raises(IndexError, match=r"MFBPR: user id 5 is outside 0\.\.1; .*2 users x 3 items"):
        small.score(torch.tensor([0, 5]), torch.tensor([[0, 1], [1, 2]]))
    with pytest.raises(IndexError, match=r"item id 3 is outside 0\.\.2"):
        small.score(torch.tensor([0, 1]), torch.tensor([[0, 1], [3, 2]]))
    with pytest.raises(IndexError, match=r"user id 7 is outside"):
        small.recommend([7], k=1)
    assert small.score(torch.tensor([0, 1]), torch.tensor([[0, 1], [1, 2]])).shape == (2, 2)


def test_k_beyond_the_ranked_list_is_refused_with_its_size(split):
    from recsys_book.data import random_split

    m = _mf(split)
    with pytest.raises(ValueError, match=r"K=52 is more than the 51 candidates .* use K <= 51"):
        evaluate(m, split.test, ks=(10, 52))
    assert set(evaluate(m, split.test, ks=(51,))) == {"HR@51", "NDCG@51"}
    inter, _ = planted_implicit(n_users=30, n_items=30, per_user=(5, 10), seed=0)
    full = random_split(inter, seed=0)
    pop = MFBPR(full.n_users, full.n_items, 4)
    with pytest.raises(ValueError, match=r"K=10000 is more than the 30 items \(the catalogue\)"):
        evaluate(pop, full.test, ks=(10_000,))


def test_negatives_avoid_the_declared_or_the_splits_group():
    """exclude_by is declared like the loss: MDR/MASS say "playlist"; a model that declares
    nothing gets the split's group ("playlist" where the data has playlists, else "user");
    an explicit fit(exclude_by=...) wins, and a missing column is a clear error."""
    from recsys_book.data import planted_playlists, playlist_holdout
    from recsys_book.models.base import negatives_group
    from recsys_book.models.mahalanobis import MDR, n_playlists

    inter, _ = planted_playlists(n_users=30, n_songs=90, n_themes=5, seed=1)
    pl = playlist_holdout(inter, n_negatives=20, seed=0)
    users = leave_one_out(planted_implicit(n_users=40, n_items=50, seed=0)[0], n_negatives=5, seed=0)
    mdr = MDR(pl.n_users, pl.n_items, n_playlists(pl), 8)
    mf = MFBPR(pl.n_users, pl.n_items, 8)
    assert negatives_group(mdr, pl.train.df) == "playlist" == negatives_group(mf, pl.train.df)
    assert negatives_group(mf, users.train.df) == "user"
    assert negatives_group(mdr, pl.train.df, "user") == "user"  # explicit wins
    with pytest.raises(ValueError, match="'playlist' is not a column.*playlist_holdout"):
        negatives_group(mdr, users.train.df)
    # the declaration is what fit uses: the same history as saying it, another when overridden
    runs = {}
    for name, kw in {"declared": {}, "said": {"exclude_by": "playlist"}, "by user": {"exclude_by": "user"}}.items():
        torch.manual_seed(0)  # the same initial weights
        m = MDR(pl.n_users, pl.n_items, n_playlists(pl), 8)
        runs[name] = fit(m, pl, **_quiet(epochs=2, batch_size=64, n_negatives=2, **kw))["loss"].tolist()
    assert runs["declared"] == runs["said"] != runs["by user"]
