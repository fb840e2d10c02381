"""MASS training throughput (d = 64, playlist length L up to 50): the vectorised distances of
``MASS`` (one batched matmul, no (B, C, L, d) tensor) against a naive Python loop over member
songs (``mass_distance_naive``), in the same run, and what each speed lever of the library's
step buys (the step without it, same run): the hand-written backward of
``nn.pairwise_diag_mahalanobis_sq`` (against autograd of its three-term expansion) and
``nn.lookup`` (against calling the ``nn.Embedding`` modules); and the cost of APR training
relative to BPR training (the dissertation: "h times higher, h small").

    .venv/bin/python benchmarks/bench_masr.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time
from unittest.mock import patch

import torch

from recsys_book.adversarial import APR
from recsys_book.data import planted_playlists, playlist_holdout
from recsys_book.models import mahalanobis
from recsys_book.models.mahalanobis import MASS, MDR, mass_distance_naive, n_playlists
from recsys_book.train import bpr_loss, fit


def _steps_per_s(step, n: int) -> float:
    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    return n / (time.perf_counter() - t0)


def pairwise_autograd(q, s, b):
    """Eq. 4.24 for all pairs, differentiated by autograd (the library's before its
    hand-written backward): the baseline of that lever."""
    w = b * b
    qq = (q * q * w).sum(-1)
    ss = (s * s * w).sum(-1)
    qs = torch.einsum("bcd,bld->bcl", q * w, s)
    return (qq[:, :, None] + ss[:, None, :] - 2 * qs).clamp_min(0.0)


#: the step without one lever: (column, module attribute of models.mahalanobis, replacement)
LEVERS = (
    ("autograd distances", "pairwise_diag_mahalanobis_sq", pairwise_autograd),
    ("module lookups", "lookup", lambda table, ids: table(ids)),
)


def bench_mass(dim: int, lengths, batch: int, n_steps: int, rounds: int = 3) -> list[dict]:
    n_users, n_items = 500, 5000
    g = torch.Generator().manual_seed(0)
    rows = []
    for L in lengths:
        model = MASS(n_users, n_items, dim=dim)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        users = torch.randint(0, n_users, (batch,), generator=g)
        items = torch.randint(0, n_items, (batch, 5), generator=g)  # 1 positive + 4 negatives
        context = torch.randint(0, n_items, (batch, L), generator=g)
        lens = torch.randint(1, L + 1, (batch,), generator=g)
        mask = torch.arange(L)[None, :] < lens[:, None]
        context = context.masked_fill(~mask, n_items)

        def step(fast: bool):
            if fast:
                s = model.score(users, items, context=context, context_mask=mask)
            else:
                s = -mass_distance_naive(model, users, items, context, mask)
            loss = bpr_loss(s[:, 0], s[:, 1:])
            opt.zero_grad()
            loss.backward()
            opt.step()

        # the library's step and the step without each lever, interleaved over rounds (a
        # noisy machine drifts between blocks): the median rate of each
        rates: dict[str, list[float]] = {"vectorised rows/s": []} | {col: [] for col, _, _ in LEVERS}
        for _ in range(rounds):
            rates["vectorised rows/s"].append(_steps_per_s(lambda: step(True), n_steps))
            for col, attr, repl in LEVERS:
                with patch.object(mahalanobis, attr, repl):  # put back on leaving, even on error
                    rates[col].append(_steps_per_s(lambda: step(True), n_steps))
        row = {"L": L} | {col: statistics.median(r) * batch for col, r in rates.items()}
        fast = row["vectorised rows/s"] / batch
        naive = _steps_per_s(lambda: step(False), max(2, n_steps // 3))
        row.update({"naive loop rows/s": naive * batch, "speed-up": fast / naive})
        rows.append(row)
    return rows


def bench_apr(epochs: int) -> list[dict]:
    inter, _ = planted_playlists(seed=0)
    split = playlist_holdout(inter)
    P = n_playlists(split)
    kw = dict(
        epochs=epochs,
        batch_size=256,
        n_negatives=4,
        progress=False,
        valid_metric=None,
        lr=1e-3,
    )
    rows = []
    for name, make in (
        ("MDR", lambda: MDR(split.n_users, split.n_items, P, 64)),
        ("MASS", lambda: MASS(split.n_users, split.n_items, P, 64)),
    ):
        times = {}
        for label, adv in (("BPR", None), ("APR flexible", APR(0.5, "flexible"))):
            t0 = time.perf_counter()
            fit(make(), split, adversary=adv, **kw)
            times[label] = (time.perf_counter() - t0) / epochs
        rows.append(
            {
                "model": name,
                "BPR s/epoch": times["BPR"],
                "APR s/epoch": times["APR flexible"],
                "APR / BPR": times["APR flexible"] / times["BPR"],
            }
        )
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    rows = bench_mass(64, (10, 25, 50), batch=256, n_steps=5 if args.quick else 10, rounds=1 if args.quick else 3)
    print("\nMASS training step (batch 256, 1 positive + 4 negatives, d = 64)")
    print(f"{'L':>4} {'vectorised rows/s':>18} {'naive loop rows/s':>18} {'speed-up':>9}")
    for r in rows:
        print(
            f"{r['L']:>4} {r['vectorised rows/s']:>18.0f} {r['naive loop rows/s']:>18.0f} "
            f"{r['speed-up']:>8.1f}x"
        )
    print("\nWhat each lever buys: the library's step against the same step without it (x = rows/s ratio)")
    print(f"{'L':>4} " + " ".join(f"{'without ' + col:>30}" for col, _, _ in LEVERS))
    for r in rows:
        cells = (f"{r[col]:>10.0f} rows/s ({r['vectorised rows/s'] / r[col]:.2f}x)" for col, _, _ in LEVERS)
        print(f"{r['L']:>4} " + " ".join(f"{c:>30}" for c in cells))
    rows = bench_apr(1 if args.quick else 3)
    print(
        "\nAPR (flexible noise) vs BPR training, planted playlists, d = 64, batch 256, 4 negatives"
    )
    print(f"{'model':>6} {'BPR s/epoch':>12} {'APR s/epoch':>12} {'APR / BPR':>10}")
    for r in rows:
        print(
            f"{r['model']:>6} {r['BPR s/epoch']:>12.2f} {r['APR s/epoch']:>12.2f} "
            f"{r['APR / BPR']:>9.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
