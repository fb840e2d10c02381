"""One training loop for every gradient-trained model: :func:`fit`.

    history = fit(model, split, epochs=30, loss="bpr", n_negatives=4, lr=1e-3, seed=0)

What it does, per epoch:

1. draws ``n_negatives`` items for every training row, on the device, uniformly among
   items that the row's group (its user, or its playlist: ``exclude_by``, declared by the
   model or decided by the split, :func:`recsys_book.models.base.negatives_group`) never
   interacted with in training (rejection sampling against a sorted key table: vectorised, no Python loop
   over rows);
2. shuffles the rows and, batch by batch, calls ``model.score(users (B,), items (B, 1+n),
   **inputs)`` with the positive in column 0 (``inputs`` = per-row contexts etc. taken from
   ``split.train_inputs``), applies a pairwise loss (BPR or hinge), adds
   ``reg * model.regularization(...)`` when the model defines its paper's L2 term,
   and an adversarial term when an ``adversary`` is given (it may call ``objective`` again
   under perturbed parameters: the loop is not copied);
3. calls ``model.post_step()`` after each optimiser step when defined (e.g. CML's unit-ball
   clipping);
4. evaluates ``split.valid`` and keeps the best weights (restored at the end); stops early
   after ``patience`` epochs without improvement.

A step never waits for the host: negatives, shuffling and batches stay on the device, the
epoch's loss is summed there, and nothing in a step reads a device value back (no
``.item()``, no data-dependent shape; ``tests/test_step.py`` counts the synchronisations of
every gradient model's epoch and finds them independent of the number of steps). So a
step can be compiled: ``compile=True`` runs the forward and the loss (and, through
AOTAutograd, their backward) through ``torch.compile``; ``drop_last=True`` keeps every
batch the same shape (the rows left over go in the next epoch's shuffle).

Returns a pandas DataFrame: one row per epoch with loss, validation metrics and seconds.
"""

from __future__ import annotations

import inspect
import math
import os
import time
import types
from dataclasses import dataclass, fields, replace
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from recsys_book.data.splits import Split
from recsys_book.evaluate import evaluate
from recsys_book.metrics import parse_metric
from recsys_book.models.base import ClosedForm, negatives_group, training_contract
from recsys_book.nn import check_context_ids
from recsys_book.stopping import EarlyStopping
from recsys_book.utils import (
    get_device,
    is_whole_number,
    seed_everything,
    torch_generator,
    trusted_ids,
)

# ---- pairwise losses ----------------------------------------------------------------


def bpr_loss(pos: torch.Tensor, neg: torch.Tensor, reduce: str = "mean") -> torch.Tensor:
    """BPR (Rendle et al. 2009): -log sigma(s_pos - s_neg), averaged over the batch.

    pos (B,), neg (B, n). ``reduce``: ``"mean"`` over the n negatives, or ``"max"`` (only the
    hardest negative, as in the SDMR authors' code)."""
    if reduce == "max":
        neg = neg.max(dim=1, keepdim=True).values
    return -F.logsigmoid(pos[:, None] - neg).mean()


def hinge_loss(
    pos: torch.Tensor, neg: torch.Tensor, margin: float = 0.5, reduce: str = "mean"
) -> torch.Tensor:
    """Hinge with a margin: max(0, margin - s_pos + s_neg). For distance models (score =
    -d) this is CML's max(0, m + d(u, i+) - d(u, i-))."""
    if reduce == "max":
        neg = neg.max(dim=1, keepdim=True).values
    return F.relu(margin - pos[:, None] + neg).mean()


def make_loss(loss, margin: float = 0.5, neg_reduce: str = "mean") -> Callable:
    if callable(loss):
        return loss
    if loss == "bpr":
        return lambda p, n: bpr_loss(p, n, neg_reduce)
    if loss == "hinge":
        return lambda p, n: hinge_loss(p, n, margin, neg_reduce)
    raise ValueError(f"loss must be 'bpr', 'hinge' or a callable(pos, neg), got {loss!r}")


# ---- negative sampling ----------------------------------------------------------------


class NegativeSampler:
    """Uniform negatives per row, excluding the row's group's training items, on a device.

    Membership is looked up in a dense boolean (groups x items) table when it is small
    (up to ``dense_limit`` cells: 1.6 M on ML-100k, one gather per lookup), else by binary
    search in the sorted (group * n_items + item) keys."""

    def __init__(
        self,
        groups: torch.Tensor,
        items: torch.Tensor,
        n_items: int,
        device,
        dense_limit: int = 50_000_000,
    ):
        self.n_items = int(n_items)
        self.device = device
        self.keys = torch.unique(
            groups.to(device).long() * self.n_items + items.to(device).long()
        )  # sorted
        counts = torch.bincount(self.keys // self.n_items)
        if counts.numel() and int(counts.max()) >= self.n_items:
            raise ValueError(
                "a user (or playlist) has interacted with every item: no negative can be sampled for it."
            )
        n_groups = int(counts.numel())
        self.table = None
        if n_groups * self.n_items <= dense_limit:
            self.table = torch.zeros(n_groups * self.n_items, dtype=torch.bool, device=device)
            self.table[self.keys] = True

    def contains(self, groups: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        q = groups * self.n_items + items
        if self.table is not None:
            return self.table[q]
        idx = torch.searchsorted(self.keys, q).clamp(max=self.keys.numel() - 1)
        return self.keys[idx] == q

    def sample(self, groups: torch.Tensor, n: int, gen: torch.Generator) -> torch.Tensor:
        """(len(groups), n) negatives; resampled until none is a training item of its group."""
        g = groups[:, None].expand(-1, n)
        neg = torch.randint(0, self.n_items, g.shape, device=self.device, generator=gen)
        bad = self.contains(g, neg)
        for _ in range(100):
            if not bad.any():
                return neg
            neg[bad] = torch.randint(
                0, self.n_items, (int(bad.sum()),), device=self.device, generator=gen
            )
            bad = self.contains(g, neg)
        if bad.any():  # pragma: no cover - only for groups that hold nearly every item
            raise RuntimeError(
                "negative sampling did not converge: some users hold almost every item."
            )
        return neg


# ---- the loop -------------------------------------------------------------------------


def make_optimizer(params, optimizer: str, lr: float, weight_decay: float):
    opts = {
        "adam": torch.optim.Adam,
        "adagrad": torch.optim.Adagrad,
        "sgd": torch.optim.SGD,
        "adamw": torch.optim.AdamW,
    }
    if optimizer not in opts:
        raise ValueError(f"optimizer must be one of {sorted(opts)}, got {optimizer!r}")
    kwargs = {}
    if optimizer in ("adam", "adamw") and _FUSED_OK:
        # the fused kernel: one call per step instead of ~10 small ops per tensor (the same
        # Adam update; about 1.7x faster steps on small embedding models on CPU)
        kwargs["fused"] = True
    return opts[optimizer](params, lr=lr, weight_decay=weight_decay, **kwargs)


def _accepts(fn, name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return False


def _fused_ok() -> bool:
    try:
        p = torch.nn.Parameter(torch.zeros(1))
        p.grad = torch.zeros(1)
        torch.optim.Adam([p], fused=True).step()
        return True
    except (RuntimeError, TypeError):  # pragma: no cover - older torch / unsupported device
        return False


_FUSED_OK = _fused_ok()


_STEP_CODES: dict = {}


def _own_code(fn: Callable, key) -> Callable:
    """``fn`` with a code object shared only by fits with the same ``key`` (the model's
    class and parameter shapes, the loss settings, the compile options). torch.compile keeps
    its compiled graphs per code object, and a function defined inside ``fit`` has the same
    code in every call: a grid over architectures or loss settings would pile its guards
    onto one cache until its recompile limit (8) sent every later fit back to eager steps,
    silently. Fits with the same key reuse the compiled graphs (the weights are inputs)."""
    code = _STEP_CODES.get(key)
    if code is None:
        code = _STEP_CODES[key] = fn.__code__.replace(co_name=f"{fn.__name__}_{len(_STEP_CODES)}")
    return types.FunctionType(code, fn.__globals__, code.co_name, fn.__defaults__, fn.__closure__)


THREADS_ENV = "RECSYS_BOOK_THREADS"
#: an epoch whose mean loss is this many times the loss before the first step stops ``fit``
#: (diverged: a too large learning rate sends BPR from 0.69 to 1e12 within an epoch)
DIVERGED = 1e3


def default_cpu_threads() -> int | None:
    """The one place the thread count of training is chosen: ``RECSYS_BOOK_THREADS`` when
    set (CI and shared machines pin it there), else ``None`` = leave torch's setting (by
    default one thread per core). A malformed value is an error, not ignored.

    On a machine whose cores are shared with other busy jobs, set it to 1 (and
    ``OMP_NUM_THREADS=1`` for the ops outside ``fit``): with more runnable threads than
    cores, every multi-threaded op waits for a descheduled thread. Measured on 2 cores with
    ~8 runnable processes per core: an MF-BPR epoch took 56 s with 2 threads, 2.4 s with 1."""
    raw = os.environ.get(THREADS_ENV, "").strip()
    if not raw:
        return None
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"{THREADS_ENV}={raw!r}: set it to a positive integer or unset it.")
    return n


@dataclass(frozen=True)
class TrainingOptions:
    """How a gradient model is trained: :func:`fit`'s settings that are not the model's own
    (the model declares its loss, margin, negatives' reduction and whose items a negative
    avoids; ``fit``'s keywords override those for one run).

    ``epochs`` (the cap), ``batch_size``, ``lr``, ``optimizer`` ("adam", "adamw", "adagrad", "sgd"),
    ``weight_decay``; ``n_negatives`` sampled per positive; early stopping: ``valid_metric``
    scored on ``split.valid`` after every epoch (``None``: no validation, last weights kept),
    ``patience`` epochs without a better score stop the run (``None``: never) and the best
    weights are restored; ``validate_start`` scores the start too, as epoch 0 (a warm start
    whose training only hurts keeps its start); ``seed``; ``drop_last`` skips each epoch's
    shorter last batch (static shapes for ``compile``).

        opts = TrainingOptions(epochs=50, lr=5e-3, n_negatives=4, patience=5)
        fit(model, split, opts)                 # or fit(model, split, epochs=50, lr=5e-3, ...)
        fit(model, split, opts, seed=1)         # keywords override the options for one run
    """

    epochs: int = 20
    batch_size: int = 1024
    lr: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    n_negatives: int = 1
    valid_metric: str | None = "NDCG@10"
    patience: int | None = None
    validate_start: bool = False
    seed: int = 0
    drop_last: bool = False

    def __post_init__(self):
        for name in ("epochs", "batch_size", "n_negatives"):
            v = getattr(self, name)
            if not is_whole_number(v):
                raise TypeError(f"{name} must be a whole number, got {v!r}")
            if v < 1:
                raise ValueError(f"{name} must be >= 1, got {v}")
        lr = self.lr
        if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating)) or not (
            math.isfinite(lr) and lr > 0
        ):
            raise ValueError(f"lr must be a positive finite number, got {lr!r}")
        if self.valid_metric:
            try:
                parse_metric(self.valid_metric)
            except ValueError as exc:
                raise ValueError(f"valid_metric: {exc}") from None

    @classmethod
    def of(cls, options: "TrainingOptions | None" = None, **settings) -> "TrainingOptions":
        """``options`` (default: the defaults) with ``settings`` replacing its fields; an
        unknown setting is an error that lists the known ones."""
        if options is not None and not isinstance(options, cls):
            raise TypeError(f"options must be a TrainingOptions, got {type(options).__name__}")
        known = {f.name for f in fields(cls)}
        bad = sorted(set(settings) - known)
        if bad:
            raise TypeError(
                f"fit() got unknown setting(s) {bad}. Training settings: {sorted(known)}; the "
                "model's declarations are overridden with loss=, margin=, neg_reduce=, reg=, "
                "exclude_by=; the run with device=, progress=, callbacks=, adversary=, "
                "train_inputs=, params=, cpu_threads=, compile=."
            )
        return replace(options or cls(), **settings)


def fit(
    model: torch.nn.Module,
    split: Split,
    options: TrainingOptions | None = None,
    *,
    loss=None,
    margin: float | None = None,
    neg_reduce: str | None = None,
    reg: float = 0.0,
    exclude_by: str | None = None,
    device="auto",
    progress: bool = True,
    callbacks: Iterable[Callable] = (),
    adversary=None,
    train_inputs: dict[str, torch.Tensor] | None = None,
    params=None,
    cpu_threads: int | None = None,
    compile: bool | dict = False,
    **settings,
) -> pd.DataFrame:
    """Train ``model`` on ``split.train`` and return the per-epoch history (see module doc).

    How long and how: ``options`` (:class:`TrainingOptions`) and/or its fields as keywords
    (``epochs``, ``batch_size``, ``lr``, ``optimizer``, ``weight_decay``, ``n_negatives``,
    ``valid_metric``, ``patience``, ``validate_start``, ``seed``, ``drop_last``); a keyword
    replaces the options' field for this run.

    ``loss``, ``margin``, ``neg_reduce``: ``None`` (the default) uses what the model declares
    (:mod:`recsys_book.models.base`: ``model.loss``, ``model.margin``, ``model.neg_reduce``);
    a value overrides the declaration for this run. ``reg > 0`` needs the model's
    ``regularization`` hook (an error otherwise, not silently ignored).

    ``params``: the parameters to optimise (default: all that require grad; pass a subset to
    keep pre-trained parts frozen). ``valid_metric=None`` skips validation (no early
    stopping, last weights kept). ``validate_start=True`` also scores the model before the
    first step, as epoch 0: a warm-started model whose training only hurts keeps its start
    (``best_epoch`` 0) instead of its first epoch's weights. ``cpu_threads``: torch threads while training on CPU;
    ``None`` (default) takes :func:`default_cpu_threads` (the ``RECSYS_BOOK_THREADS``
    environment variable when set, e.g. by CI on shared runners, else torch's own setting,
    which is the machine's cores). The previous setting is restored afterwards.

    ``compile``: ``True`` compiles the step's forward and loss with ``torch.compile`` (its
    defaults: Inductor, which needs a C++ compiler on the CPU), a dict passes
    ``torch.compile``'s keyword arguments (``{"mode": "reduce-overhead"}``: CUDA graphs on a
    GPU; ``{"backend": "aot_eager"}``: graph capture without code generation). Shapes are
    static (``dynamic=False`` unless given): the shorter last batch compiles a second
    graph, or none with ``drop_last=True``. The first steps pay the compilation (seconds);
    the optimiser step, ``post_step`` and validation run as usual. Not with an
    ``adversary`` (its perturbed objective is a second, eager graph).
    ``drop_last``: skip the epoch's last, shorter batch (its rows are reshuffled next epoch).

    Same seed, same numbers, on the same machine, device and thread count: a run on 2
    threads repeats itself bit for bit (``tests/test_contract.py`` checks every model), but
    differs from a 1-thread run in the last digits (a float sum split over threads adds in
    another order), and a CUDA run or another processor differs again. Such differences grow
    over epochs into another trajectory: another random stream, on which any claim a chapter
    asserts must hold too (``python -m recsys_book.check chapters`` runs the chapters on 5).

    Where the model lives afterwards: on ``device`` (``"auto"``: CUDA when present); fit
    does not move it back. Its methods still take CPU inputs (the model contract's device
    rule) and answer on that device.
    """
    o = TrainingOptions.of(options, **settings)
    epochs, batch_size, lr, n_negatives, seed = o.epochs, o.batch_size, o.lr, o.n_negatives, o.seed
    valid_metric, patience, drop_last = o.valid_metric, o.patience, o.drop_last
    if isinstance(model, ClosedForm):
        raise TypeError(
            f"{type(model).__name__} is fitted in closed form (or by ALS/ADMM): call "
            f"model.fit(split), not train.fit(model, split)."
        )
    contract = training_contract(model)
    n_u, n_i = getattr(model, "n_users", None), getattr(model, "n_items", None)
    # items: the same catalogue; users: every training user has a row (a playlist model's
    # "users" may be its playlists, more than the split's users)
    if n_u is not None and n_i is not None and (
        n_i != split.n_items or int(split.train.df["user"].max()) >= n_u
    ):
        raise ValueError(
            f"{type(model).__name__} was built for {n_u} users x {n_i} items, but the split "
            f"has {split.n_users} users x {split.n_items} items: build it from the split "
            "(Model(split.n_users, split.n_items, ...))."
        )
    if reg < 0:
        raise ValueError(f"reg must be >= 0, got {reg}")
    if reg > 0 and contract["regularization"] is None:
        raise ValueError(
            f"reg={reg} was given but {type(model).__name__} has no regularization(users, items, "
            "**inputs) hook: the term would be silently dropped. Use weight_decay=..., or reg=0."
        )
    seed_everything(seed)
    dev = get_device(device)
    model.to(dev)
    gen = torch_generator(seed, dev)
    loss_fn = make_loss(
        contract["loss"] if loss is None else loss,
        contract["margin"] if margin is None else margin,
        contract["neg_reduce"] if neg_reduce is None else neg_reduce,
    )
    train = split.train
    exclude_by = negatives_group(model, train.df, exclude_by)
    users = torch.tensor(train.df["user"].to_numpy(), dtype=torch.long, device=dev)
    items = torch.tensor(train.df["item"].to_numpy(), dtype=torch.long, device=dev)
    groups = torch.tensor(train.df[exclude_by].to_numpy(), dtype=torch.long, device=dev)
    inputs = {
        k: v.to(dev)
        for k, v in (split.train_inputs if train_inputs is None else train_inputs).items()
    }
    for k, v in inputs.items():
        if v.shape[0] != len(users):
            raise ValueError(
                f"train input {k!r} has {v.shape[0]} rows but the training data has {len(users)}"
            )
    check_context_ids(inputs, train.n_items, "train")
    sampler = NegativeSampler(groups, items, train.n_items, dev)
    params = [p for p in (model.parameters() if params is None else params) if p.requires_grad]
    if not params:
        raise ValueError(
            "the model has no trainable parameters; closed-form models have their own .fit()."
        )
    opt = make_optimizer(params, o.optimizer, lr, o.weight_decay)
    has_reg = reg > 0
    post_step = contract["post_step"]
    adv_takes_clean = adversary is not None and _accepts(adversary.loss, "clean")
    if compile is not False and compile is not True and not isinstance(compile, dict):
        raise TypeError(f"compile must be True, False or a dict of torch.compile options, got {compile!r}")
    if compile is not False and adversary is not None:
        raise ValueError(
            "compile= with an adversary is not supported: the adversarial term evaluates the "
            "objective under perturbed weights eagerly. Train with compile=False."
        )
    metric = parse_metric(valid_metric) if valid_metric else None

    def objective(m, batch) -> torch.Tensor:
        scores = m.score(batch["users"], batch["items"], **batch["inputs"])  # (B, 1+n)
        out = loss_fn(scores[:, 0], scores[:, 1:])
        if has_reg:
            out = out + reg * m.regularization(batch["users"], batch["items"], **batch["inputs"])
        return out

    def batch_loss(batch: dict) -> torch.Tensor:  # the step torch.compile sees (compile=...)
        return objective(model, batch)

    if compile is not False:
        opts = {"dynamic": False, **({} if compile is True else compile)}
        key = (
            type(model).__module__, type(model).__qualname__,
            tuple((k, tuple(v.shape), v.dtype) for k, v in model.state_dict().items()),
            repr((loss, margin, neg_reduce, contract["loss"], contract["margin"], contract["neg_reduce"])),
            reg, repr(sorted(opts.items())), str(dev),
        )  # fmt: skip
        batch_loss = torch.compile(_own_code(batch_loss, key), **opts)

    def validate(row: dict) -> float:
        """Score the model on the validation rows into ``row``; returns the stopping metric."""
        res = evaluate(model, split.valid, ks=(metric[1],), metrics=("hr", "ndcg", metric[0]))
        row.update({f"valid_{k}": v for k, v in res.items()})
        return res[metric[2]]

    rows: list[dict] = []
    stopper = EarlyStopping(patience)
    n = len(users)
    if drop_last and n < batch_size:
        raise ValueError(
            f"drop_last=True with batch_size={batch_size} > {n} training rows would train on "
            "nothing: use a smaller batch_size or drop_last=False."
        )
    n_used = n - n % batch_size if drop_last else n  # rows per epoch that reach a step
    from tqdm.auto import tqdm

    # see ``cpu_threads`` in the docstring; restored in the ``finally`` below
    threads = torch.get_num_threads()
    cpu_threads = default_cpu_threads() if cpu_threads is None else int(cpu_threads)
    if dev.type == "cpu" and cpu_threads is not None:
        if cpu_threads < 1:
            raise ValueError(f"cpu_threads must be >= 1 or None, got {cpu_threads}")
        torch.set_num_threads(cpu_threads)
    bar = tqdm(range(1, epochs + 1), desc=type(model).__name__, disable=not progress, leave=False)
    first_loss = None
    try:
        if o.validate_start and metric is not None:  # epoch 0: the start, before any step
            model.eval()
            row = {"epoch": 0, "loss": math.nan, "seconds": 0.0}
            stopper.update(validate(row), model)
            rows.append(row)
        for epoch in bar:
            t0 = time.perf_counter()
            model.train()
            negs = sampler.sample(groups, n_negatives, gen)  # (n, n_neg)
            order = torch.randperm(n, device=dev, generator=gen)
            # gather the epoch's rows once, in shuffled order: batches are then plain slices
            ep_users = users[order]  # (n,)
            ep_items = torch.cat([items[order, None], negs[order]], dim=1)  # (n, 1+n_neg)
            ep_inputs = {k: v[order] for k, v in inputs.items()}
            total = torch.zeros((), device=dev)
            for s in range(0, n_used, batch_size):
                batch = {
                    "users": ep_users[s : s + batch_size],
                    "items": ep_items[s : s + batch_size],  # (B, 1+n)
                    "inputs": {k: v[s : s + batch_size] for k, v in ep_inputs.items()},
                }
                with trusted_ids():  # sizes checked above: no id reduction per step
                    out = batch_loss(batch)
                    if first_loss is None:  # the untrained loss: one synchronisation per fit
                        first_loss = float(out.detach())
                    if adversary is not None:
                        # the clean loss is handed over when the hook takes it (no recomputation)
                        extra = {"clean": out} if adv_takes_clean else {}
                        out = out + adversary.loss(model, batch, objective, **extra)
                opt.zero_grad(set_to_none=True)
                out.backward()
                opt.step()
                if post_step is not None:
                    post_step()
                total += out.detach() * batch["users"].shape[0]  # no sync per batch
            row = {"epoch": epoch, "loss": float(total) / n_used, "seconds": time.perf_counter() - t0}
            if not math.isfinite(row["loss"]):
                raise FloatingPointError(
                    f"{type(model).__name__}: the training loss became {row['loss']} at epoch "
                    f"{epoch}: training diverged; use a smaller learning rate (lr={lr}) or a "
                    "larger reg."
                )
            if row["loss"] > DIVERGED * max(abs(first_loss), 1e-3):
                raise FloatingPointError(
                    f"{type(model).__name__}: the training loss rose from {first_loss:.4g} "
                    f"(before the first step) to a mean of {row['loss']:.4g} in epoch {epoch}: "
                    f"training diverged; use a smaller learning rate (lr={lr})."
                )
            if metric is not None:
                score = validate(row)
                stop = stopper.update(score, model)
                bar.set_postfix(loss=f"{row['loss']:.4f}", **{valid_metric: f"{score:.4f}"})
            rows.append(row)
            history = pd.DataFrame(rows)
            for cb in callbacks:
                cb(model, history)
            if metric is not None and stop:
                break
    finally:
        torch.set_num_threads(threads)
    stopper.restore(model)
    history = pd.DataFrame(rows)
    history.attrs["best_epoch"] = (
        int(history.loc[history[f"valid_{metric[2]}"].idxmax(), "epoch"]) if metric else epochs
    )
    history.attrs["best_valid"] = stopper.best if metric else None
    model.eval()
    return history


def pretrain_neumf(
    split,
    dim: int = 32,
    layers: Sequence[int] = (64, 32, 16),
    alpha: float = 0.5,
    epochs: int = 20,
    gmf_kwargs: dict | None = None,
    mlp_kwargs: dict | None = None,
    neumf_kwargs: dict | None = None,
    **fit_kwargs,
):
    """NeuMF++ (NCF Section 3.4.1): train GMF and MLP with :func:`fit`,
    fuse them with :meth:`NeuMF.from_pretrained`, then fine-tune the fused model.

    ``fit_kwargs`` go to every ``fit`` call; ``gmf_kwargs``/``mlp_kwargs``/``neumf_kwargs``
    override them per stage (NCF fine-tunes with plain SGD at a small learning rate; we
    keep Adam with a 10x smaller lr by default). Returns ``(neumf, {"gmf": history,
    "mlp": history, "neumf": history})``."""
    from recsys_book.models.baselines import GMF, MLP, NeuMF

    n_users, n_items = split.train.n_users, split.train.n_items
    base = dict(epochs=epochs, **fit_kwargs)
    gmf = GMF(n_users, n_items, dim)
    h_gmf = fit(gmf, split, **{**base, **(gmf_kwargs or {})})
    mlp = MLP(n_users, n_items, layers)
    h_mlp = fit(mlp, split, **{**base, **(mlp_kwargs or {})})
    model = NeuMF.from_pretrained(gmf, mlp, alpha)
    tune = {**base, "lr": base.get("lr", 1e-3) / 10}
    h_neu = fit(model, split, **{**tune, **(neumf_kwargs or {})})
    return model, {"gmf": h_gmf, "mlp": h_mlp, "neumf": h_neu}
