"""``device="auto"`` on a GPU: MF-BPR, SDM and CoRML trained on CUDA and on the CPU, one
epoch (CoRML: its ADMM with a few iterations) on ML-100k leave-one-out, with the test
metrics compared and the times printed.

    .venv/bin/python benchmarks/bench_gpu.py [--tol 0.03] [--corml-tol 0.002]

Without CUDA it says so and exits with status 0 (CI has no GPU: not part of the tests).

Tolerances: the gradient models sample their negatives and shuffle with a generator on
the training device, and CPU and CUDA generators give different streams from the same
seed, so one epoch on each device is two different (equally valid) runs: their metrics
agree within ``--tol`` (absolute, HR@10 / NDCG@10). CoRML is deterministic (a closed-form
ADMM): float32 on both devices, agreement within ``--corml-tol``.
A disagreement beyond the tolerance exits with status 1 and names the model and metric.
"""

from __future__ import annotations

import argparse
import time

import torch

from recsys_book.data import load_ml100k
from recsys_book.data.splits import add_recent_context, leave_one_out
from recsys_book.evaluate import evaluate
from recsys_book.models.baselines import MFBPR
from recsys_book.models.corml import CoRML
from recsys_book.models.sdmr import SDM
from recsys_book.train import fit


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def run_one(name: str, split, dev: torch.device, corml_iterations: int) -> tuple[dict, float]:
    torch.manual_seed(0)
    t0 = time.perf_counter()
    if name == "CoRML":
        model = CoRML(split.n_users, split.n_items, iterations=corml_iterations).to(dev)
        model.fit(split)
    else:
        if name == "MF-BPR":
            model, kw = MFBPR(split.n_users, split.n_items, 64), dict(lr=5e-3, n_negatives=1)
        else:
            model = SDM(split.n_users, split.n_items, 64, hops=3)
            kw = dict(lr=2e-3, n_negatives=4, neg_reduce="max", batch_size=256)
        fit(model, split, epochs=1, valid_metric=None, progress=False, device=dev, seed=0, **kw)
    _sync(dev)
    seconds = time.perf_counter() - t0
    res = evaluate(model, split.test, device=dev)
    return res, seconds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--tol", type=float, default=0.03, help="gradient models, absolute")
    ap.add_argument("--corml-tol", type=float, default=0.002, help="CoRML, absolute")
    ap.add_argument("--corml-iterations", type=int, default=10)
    ap.add_argument("--models", nargs="+", default=["MF-BPR", "SDM", "CoRML"])
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        print(
            "bench_gpu: no CUDA device on this machine (torch.cuda.is_available() is False); "
            "nothing to compare. Run it on a machine with an NVIDIA GPU and a CUDA build of torch."
        )
        return 0
    cuda = torch.device("cuda")
    print(f"GPU: {torch.cuda.get_device_name(0)}; CPU threads {torch.get_num_threads()}")
    split = add_recent_context(leave_one_out(load_ml100k(), n_negatives=100, seed=0), 5)
    failures = []
    print(f"{'model':8s} {'metric':8s} {'CPU':>7s} {'CUDA':>7s} {'|diff|':>7s} {'tol':>6s}  times")
    for name in args.models:
        cpu_res, cpu_s = run_one(name, split, torch.device("cpu"), args.corml_iterations)
        gpu_res, gpu_s = run_one(name, split, cuda, args.corml_iterations)
        tol = args.corml_tol if name == "CoRML" else args.tol
        for metric in ("HR@10", "NDCG@10"):
            diff = abs(cpu_res[metric] - gpu_res[metric])
            ok = diff <= tol
            if not ok:
                failures.append(
                    f"{name} {metric}: CPU {cpu_res[metric]:.4f} vs CUDA "
                    f"{gpu_res[metric]:.4f} (|diff| {diff:.4f} > {tol})"
                )
            print(
                f"{name:8s} {metric:8s} {cpu_res[metric]:7.4f} {gpu_res[metric]:7.4f} "
                f"{diff:7.4f} {tol:6.3f}  CPU {cpu_s:.2f} s, CUDA {gpu_s:.2f} s"
                + ("" if ok else "  <- DISAGREES")
            )
    if failures:
        print("CPU and CUDA disagree beyond tolerance:\n  " + "\n  ".join(failures))
        return 1
    print("CPU and CUDA agree within tolerance.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
