"""Quaternion sequence models' training step (QUALE, QUASE, QUALSE; d = 64, batch 512, long
context l = 50, short context s = 5, 1 positive + 1 negative, BPR): the library's step
against the same step without each of its speed levers, timed in the same run:

* ``einsum pooling``: QUALE's/QUASE's attention pooling u_c = sum_l alpha_lc key_lc as the
  einsum it was (a permuted copy of the keys forward, a k = 1 outer-product bmm backward)
  instead of one (B, 4, L) @ (B, L, d) matmul and its diagonal blocks;
* ``weights every step``: the quaternion LSTM's real matrices (a gather per matrix, rows
  gate-major) rebuilt at each of the s steps instead of once per sequence;
* ``module lookups``: ``nn.Embedding`` modules called instead of ``nn.lookup``.

Each variant gives the same numbers (the chapter's and the tests' identities); only the
time differs. Timings interleave the variants over rounds (a shared machine drifts between
blocks) and print the median step time and the library's speed-up over each variant.

    .venv/bin/python benchmarks/bench_qualse.py [--steps 10] [--rounds 5] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from unittest.mock import patch

import torch

from recsys_book.models import qualse
from recsys_book.models import quaternion as Q
from recsys_book.models.qualse import QUALE, QUALSE, QUASE
from recsys_book.nn import masked_softmax
from recsys_book.train import bpr_loss


def attend_einsum(self, keys, ctx_q, mask):
    """The quaternion attention with the pooling as the library wrote it before (the
    baseline of the ``einsum pooling`` lever); the real models take the library's path."""
    d = self.dim
    if not self.quaternion:
        return LIBRARY_ATTEND(self, keys, ctx_q, mask)
    B = keys.shape[0]
    V = self._component_sums(ctx_q.expand(B, d))  # the library's logits
    alpha = masked_softmax(torch.bmm(keys, V) / d**0.5, mask[..., None], dim=1)
    u = torch.einsum("blc,blcn->bcn", alpha, keys.unflatten(-1, (4, d // 4)))
    return u.reshape(B, d), alpha


LIBRARY_ATTEND = qualse._Base._attend
LIBRARY_LSTM_STEP = Q.QLSTMCell.step


def _lstm_step_rebuilding(self, xw, state, weights):
    return LIBRARY_LSTM_STEP(self, xw, state, self.weights())


#: the step without one lever: (column, object, attribute, replacement, models it touches)
LEVERS = (
    ("einsum pooling", qualse._Base, "_attend", attend_einsum, ("QUALE", "QUASE", "QUALSE")),
    ("weights every step", Q.QLSTMCell, "step", _lstm_step_rebuilding, ("QUASE", "QUALSE")),
    ("module lookups", qualse, "lookup", lambda table, ids: table(ids), ("QUALE", "QUASE", "QUALSE")),
)


def _inputs(n_users: int, n_items: int, batch: int, long_len: int, short_len: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)

    def ctx(L):
        ids = torch.randint(0, n_items, (batch, L), generator=g)
        lens = torch.randint(1, L + 1, (batch,), generator=g)
        mask = torch.arange(L)[None, :] >= (L - lens)[:, None]  # the most recent lens items
        return ids.masked_fill(~mask, n_items), mask

    lc, lm = ctx(long_len)
    sc, sm = ctx(short_len)
    users = torch.randint(0, n_users, (batch,), generator=g)
    items = torch.randint(0, n_items, (batch, 2), generator=g)
    return users, items, dict(long_context=lc, long_context_mask=lm, context=sc, context_mask=sm)


def bench(models=("QUALE", "QUASE", "QUALSE"), batch: int = 512, dim: int = 64, long_len: int = 50,
          short_len: int = 5, steps: int = 10, rounds: int = 5) -> list[dict]:  # fmt: skip
    """Median milliseconds per training step (forward, BPR, backward, Adam) of each model,
    the library's and without each lever."""
    n_users, n_items = 943, 1682
    users, items, inputs = _inputs(n_users, n_items, batch, long_len, short_len)
    classes = {"QUALE": QUALE, "QUASE": QUASE, "QUALSE": QUALSE}
    rows = []
    for name in models:
        torch.manual_seed(0)
        model = classes[name](n_users, n_items, dim)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def step():
            s = model.score(users, items, **inputs)
            loss = bpr_loss(s[:, 0], s[:, 1:])
            opt.zero_grad()
            loss.backward()
            opt.step()

        def ms_per_step():
            step()  # warm-up
            t0 = time.perf_counter()
            for _ in range(steps):
                step()
            return (time.perf_counter() - t0) / steps * 1e3

        levers = [lv for lv in LEVERS if name in lv[4]]
        times: dict[str, list[float]] = {"library": []} | {lv[0]: [] for lv in levers}
        for _ in range(rounds):
            times["library"].append(ms_per_step())
            for col, owner, attr, repl, _ in levers:
                with patch.object(owner, attr, repl):  # put back on leaving, even on error
                    times[col].append(ms_per_step())
        row = {"model": name, "library": statistics.median(times["library"])}
        for col, *_ in levers:  # the round's own ratio: the drift between rounds cancels
            ratios = [v / lib for v, lib in zip(times[col], times["library"])]
            row[col] = (statistics.median(times[col]), statistics.median(ratios), min(ratios), max(ratios))
        rows.append(row)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=10, help="timed steps per round and variant (default 10)")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    rows = bench(steps=args.steps, rounds=args.rounds)
    print(f"\nTraining step, batch 512, d 64, l 50, s 5: median ms per step over {args.rounds} interleaved")
    print("rounds; x = the step without the lever over the library's step, the median of the rounds'")
    print("ratios (their range in brackets: a range across 1.00x is noise); '-': the model has no such part")
    cols = [col for col, *_ in LEVERS]
    print(f"{'model':>7} {'library':>9} " + " ".join(f"{'without ' + c:>34}" for c in cols))
    for r in rows:
        cells = (
            f"{r[c][0]:.1f} ms ({r[c][1]:.2f}x, {r[c][2]:.2f}-{r[c][3]:.2f})" if c in r else "-" for c in cols
        )
        print(f"{r['model']:>7} {r['library']:>6.1f} ms " + " ".join(f"{c:>34}" for c in cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
