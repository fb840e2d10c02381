"""SDM training speed on ML-100k (d = 64, s = 5, 3 hops, 4 negatives): each speed lever
measured against the implementation before issue 12 in the same run, with the largest
absolute difference of the loss and of every gradient printed (exactness); then a full
``fit`` epoch of the library's SDM and the 943 x 101 evaluation.

    .venv/bin/python benchmarks/bench_sdmr.py [--batches 40] [--batch-sizes 256 1024]
        [--threads N] [--compile]

Levers (cumulative, in this order):

* ``mulsum``: Eq. (13)/(18)'s attentive sum e = sum_k a_k r_k^2 as a multiply-and-sum
  instead of ``einsum("bcs,bcsd->bcd")`` (which runs as hundreds of 1 x s @ s x d bmm's);
* ``additive``: the softmax mask as an additive (B, 1, s) bias built once per batch, not
  masked_fill / where per hop;
* ``merged``: W_c's query half and the gate W_g applied to q in one matrix product;
* ``fused``: Eq. (9)'s z = ||tanh(W_c q + W_c' v_k)||^2 and Eq. (13)'s square(tanh(.)) as
  custom autograd Functions with a hand-written backward (tanh saved, not recomputed:
  ``fused+recompute`` recomputes it in the backward instead, trading a pass for memory);
* ``attnsum``: Eq. (13)/(18)'s attentive sum as a custom Function (s in-place
  multiply-adds forward, one batched matrix-vector product and one outer product backward);
* ``library``: ``recsys_book.models.sdmr.SDM`` as it is now (mulsum + additive + merged +
  fused + attnsum; ``SDM.fused_backward = False`` gives the autograd path of ``+ merged``);
* ``compiled``: ``torch.compile`` of the library's step (``--compile``; its one-off compile
  time is printed separately).

Step = forward over (B, 1 + 4) candidates + BPR on the hardest negative + backward
(+ Adam step for the epoch figure). "epoch (s)" = 98,114 training rows / rows per second.
"CPU s" = process CPU seconds per epoch (with one thread, what the epoch costs on an idle
core; on a loaded machine the wall clock mostly measures the other jobs). Timings: the
fastest of ``--repeats`` interleaved repeats (every variant timed in each round,
so that load changes hit all of them); on a shared machine compare the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from recsys_book.data import load_ml100k
from recsys_book.data.splits import add_recent_context, leave_one_out
from recsys_book.evaluate import evaluate
from recsys_book.models import sdmr as sdmr_mod
from recsys_book.models.sdmr import SDM
from recsys_book.train import fit
from recsys_book.utils import get_device

# ---- the SDM forward before issue 12 (the reference) ----------------------------------


def forward_before(m: SDM, users, items, context, mask):
    f = m.f
    q = f(m.W_a.part_a(m.user_in(users))[:, None, :] + m.W_a.part_b(m.item_in(items)))
    p = f(m.W_b.part_a(m.user_out(users))[:, None, :] + m.W_b.part_b(m.item_out(items)))
    dk = m.W_d.part_b(m.item_out(context))
    r = f(m.W_d.part_a(p)[:, :, None, :] + dk[:, None, :, :])
    r2 = r * r
    ck = m.W_c.part_b(m.item_in(context))
    e = None
    for h in range(1, m.hops + 1):
        comb = f(m.W_c.part_a(q)[:, :, None, :] + ck[:, None, :, :])
        z = (comb * comb).sum(-1)
        mm = mask[:, None, :].expand_as(z)
        any_real = mm.any(-1, keepdim=True)
        logits = (-z).masked_fill(~mm, float("-inf"))
        logits = torch.where(any_real, logits, torch.zeros_like(logits))
        a = torch.softmax(logits, dim=-1) * mm
        e = torch.einsum("bcs,bcsd->bcd", a, r2)
        if h < m.hops:
            g = torch.sigmoid(m.W_g(q))
            q = (1 - g) * e + g * q
    return m.w_e(e).squeeze(-1)


def forward_lever(
    m: SDM, users, items, context, mask, additive, merged, fused, recompute=False, attnsum=False
):
    """The same equations with the levers switched on (tanh activation)."""
    q = torch.tanh(m.W_a.part_a(m.user_in(users))[:, None, :] + m.W_a.part_b(m.item_in(items)))
    p = torch.tanh(m.W_b.part_a(m.user_out(users))[:, None, :] + m.W_b.part_b(m.item_out(items)))
    dk = m.W_d.part_b(m.item_out(context))
    pa = m.W_d.part_a(p)
    if fused:
        r2 = sdmr_mod._TanhSquare.apply(pa, dk)
    else:
        r = torch.tanh(pa[:, :, None, :] + dk[:, None, :, :])
        r2 = r * r
    ck = m.W_c.part_b(m.item_in(context))
    d = m.dim
    if merged:
        w = torch.cat([m.W_c.lin.weight[:, :d], m.W_g.weight], 0)  # (2d, d)
        b = torch.cat([m.W_c.lin.bias, m.W_g.bias], 0)
    if additive:
        bias = torch.zeros(mask.shape, dtype=r2.dtype, device=r2.device)
        bias = bias.masked_fill(~mask, -1e30)[:, None, :]  # (B, 1, s)
        keep = mask.any(-1).to(r2.dtype)[:, None, None]  # (B, 1, 1)
    e = None
    for h in range(1, m.hops + 1):
        if merged and h < m.hops:
            both = torch.nn.functional.linear(q, w, b)
            qa, gl = both[..., :d], both[..., d:]
        else:
            qa = m.W_c.part_a(q)
            gl = m.W_g(q) if h < m.hops and not merged else None
        if fused:
            z = sdmr_mod._TanhSqNorm.apply(qa, ck, recompute)
        else:
            comb = torch.tanh(qa[:, :, None, :] + ck[:, None, :, :])
            z = (comb * comb).sum(-1)
        if additive:
            a = torch.softmax(bias - z, dim=-1) * keep
        else:
            mm = mask[:, None, :].expand_as(z)
            any_real = mm.any(-1, keepdim=True)
            logits = (-z).masked_fill(~mm, float("-inf"))
            logits = torch.where(any_real, logits, torch.zeros_like(logits))
            a = torch.softmax(logits, dim=-1) * mm
        e = sdmr_mod._AttnSum.apply(a, r2) if attnsum else (a[..., None] * r2).sum(2)
        if h < m.hops:
            g = torch.sigmoid(gl)
            q = (1 - g) * e + g * q
    return m.w_e(e).squeeze(-1)


def library(m, users, items, context, mask):
    return m.distance(users, items, context=context, context_mask=mask)


VARIANTS = {
    "before issue 12": forward_before,
    "mulsum": lambda m, *a: forward_lever(m, *a, additive=False, merged=False, fused=False),
    "+ additive": lambda m, *a: forward_lever(m, *a, additive=True, merged=False, fused=False),
    "+ merged": lambda m, *a: forward_lever(m, *a, additive=True, merged=True, fused=False),
    "+ fused": lambda m, *a: forward_lever(m, *a, additive=True, merged=True, fused=True),
    "+ fused+recompute": lambda m, *a: forward_lever(
        m, *a, additive=True, merged=True, fused=True, recompute=True
    ),
    "+ fused + attnsum": lambda m, *a: forward_lever(
        m, *a, additive=True, merged=True, fused=True, attnsum=True
    ),
    "library": library,
}


def loss_of(dist):
    s = -dist  # scores
    return -F.logsigmoid(s[:, 0] - s[:, 1:].max(1).values).mean()  # neg_reduce="max"


def grads_of(m, fn, b):
    m.zero_grad(set_to_none=True)
    loss = loss_of(fn(m, *b))
    loss.backward()
    return loss.detach(), [p.grad.detach().clone() for p in m.parameters()]


def time_steps(m, fn, batches) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of forward + backward over ``batches``."""
    t0, c0 = time.perf_counter(), time.process_time()
    for b in batches:
        m.zero_grad(set_to_none=True)
        loss_of(fn(m, *b)).backward()
    return time.perf_counter() - t0, time.process_time() - c0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--threads", type=int, default=None, help="default: torch's (the cores)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[256, 1024])
    ap.add_argument("--batches", type=int, default=10, help="batches per timing")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--hops", type=int, default=3)
    ap.add_argument("--negatives", type=int, default=4)
    ap.add_argument("--context", type=int, default=5)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile")
    ap.add_argument("--no-epoch", action="store_true", help="skip the full fit() epochs")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = get_device(args.device)
    split = add_recent_context(leave_one_out(load_ml100k(), 100), args.context)
    n_rows = len(split.train)
    torch.manual_seed(0)
    m = SDM(split.n_users, split.n_items, dim=64, hops=args.hops).to(dev)
    users = torch.tensor(split.train.df["user"].to_numpy(), dtype=torch.long, device=dev)
    items = torch.tensor(split.train.df["item"].to_numpy(), dtype=torch.long, device=dev)
    ctx = split.train_inputs["context"].to(dev)
    mask = split.train_inputs["context_mask"].to(dev)
    print(
        f"device {dev}, torch threads {torch.get_num_threads()}, ML-100k {n_rows} rows, d=64, "
        f"s={args.context}, hops={args.hops}, {args.negatives} negatives (loss on the hardest); "
        f"forward+backward, best of {args.repeats} interleaved x {args.batches} batches"
    )
    variants = dict(VARIANTS)
    if args.compile:
        variants["compiled library"] = torch.compile(library)
    for B in args.batch_sizes:
        g = torch.Generator(device=dev).manual_seed(0)

        def batch():
            idx = torch.randint(0, n_rows, (B,), device=dev, generator=g)
            neg = torch.randint(0, split.n_items, (B, args.negatives), device=dev, generator=g)
            return users[idx], torch.cat([items[idx, None], neg], 1), ctx[idx], mask[idx]

        batches = [batch() for _ in range(args.batches)]
        ref_loss, ref_grads = grads_of(m, forward_before, batches[0])
        print(f"\nbatch {B}")
        print(
            f"{'variant':<22}{'epoch (s)':>10}{'speed-up':>10}{'CPU s':>10}{'CPU x':>10}"
            f"{'max |d loss|':>14}{'max |d grad|':>14}"
        )
        checks, times = {}, {name: [] for name in variants}
        for name, fn in variants.items():
            t_c = time.perf_counter()
            loss, grads = grads_of(m, fn, batches[0])  # also the warm-up / compile
            t_c = time.perf_counter() - t_c
            dl = float((loss - ref_loss).abs())
            dg = max(float((a - b).abs().max()) for a, b in zip(grads, ref_grads))
            checks[name] = (dl, dg, t_c)
        for _ in range(args.repeats):  # interleaved, so that load changes hit every variant
            for name, fn in variants.items():
                times[name].append(time_steps(m, fn, batches))
        base = base_cpu = None
        per = n_rows / (args.batches * B)
        for name in variants:
            epoch = min(t[0] for t in times[name]) * per
            cpu = min(t[1] for t in times[name]) * per
            base = epoch if base is None else base
            base_cpu = cpu if base_cpu is None else base_cpu
            dl, dg, t_c = checks[name]
            extra = f"  (first call {t_c:.0f} s)" if name.startswith("compiled") else ""
            print(
                f"{name:<22}{epoch:>10.2f}{base / epoch:>9.2f}x{cpu:>10.2f}{base_cpu / cpu:>9.2f}x"
                f"{dl:>14.2e}{dg:>14.2e}{extra}"
            )

    if not args.no_epoch:
        print("\nfull fit() epoch of the library SDM (sampling + forward + backward + Adam):")
        for B in args.batch_sizes:
            torch.manual_seed(0)
            mm = SDM(split.n_users, split.n_items, dim=64, hops=args.hops)
            c0 = time.process_time()
            hist = fit(
                mm,
                split,
                epochs=1,
                batch_size=B,
                n_negatives=args.negatives,
                neg_reduce="max",
                valid_metric=None,
                progress=False,
                device=dev,
            )
            cpu = time.process_time() - c0
            print(
                f"  batch {B:5d}: {hist['seconds'].iloc[-1]:.2f} s wall, {cpu:.2f} CPU s "
                f"({torch.get_num_threads()} threads; goal <= 3 s on 2 cores)"
            )
    t0 = time.perf_counter()
    evaluate(m, split.test, device=dev)
    print(f"evaluation, 943 users x 101 candidates: {time.perf_counter() - t0:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
