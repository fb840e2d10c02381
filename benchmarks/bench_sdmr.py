"""SDM training throughput on ML-100k (d = 64, s = 10, 3 hops) against a naive
per-example loop over context items, measured in the same run; and evaluation time for
the 943 x 101 leave-one-out candidates.

    .venv/bin/python benchmarks/bench_sdmr.py [--threads 2] [--device cpu]

Training step = forward + BPR (1 positive + 1 sampled negative) + backward + Adam step.
The naive version computes the same SDM equations one example, one candidate and one
context item at a time (Python loops, vectors of size d); it is timed on a few batches
and reported in examples/s. "epoch (s)" = training rows / examples per second (excluding
the per-epoch validation pass, reported separately as "eval").
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from recsys_book.data import load_ml100k
from recsys_book.data.splits import add_recent_context, leave_one_out
from recsys_book.evaluate import evaluate
from recsys_book.models.sdmr import SDM
from recsys_book.utils import get_device


def naive_distance(m: SDM, u: int, j: int, ctx: list[int]) -> torch.Tensor:
    """o_SDM for one (user, item) with a Python loop over context items (Eq. 7-18)."""
    f = m.f
    Wa, Wb, Wc, Wd = m.W_a.lin, m.W_b.lin, m.W_c.lin, m.W_d.lin
    q = f(Wa(torch.cat([m.user_in.weight[u], m.item_in.weight[j]])))
    p = f(Wb(torch.cat([m.user_out.weight[u], m.item_out.weight[j]])))
    r2 = [f(Wd(torch.cat([p, m.item_out.weight[k]]))) ** 2 for k in ctx]
    e = None
    for h in range(m.hops):
        z = torch.stack([(f(Wc(torch.cat([q, m.item_in.weight[k]]))) ** 2).sum() for k in ctx])
        a = torch.softmax(-z, 0)
        e = sum(a[i] * r2[i] for i in range(len(ctx)))
        if h < m.hops - 1:
            g = torch.sigmoid(m.W_g(q))
            q = (1 - g) * e + g * q
    return m.w_e(e).squeeze()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--batches", type=int, default=20, help="vectorised batches timed")
    ap.add_argument("--naive-examples", type=int, default=32)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = get_device(args.device)
    torch.manual_seed(0)
    split = add_recent_context(leave_one_out(load_ml100k(), 100), 10)
    n_rows = len(split.train)
    m = SDM(split.n_users, split.n_items, dim=64, hops=3).to(dev)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    users = torch.tensor(split.train.df["user"].to_numpy(), dtype=torch.long, device=dev)
    items = torch.tensor(split.train.df["item"].to_numpy(), dtype=torch.long, device=dev)
    ctx, mask = split.train_inputs["context"].to(dev), split.train_inputs["context_mask"].to(dev)
    g = torch.Generator(device=dev).manual_seed(0)

    def batch(i, B):
        idx = torch.randint(0, n_rows, (B,), device=dev, generator=g)
        neg = torch.randint(0, split.n_items, (B, 1), device=dev, generator=g)
        return users[idx], torch.cat([items[idx, None], neg], 1), ctx[idx], mask[idx]

    def step(u, it, c, mk):
        s = m.score(u, it, context=c, context_mask=mk)
        loss = -F.logsigmoid(s[:, 0] - s[:, 1]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(3):  # warm-up
        step(*batch(0, args.batch))
    sync()
    t0 = time.perf_counter()
    for i in range(args.batches):
        step(*batch(i, args.batch))
    sync()
    vec = args.batches * args.batch / (time.perf_counter() - t0)

    # naive: same equations, one example / candidate / context item at a time
    mc = m.cpu()
    opt_n = torch.optim.Adam(mc.parameters(), lr=1e-3)
    u, it, c, mk = (t.cpu() for t in batch(0, args.naive_examples))
    t0 = time.perf_counter()
    losses = []
    for b in range(args.naive_examples):
        real = [int(k) for k, ok in zip(c[b], mk[b]) if ok] or [split.n_items]
        dp = naive_distance(mc, int(u[b]), int(it[b, 0]), real)
        dn = naive_distance(mc, int(u[b]), int(it[b, 1]), real)
        losses.append(-F.logsigmoid(dn - dp))
    loss = torch.stack(losses).mean()
    opt_n.zero_grad()
    loss.backward()
    opt_n.step()
    naive = args.naive_examples / (time.perf_counter() - t0)

    # check the naive loop computes the same thing (on the rows with full context)
    with torch.no_grad():
        full = mk.all(1)
        b = int(torch.nonzero(full)[0]) if full.any() else 0
        ref = mc.distance(
            u[b : b + 1], it[b : b + 1], context=c[b : b + 1], context_mask=mk[b : b + 1]
        )[0, 0]
        nv = naive_distance(mc, int(u[b]), int(it[b, 0]), [int(k) for k in c[b]])
        assert torch.allclose(ref, nv, rtol=1e-4, atol=1e-5), (ref, nv)

    m.to(dev)
    t0 = time.perf_counter()
    evaluate(m, split.test, device=dev)
    sync()
    ev = time.perf_counter() - t0

    print(
        f"device {dev}, torch threads {torch.get_num_threads()}, ML-100k: {n_rows} training rows, "
        f"d=64, s=10, hops=3, batch {args.batch}, 1 negative"
    )
    print(f"{'':<28}{'examples/s':>12}{'epoch (s)':>12}")
    print(f"{'SDM vectorised':<28}{vec:>12.0f}{n_rows / vec:>12.1f}")
    print(f"{'naive per-example loop':<28}{naive:>12.1f}{n_rows / naive:>12.0f}")
    print(f"speed-up vectorised / naive: {vec / naive:.0f}x")
    print(f"evaluation, 943 users x 101 candidates: {ev:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
