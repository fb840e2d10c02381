"""Training throughput of :func:`recsys_book.train.fit` versus a plain PyTorch loop.

    .venv/bin/python benchmarks/bench_train.py [--epochs 5] [--batch-sizes 1024 256]

Data: MovieLens-100k, leave-one-out training part (98,114 rows), one sampled negative per
row (BPR). Models: MF-BPR (d = 64) and NeuMF (GMF d = 32, MLP 64-32-16).

* ``fit``: the library loop (negatives for the whole epoch sampled on the device against a
  membership table, rows gathered once per epoch, fused Adam, torch's threads unless ``RECSYS_BOOK_THREADS`` is set);
  validation is switched off so that only training is timed.
* ``plain``: the loop most tutorials write: per batch, a Python loop draws each row's
  negative with a set lookup of the user's items, then builds tensors, forward, backward,
  Adam (torch defaults, so as many threads as torch picks). ``plain (1 thread)`` is the
  same loop with ``torch.set_num_threads(1)``, to separate the loop from thread effects.
* RecBole's BPR and NeuMF when ``import recbole`` works (it is not a dependency).

Seconds per epoch are medians over ``--epochs`` epochs after one warm-up epoch; triples/s =
training rows x negatives / seconds per epoch. On a shared machine the medians still move
from run to run: compare ratios from the same run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import torch

from recsys_book import train as train_mod
from recsys_book.adversarial import APR, perturbed_objective
from recsys_book.data import leave_one_out, load_ml100k
from recsys_book.models.baselines import MFBPR, NeuMF
from recsys_book.train import TrainingOptions, bpr_loss, fit


def make_model(name: str, nu: int, ni: int):
    torch.manual_seed(0)
    return MFBPR(nu, ni, 64) if name == "MF-BPR" else NeuMF(nu, ni, 32, (64, 32, 16))


def time_fit(name, split, batch_size, epochs, **kw) -> float:
    model = make_model(name, split.n_users, split.n_items)
    hist = fit(
        model,
        split,
        epochs=epochs + 1,
        batch_size=batch_size,
        lr=1e-3,
        n_negatives=1,
        valid_metric=None,
        progress=False,
        device="cpu",
        **kw,
    )
    return statistics.median(hist["seconds"].iloc[1:])


class APRRecompute(APR):
    """APR as it was before issue 12: its hook does not take the clean loss, so it recomputes
    it (three forward passes per batch instead of two)."""

    def loss(self, model, batch, objective):
        deltas = self.deltas(model, batch, objective)
        return self.lam * perturbed_objective(model, deltas, objective, batch)


def time_optimizer(split, batch_size, epochs, mode: str) -> float:
    """MF-BPR epochs with Adam as ``fused`` (the library's), ``foreach`` or ``for-loop``."""
    saved = train_mod.make_optimizer

    def make(params, optimizer, lr, weight_decay):
        kw = {"fused": True} if mode == "fused" else {"foreach": mode == "foreach"}
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, **kw)

    train_mod.make_optimizer = make
    try:
        return time_fit("MF-BPR", split, batch_size, epochs)
    finally:
        train_mod.make_optimizer = saved


def time_rows_backward(split, batch_size, epochs, module: bool) -> float:
    """MF-BPR epochs with its rows gathered by ``recsys_book.nn.lookup`` (the library's: on
    the CPU ``index_select``, whose backward is ``index_add_``) or, ``module``, by calling the
    ``nn.Embedding`` (``embedding_dense_backward``): the same values and gradients."""
    from recsys_book.models import baselines

    saved = baselines.lookup
    if module:
        baselines.lookup = lambda table, ids: table(ids)
    try:
        return time_fit("MF-BPR", split, batch_size, epochs)
    finally:
        baselines.lookup = saved


def time_plain(name, split, batch_size, epochs, threads=None) -> float:
    """The straightforward loop: Python negative sampling with a set lookup per row."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        model = make_model(name, split.n_users, split.n_items)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        users = split.train.df["user"].tolist()
        items = split.train.df["item"].tolist()
        seen = [set(s.tolist()) for s in split.train.user_items()]
        n_items, n = split.n_items, len(users)
        rng = random.Random(0)
        times = []
        for _ in range(epochs + 1):
            t0 = time.perf_counter()
            order = list(range(n))
            rng.shuffle(order)
            for s in range(0, n, batch_size):
                rows = order[s : s + batch_size]
                u, pos, neg = [], [], []
                for r in rows:
                    j = rng.randrange(n_items)
                    while j in seen[users[r]]:
                        j = rng.randrange(n_items)
                    u.append(users[r])
                    pos.append(items[r])
                    neg.append(j)
                u_t = torch.tensor(u)
                it = torch.tensor([pos, neg]).T  # (B, 2)
                scores = model.score(u_t, it)
                loss = bpr_loss(scores[:, 0], scores[:, 1:])
                opt.zero_grad()
                loss.backward()
                opt.step()
            times.append(time.perf_counter() - t0)
        return statistics.median(times[1:])
    finally:
        torch.set_num_threads(before)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1024, 256])
    p.add_argument("--models", nargs="+", default=["MF-BPR", "NeuMF"])
    p.add_argument("--no-plain", action="store_true", help="skip the plain-loop rows")
    args = p.parse_args(argv)
    split = leave_one_out(load_ml100k(), n_negatives=100, seed=0)
    n = len(split.train.df)
    default_bs = TrainingOptions().batch_size
    c0 = time.process_time()
    wall = time_fit("MF-BPR", split, default_bs, args.epochs)
    cpu = (time.process_time() - c0) / (args.epochs + 1)
    print(
        f"MF-BPR (d = 64) fit() epoch at the default batch {default_bs}: {wall:.3f} s wall, "
        f"{cpu:.3f} CPU s per epoch incl. set-up (torch threads {torch.get_num_threads()}; "
        "goal <= 0.05 s)"
    )
    print(f"Adam variants, MF-BPR, batch {default_bs} (s/epoch):")
    for mode in ("fused", "foreach", "for-loop"):
        print(f"  {mode:9s} {time_optimizer(split, default_bs, args.epochs, mode):.3f}")
    for bs in (default_bs, 256):
        t_lookup = time_rows_backward(split, bs, args.epochs, module=False)
        t_module = time_rows_backward(split, bs, args.epochs, module=True)
        print(
            f"Embedding rows, MF-BPR batch {bs} (s/epoch): lookup (index_select) {t_lookup:.3f}, "
            f"nn.Embedding {t_module:.3f}: {t_module / t_lookup:.2f}x"
        )
    print(
        "MF-BPR s/epoch by batch size: "
        + ", ".join(
            f"{bs}: {time_fit('MF-BPR', split, bs, args.epochs):.3f}"
            for bs in (1024, 2048, 4096, 8192)
        )
    )
    t_bpr = time_fit("MF-BPR", split, default_bs, args.epochs)
    t_old = time_fit("MF-BPR", split, default_bs, args.epochs, adversary=APRRecompute(eps=0.5))
    t_new = time_fit("MF-BPR", split, default_bs, args.epochs, adversary=APR(eps=0.5))
    print(
        f"APR (eps 0.5) / BPR cost per epoch, MF-BPR batch {default_bs}: before (clean loss "
        f"recomputed) {t_old / t_bpr:.2f}x, now (clean loss from fit) {t_new / t_bpr:.2f}x "
        f"[BPR {t_bpr:.3f} s, APR before {t_old:.3f} s, now {t_new:.3f} s]"
    )
    if args.no_plain:
        return 0
    print(
        f"ML-100k leave-one-out training part: {n:,} rows, 1 negative each; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads by default; "
        f"medians of {args.epochs} epochs"
    )
    print(
        f"{'model':8s} {'batch':>5s} {'loop':18s} {'s/epoch':>8s} {'triples/s':>10s} {'fit speed-up':>12s}"
    )
    for name in args.models:
        for bs in args.batch_sizes:
            t_fit = time_fit(name, split, bs, args.epochs)
            t_plain = time_plain(name, split, bs, args.epochs)
            t_plain1 = time_plain(name, split, bs, args.epochs, threads=1)
            for label, t in (("fit", t_fit), ("plain", t_plain), ("plain (1 thread)", t_plain1)):
                ratio = "" if label == "fit" else f"{t / t_fit:11.1f}x"
                print(f"{name:8s} {bs:5d} {label:18s} {t:8.3f} {n / t:10,.0f} {ratio:>12s}")
    try:
        import recbole  # noqa: F401
    except ImportError:
        print(
            "RecBole is not installed: its BPR/NeuMF rows are skipped (pip install recbole to add them)."
        )
    else:  # pragma: no cover - not a dependency
        print("RecBole is installed, but its timing harness is not written yet: skipped.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
