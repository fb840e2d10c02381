"""The training step of every gradient model: no host synchronisation per step, and a
compiled step (``fit(compile=...)``) that trains the same model as the plain one (issue 26).

A GPU runs ahead of Python only while nothing reads a device value back: an ``.item()``, a
Python ``if`` on a tensor or a shape that depends on the data makes every step wait for the
device. On the CPU we count those reads (the ``aten`` calls that return a host value or a
data-dependent shape) during one epoch at two batch sizes: a step that synchronises makes
the count grow with the number of steps. The per-epoch reads (rejection sampling of the
negatives, the epoch's loss) are the same at any batch size.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from recsys_book.models.baselines import CML, GMF, MFBPR, MLP, NeuMF, PlaylistAsUser
from recsys_book.models.lrml import LRML
from recsys_book.models.mahalanobis import MASS, MDR, n_playlists
from recsys_book.models.memory import CMN, FISM
from recsys_book.models.qualse import AASVD, AGRU, ALSTM, ALSTMAASVD, QUALE, QUALSE, QUASE
from recsys_book.models.sdmr import SDM, SDMR, SDP
from recsys_book.models.sequential import PRME, Caser, PRMEs, TransRec
from recsys_book.train import fit

PL = {"exclude_by": "playlist"}
#: name -> (data, split -> untrained model, fit keywords): every gradient-trained model
GRADIENT: dict[str, tuple[str, Callable, dict]] = {
    "MF-BPR": ("implicit", lambda s: MFBPR(s.n_users, s.n_items, 8), {}),
    "CML (hinge)": ("implicit", lambda s: CML(s.n_users, s.n_items, 8, loss="hinge"), {}),
    "GMF": ("implicit", lambda s: GMF(s.n_users, s.n_items, 8), {}),
    "MLP": ("implicit", lambda s: MLP(s.n_users, s.n_items, (16, 8)), {}),
    "NeuMF": ("implicit", lambda s: NeuMF(s.n_users, s.n_items, 8, (16, 8)), {}),
    "LRML": ("implicit", lambda s: LRML(s.n_users, s.n_items, 8, n_memory=4), {}),
    "SDP": ("implicit", lambda s: SDP(s.n_users, s.n_items, 8), {}),
    "SDM": ("sequence", lambda s: SDM(s.n_users, s.n_items, 8, hops=2), {"neg_reduce": "max"}),
    "SDMR": ("sequence", lambda s: SDMR(SDP(s.n_users, s.n_items, 8), SDM(s.n_users, s.n_items, 8, hops=2)), {}),
    "PRME": ("sequence", lambda s: PRME(s.n_users, s.n_items, 8), {}),
    "PRME_s": ("sequence", lambda s: PRMEs(s.n_users, s.n_items, 8), {}),
    "TransRec": ("sequence", lambda s: TransRec(s.n_users, s.n_items, 8), {}),
    "Caser": ("sequence", lambda s: Caser(s.n_users, s.n_items, 8, L=3), {}),
    "MDR": ("playlist", lambda s: MDR(s.n_users, s.n_items, n_playlists(s), 8), PL),
    "MASS": ("playlist", lambda s: MASS(s.n_users, s.n_items, n_playlists(s), 8), PL),
    "FISM": ("playlist", lambda s: FISM(s.n_users, s.n_items, 8), PL),
    "CMN": ("playlist", lambda s: CMN(s.n_users, s.n_items, s, dim=8, max_neighbours=10), PL),
    "CML on playlists": ("playlist", lambda s: PlaylistAsUser(CML(n_playlists(s), s.n_items, 8)), {}),
    "QUALE": ("long_short", lambda s: QUALE(s.n_users, s.n_items, 8), {}),
    "AASVD": ("long_short", lambda s: AASVD(s.n_users, s.n_items, 8), {}),
    "QUASE": ("long_short", lambda s: QUASE(s.n_users, s.n_items, 8), {}),
    "ALSTM": ("long_short", lambda s: ALSTM(s.n_users, s.n_items, 8), {}),
    "AGRU": ("long_short", lambda s: AGRU(s.n_users, s.n_items, 8), {}),
    "QUALSE": ("long_short", lambda s: QUALSE(s.n_users, s.n_items, 8), {}),
    "ALSTM+AASVD": ("long_short", lambda s: ALSTMAASVD(s.n_users, s.n_items, 8), {}),
}


@pytest.fixture(scope="module")
def splits(implicit_split, sequence_split, playlist_split, long_short_split):
    return {"implicit": implicit_split, "sequence": sequence_split, "playlist": playlist_split,
            "long_short": long_short_split}  # fmt: skip


def _model(name, splits, seed=0):
    data, build, kw = GRADIENT[name]
    torch.manual_seed(seed)
    return build(splits[data]), splits[data], kw


class HostReads(TorchDispatchMode):
    """Counts the calls that make the host wait for a device value: a scalar read back
    (``.item()``, ``bool(t)``, ``int(t)``) or an output whose shape depends on the data."""

    READS = ("aten._local_scalar_dense", "aten.is_nonzero", "aten.nonzero", "aten.masked_select",
             "aten.equal", "aten._unique", "aten.unique")  # fmt: skip

    def __init__(self):
        super().__init__()
        self.calls: Counter = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = str(func.overloadpacket) if hasattr(func, "overloadpacket") else str(func)
        name = "aten." + name.split(".")[-1] if not name.startswith("aten.") else name
        if name.startswith(self.READS):
            self.calls[name] += 1
        elif name == "aten.index" and any(
            isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in (args[1] if len(args) > 1 else [])
        ):
            self.calls["aten.index (boolean mask)"] += 1
        return func(*args, **(kwargs or {}))


def _reads(name, splits, batch_size) -> Counter:
    model, split, kw = _model(name, splits)
    with HostReads() as mode:
        fit(model, split, epochs=1, batch_size=batch_size, n_negatives=2, valid_metric=None,
            progress=False, seed=0, **kw)  # fmt: skip
    return mode.calls


@pytest.mark.parametrize("name", list(GRADIENT))
def test_a_training_step_never_waits_for_the_host(name, splits):
    """One epoch at batch 16 and at batch 64 (four times the steps): the same host reads,
    so none of them is per step."""
    n = len(splits[GRADIENT[name][0]].train.df)
    assert n >= 4 * 64, "the split must give several steps at both batch sizes"
    few, many = _reads(name, splits, 64), _reads(name, splits, 16)
    assert many == few, f"{name}: host reads grow with the steps: {dict(few)} at batch 64, {dict(many)} at batch 16"


def test_the_counter_sees_a_step_that_waits(splits):
    """The check above can fail: a loss that reads a value back each step is caught."""
    model, split, _ = _model("MF-BPR", splits)

    def syncing_loss(pos, neg):
        out = -torch.nn.functional.logsigmoid(pos[:, None] - neg).mean()
        if out > 100:  # a Python branch on a device value: a host read per step
            raise AssertionError
        return out

    counts = []
    for b in (64, 16):
        with HostReads() as mode:
            fit(model, split, epochs=1, batch_size=b, loss=syncing_loss, valid_metric=None, progress=False)
        counts.append(sum(mode.calls.values()))
    assert counts[1] > counts[0] + 10, counts


def _train(name, splits, **kw):
    model, split, fkw = _model(name, splits)
    for m in model.modules():  # one backward in both runs: a compiled SDM step takes autograd,
        if isinstance(m, SDM):  # the eager CPU one the hand-written backward (equal up to
            m.fused_backward = False  # rounding, test_sdmr's gradcheck; 2 epochs grow it to 4e-4)
    hist = fit(model, split, epochs=2, batch_size=64, n_negatives=2, valid_metric=None, progress=False,
               seed=0, **fkw, **kw)  # fmt: skip
    return hist["loss"].to_numpy(), {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("name", list(GRADIENT))
def test_a_compiled_step_trains_the_same_model(name, splits, cpu_threads_1):
    """``fit(compile=...)`` against the plain loop, same seed, one thread: the same losses per
    epoch and the same weights afterwards (so the same scores), within float tolerance. The graph is captured
    by TorchDynamo and differentiated by AOTAutograd (backend ``aot_eager``: no C++
    compiler needed); ``test_inductor_compiles_a_step`` below also generates code."""
    import torch._dynamo

    loss_plain, weights_plain = _train(name, splits)
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    loss_comp, weights_comp = _train(name, splits, compile={"backend": "aot_eager"})
    stats = torch._dynamo.utils.counters
    # one graph per batch shape (full batches, the shorter last one), none broken up
    assert not stats["graph_break"], f"{name}: graph breaks {dict(stats['graph_break'])}"
    assert stats["stats"]["unique_graphs"] == 2, f"{name}: {dict(stats['stats'])}"
    torch.testing.assert_close(torch.tensor(loss_comp), torch.tensor(loss_plain), rtol=1e-4, atol=1e-5)
    assert weights_comp.keys() == weights_plain.keys()
    for k in weights_plain:
        torch.testing.assert_close(weights_comp[k], weights_plain[k], rtol=1e-3, atol=1e-4, msg=lambda m: f"{name} {k}: {m}")


def test_inductor_compiles_a_step(splits, cpu_threads_1):
    """``compile=True`` (Inductor's generated C++ on the CPU) for SDM, the chapters' slowest
    step: the same losses and weights as the plain loop within float tolerance (fused kernels
    add in another order)."""
    import shutil

    if not (shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")):
        pytest.skip("Inductor needs a C++ compiler on the CPU; none on PATH (install g++)")
    loss_plain, weights_plain = _train("SDM", splits)
    loss_comp, weights_comp = _train("SDM", splits, compile=True)
    torch.testing.assert_close(torch.tensor(loss_comp), torch.tensor(loss_plain), rtol=1e-3, atol=1e-4)
    for k in weights_plain:
        torch.testing.assert_close(weights_comp[k], weights_plain[k], rtol=1e-2, atol=1e-3)


def test_compile_and_drop_last_take_only_what_they_promise(splits):
    model, split, _ = _model("MF-BPR", splits)
    with pytest.raises(TypeError, match="compile must be True, False or a dict"):
        fit(model, split, epochs=1, compile="yes", progress=False)
    with pytest.raises(ValueError, match="drop_last=True with batch_size"):
        fit(model, split, epochs=1, batch_size=10**6, drop_last=True, progress=False)
    # drop_last: every step sees a full batch, the epoch's loss averages the rows it trained on
    seen = []
    hist = fit(model, split, epochs=1, batch_size=64, drop_last=True, valid_metric=None, progress=False,
               loss=lambda p, n: seen.append(len(p)) or -torch.nn.functional.logsigmoid(p[:, None] - n).mean())  # fmt: skip
    assert set(seen) == {64} and len(seen) == len(split.train.df) // 64 and hist["loss"].notna().all()


def test_fit_checks_the_context_ids_once_up_front(splits):
    """The steps run under trusted_ids() (no range check, no host read per step), so fit
    rejects out-of-range context ids before the first step, with what to do."""
    model, split, _ = _model("QUALE", splits)
    bad = {k: v.clone() for k, v in split.train_inputs.items()}
    bad["long_context"][0, 0] = split.n_items + 5
    with pytest.raises(ValueError, match="long_context.*outside 0"):
        fit(model, split, epochs=1, train_inputs=bad, progress=False)


def test_a_grid_of_compiled_fits_compiles_each_architecture_once(splits):
    """Compiled fits in one process, as a grid runs them: fits of the same architecture
    reuse its two graphs (full and last batch) and train as the plain loop does; every new
    architecture (here 10 embedding sizes, more than torch.compile's recompile limit of 8
    per code object) compiles its own instead of falling back to eager steps silently."""
    graphs = []

    def counting(gm, example_inputs):
        graphs.append(len(gm.graph.nodes))
        return gm.forward

    _, split, _ = _model("MF-BPR", splits)
    kw = dict(epochs=1, batch_size=64, valid_metric=None, progress=False, compile={"backend": counting})
    for seed in range(3):  # one architecture, three seeds
        torch.manual_seed(seed)
        last = MFBPR(split.n_users, split.n_items, 8)
        fit(last, split, seed=seed, **kw)
    assert len(graphs) == 2, graphs
    torch.manual_seed(2)
    plain = MFBPR(split.n_users, split.n_items, 8)
    fit(plain, split, seed=2, **{**kw, "compile": False})
    for k, v in plain.state_dict().items():
        torch.testing.assert_close(last.state_dict()[k], v)
    for dim in range(10, 20):
        fit(MFBPR(split.n_users, split.n_items, dim), split, **kw)
    assert len(graphs) == 2 + 2 * 10, graphs


def test_bench_gpu_without_cuda_says_so_and_its_cpu_table_runs(capsys):
    """benchmarks/bench_gpu.py on a machine without CUDA: one line that says so, status 0;
    ``--cpu-only`` times the CPU columns (one model, one epoch, plain) and prints the target."""
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: bench_gpu runs for real there")
    from benchmarks import bench_gpu

    assert bench_gpu.main([]) == 0
    assert "no CUDA device" in capsys.readouterr().out
    assert bench_gpu.main(["--cpu-only", "--models", "MF-BPR (1024)", "--epochs", "1", "--no-compile"]) == 0
    out = capsys.readouterr().out
    assert "MF-BPR (1024)" in out and "target MF-BPR (1024) on cpu" in out


def test_bench_train_runs_and_prints_its_ratios(capsys):
    """benchmarks/bench_train.py end to end (one epoch per cell, no plain loop): it reads the
    loop's defaults from the library (it broke once when ``fit``'s signature changed) and
    prints every row it promises, the embedding-rows lever included."""
    from benchmarks import bench_train

    assert bench_train.main(["--no-plain", "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    for row in ("fit() epoch at the default batch 1024", "Adam variants", "Embedding rows, MF-BPR batch 1024",
                "Embedding rows, MF-BPR batch 256", "s/epoch by batch size", "APR (eps 0.5) / BPR"):
        assert row in out, (row, out)


def test_bench_masr_times_each_lever_and_restores_the_library():
    """benchmarks/bench_masr.py's MASS step table: one column per lever (the step without
    it), every figure a positive rate, and the library's functions put back afterwards."""
    from benchmarks import bench_masr
    from recsys_book import nn as rnn
    from recsys_book.models import mahalanobis

    rows = bench_masr.bench_mass(8, (6,), batch=16, n_steps=1, rounds=2)
    cols = {"vectorised rows/s", "naive loop rows/s"} | {col for col, _, _ in bench_masr.LEVERS}
    assert set(rows[0]) >= cols and all(rows[0][c] > 0 for c in cols)
    assert mahalanobis.lookup is rnn.lookup
    assert mahalanobis.pairwise_diag_mahalanobis_sq is rnn.pairwise_diag_mahalanobis_sq
    q, s, b = torch.randn(2, 3, 4), torch.randn(2, 5, 4), torch.randn(4)
    torch.testing.assert_close(bench_masr.pairwise_autograd(q, s, b), rnn.pairwise_diag_mahalanobis_sq(q, s, b))


def test_bench_qualse_times_each_lever_and_restores_the_library():
    """benchmarks/bench_qualse.py: a column per lever for the models it touches, positive
    times, the library's functions put back, and the einsum baseline computing the same
    attention as the library (the lever changes the time only)."""
    from benchmarks import bench_qualse as bq
    from recsys_book import nn as rnn
    from recsys_book.models import qualse
    from recsys_book.models import quaternion as Q

    rows = bq.bench(batch=8, dim=8, long_len=6, short_len=3, steps=1, rounds=2)
    assert [r["model"] for r in rows] == ["QUALE", "QUASE", "QUALSE"]
    assert "weights every step" not in rows[0] and "weights every step" in rows[1]
    assert all(r["library"] > 0 and all(v[0] > 0 for k, v in r.items() if k not in ("model", "library")) for r in rows)
    assert qualse.lookup is rnn.lookup and Q.QLSTMCell.step is bq.LIBRARY_LSTM_STEP
    assert qualse._Base._attend is bq.LIBRARY_ATTEND
    torch.manual_seed(0)
    m = qualse.QUALE(5, 7, 8).double()
    keys, q = torch.randn(3, 4, 8, dtype=torch.float64), torch.randn(3, 8, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 0, 1], [0, 0, 1, 1], [1, 1, 1, 1]], dtype=torch.bool)
    for got, want in zip(bq.attend_einsum(m, keys, q, mask), m._attend(keys, q, mask)):
        torch.testing.assert_close(got, want)
