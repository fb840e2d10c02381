"""CoRML fit time on ML-100k against EASE's closed form, measured in the same run.

    .venv/bin/python benchmarks/bench_corml.py [--iterations 20] [--n-singular 32] [--t 0.1]

Prints: fit times (median of --repeats cold fits), the CoRML / EASE ratio (target: within
10x), where CoRML's time goes (SVD + G, factorising A, ADMM, score matrix), the full-ranking
evaluation time, and the widget re-solve latency at a new t / lam (warm start: ADMM restarts
from the previous S and Gamma; the SVD, R^T R, R^T Phi R, R^T Phi R D^-1/2 G and - for lam
moves - A^{-1} come from the cache).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from recsys_book.data import load_ml100k, random_split
from recsys_book.evaluate import evaluate
from recsys_book.models.corml import CoRML
from recsys_book.models.linear import EASE


def timed(fn, repeats=1):
    out, times = None, []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--iterations", type=int, default=10)
    p.add_argument("--n-singular", type=int, default=32)
    p.add_argument("--lam", type=float, default=0.75)
    p.add_argument("--t", type=float, default=0.1)
    p.add_argument("--rho", type=float, default=500.0)
    p.add_argument("--reg", type=float, default=500.0, help="EASE reg")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warm-iterations", type=int, default=5)
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)

    split = random_split(load_ml100k(), seed=0)
    n_u, n_i = split.n_users, split.n_items
    print(
        f"ML-100k random 60/20/20: {n_u} users x {n_i} items, {len(split.train)} training interactions; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}"
    )
    # warm-up (MKL initialisation would otherwise be charged to whichever runs first)
    EASE(n_u, n_i, reg=args.reg).to(args.device).fit(split)

    ease, t_ease = timed(
        lambda: EASE(n_u, n_i, reg=args.reg).to(args.device).fit(split), args.repeats
    )
    kw = {
        "n_singular": args.n_singular,
        "lam": args.lam,
        "t": args.t,
        "rho": args.rho,
        "iterations": args.iterations,
        "device": args.device,
    }
    runs = [timed(lambda: CoRML(n_u, n_i, **kw).fit(split))[0] for _ in range(args.repeats)]
    totals = [m.timings["total"] for m in runs]
    t_corml = statistics.median(totals)
    m = runs[totals.index(t_corml)]
    cold = dict(m.timings)  # the re-solves below overwrite m.timings
    _, t_default = timed(lambda: CoRML(n_u, n_i).to(args.device).fit(split))

    _, t_eval_ease = timed(
        lambda: evaluate(ease, split.test, ks=(10,), metrics=("ndcg", "mrr")), args.repeats
    )
    _, t_eval_corml = timed(
        lambda: evaluate(m, split.test, ks=(10,), metrics=("ndcg", "mrr")), args.repeats
    )

    # widget: re-solve at a new t (new A^{-1}) and a new lam (cached A^{-1}), warm-started
    wi = args.warm_iterations
    _, t_new_t = timed(lambda: m.fit(split, t=args.t + 0.05, warm_start=True, iterations=wi))
    _, t_new_lam = timed(
        lambda: m.fit(split, lam=max(0.05, args.lam - 0.1), warm_start=True, iterations=wi)
    )
    _, t_new_t_eval = timed(
        lambda: (
            m.fit(split, t=args.t - 0.05, warm_start=True, iterations=wi),
            evaluate(
                m, split.test, ks=(10,), metrics=("ndcg", "mrr", "novelty"), train=split.train
            ),
        )
    )

    per_it = cold["ADMM"] / max(1, args.iterations)
    rows = [
        (f"EASE fit (closed form, reg={args.reg:g})", t_ease),
        (f"CoRML fit (k={args.n_singular}, {args.iterations} ADMM it.)", t_corml),
        ("  of which SVD + G", cold["svd + G"]),
        ("  of which factorise A (inverse) + B", cold["factorise A"]),
        ("  of which ADMM", cold["ADMM"]),
        ("    per ADMM iteration", per_it),
        ("  of which score matrix (Eq. 26)", cold["score matrix"]),
        ("CoRML fit, authors' defaults (k=256, 50 it.)", t_default),
        ("full-ranking eval, test, EASE", t_eval_ease),
        ("full-ranking eval, test, CoRML", t_eval_corml),
        (f"re-solve at new t (warm, {wi} it.)", t_new_t),
        (f"re-solve at new lam (warm, {wi} it., cached A^-1)", t_new_lam),
        ("widget step: new t + eval with novelty", t_new_t_eval),
    ]
    w = max(len(r[0]) for r in rows)
    print(f"\n{'what':<{w}}  seconds")
    for name, s in rows:
        print(f"{name:<{w}}  {s:8.3f}")
    print(
        f"\nratio CoRML / EASE fit: {t_corml / t_ease:.1f}x (target <= 10x); "
        f"authors' defaults / EASE: {t_default / t_ease:.1f}x"
    )
    print(
        f"ADMM iterations that fit in 10x EASE after setup: "
        f"{max(0, int((10 * t_ease - (t_corml - cold['ADMM'])) / per_it))}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
