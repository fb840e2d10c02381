"""Adversarial Personalized Ranking (APR) with a flexible noise magnitude.

Dissertation Ch. 4.3.3, Eq. (4.31)-(4.33) (AMDR, AMASS, AMASR), after He et al., *Adversarial
Personalized Ranking for Recommendation*, SIGIR 2018 (the fixed-noise APR).

Training minimises  L(Theta) + lambda_delta * L(Theta + delta)                  (Eq. 4.32)
with the worst-case noise of the fast gradient method, recomputed every batch:

    flexible (Eq. 4.33):  delta = eps * std(Theta_hat) * g / ||g||
    fixed (APR paper):    delta = eps * g / ||g||,       g = dL/dTheta at Theta_hat

Readings (as in the MASR authors' code): ``g`` is normalised **per row** of a 2-D
parameter (one embedding vector per user / song / playlist: each row moves by exactly
``eps * std``), and as a whole for a 1-D parameter (a metric vector B); ``std`` is the
standard deviation of the whole tensor; rows with a zero gradient (not in the batch) are
not moved; delta is a constant (no gradient flows through it), Theta gets the gradient of
both terms. ``per_row=False`` normalises over the whole tensor instead.

Use it through the training loop's hook::

    fit(model, split, adversary=APR(eps=0.5, noise="flexible"))

``APR.loss(model, batch, objective, clean)`` costs one extra backward (the gradient g, from
the clean loss ``fit`` hands over) and one extra forward (the loss under Theta + delta).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import torch
from torch import nn
from torch.func import functional_call

from recsys_book.models.base import negatives_group

NOISES = ("flexible", "fixed")


def fast_gradient_noise(
    grad: torch.Tensor,
    param: torch.Tensor,
    eps: float,
    noise: str = "flexible",
    per_row: bool = True,
) -> torch.Tensor:
    """Eq. (4.33): delta = eps * [std(param)] * grad / ||grad||, same shape as ``param``.

    ``per_row``: normalise each row of a 2-D tensor (1-D tensors as a whole). Rows whose
    gradient is zero get zero noise."""
    if noise not in NOISES:
        raise ValueError(f"noise must be one of {NOISES}, got {noise!r}")
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    g = grad.detach()
    if per_row and g.dim() >= 2:
        norm = g.flatten(1).norm(dim=1).reshape(-1, *([1] * (g.dim() - 1)))
    else:
        norm = g.norm()
    unit = torch.where(norm > 0, g / norm.clamp_min(1e-30), torch.zeros_like(g))
    scale = eps * (param.detach().std() if noise == "flexible" else 1.0)
    return scale * unit


def _resolve_targets(model: nn.Module, targets) -> dict[str, nn.Parameter]:
    """Names -> parameters to perturb: "embeddings" (every nn.Embedding table), "all" (every
    trainable parameter) or an iterable of parameter names."""
    params = dict(model.named_parameters())
    if targets == "embeddings":
        out = {}
        for mname, mod in model.named_modules():
            if isinstance(mod, nn.Embedding) and mod.weight.requires_grad:
                out[f"{mname}.weight" if mname else "weight"] = mod.weight
    elif targets == "all":
        out = {n: p for n, p in params.items() if p.requires_grad}
    else:
        if isinstance(targets, str) or not isinstance(targets, Iterable):
            raise ValueError(
                f"targets must be 'embeddings', 'all' or a list of parameter names, got {targets!r}"
            )
        names = list(targets)
        missing = [n for n in names if n not in params]
        if missing:
            raise ValueError(f"unknown parameter name(s) {missing}; the model has {sorted(params)}")
        out = {n: params[n] for n in names}
    if not out:
        raise ValueError(
            f"targets={targets!r} selects no trainable parameter of {type(model).__name__}."
        )
    return out


class _Call(nn.Module):
    """Wraps objective(model, batch) as a forward so that functional_call can swap weights."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, objective, batch):
        return objective(self.model, batch)


def perturbed_objective(
    model: nn.Module, deltas: dict[str, torch.Tensor], objective, batch
) -> torch.Tensor:
    """objective(model, batch) evaluated at Theta + delta (a second forward pass); gradients
    flow to Theta, delta is a constant."""
    params = dict(model.named_parameters())
    swapped = {f"model.{n}": params[n] + d for n, d in deltas.items()}
    return functional_call(_Call(model), swapped, (objective, batch), strict=False)


class APR:
    """The adversarial term of Eq. (4.32) for :func:`recsys_book.train.fit` (``adversary=``).

    eps: noise magnitude; noise: "flexible" (eps * std(theta), the dissertation) or "fixed"
    (eps, the APR paper); lam: lambda_delta; targets: "embeddings", "all" or names.
    After each call ``last_deltas`` holds the noise used (for plots of its size)."""

    def __init__(
        self,
        eps: float = 0.5,
        noise: str = "flexible",
        lam: float = 1.0,
        targets="embeddings",
        per_row: bool = True,
    ):
        if noise not in NOISES:
            raise ValueError(f"noise must be one of {NOISES}, got {noise!r}")
        if eps < 0 or lam < 0:
            raise ValueError(f"eps and lam must be >= 0, got eps={eps}, lam={lam}")
        self.eps, self.noise, self.lam, self.targets, self.per_row = (
            float(eps),
            noise,
            float(lam),
            targets,
            per_row,
        )
        self.last_deltas: dict[str, torch.Tensor] = {}

    def deltas(
        self, model: nn.Module, batch, objective, clean: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """Step 2 of the min-max: delta maximising the loss at fixed Theta_hat (Eq. 4.31, 4.33).

        ``clean``: the clean loss L(Theta_hat) already computed on this batch (its graph is
        kept for the caller's backward); ``None`` computes it here (one more forward)."""
        targets = _resolve_targets(model, self.targets)
        retain = clean is not None
        if clean is None:
            clean = objective(model, batch)
        grads = torch.autograd.grad(
            clean, list(targets.values()), allow_unused=True, retain_graph=retain
        )
        return {
            name: self._delta(torch.zeros_like(p) if g is None else g, p)
            for (name, p), g in zip(targets.items(), grads)
        }

    def _delta(self, g: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        """The noise of one parameter table from its loss gradient ``g`` (Eq. 4.31/4.33)."""
        return fast_gradient_noise(g, p, self.eps, self.noise, self.per_row)

    def loss(
        self, model: nn.Module, batch, objective, clean: torch.Tensor | None = None
    ) -> torch.Tensor:
        """lambda_delta * L(Theta + delta) (Step 3: added to the clean loss by the loop).

        ``fit`` passes ``clean`` (its own clean loss on the batch) so that the gradient g
        reuses that forward pass: two forward passes per batch, not three."""
        deltas = self.deltas(model, batch, objective, clean)
        self.last_deltas = deltas
        return self.lam * perturbed_objective(model, deltas, objective, batch)

    def __repr__(self) -> str:
        return (
            f"APR(eps={self.eps}, noise={self.noise!r}, lam={self.lam}, targets={self.targets!r})"
        )


# ---- QABPR: the quaternion adversarial term (Eq. 5.39-5.41) -------------------------------------


class QABPR(APR):
    """lambda_adv * L_BPR(E + delta*) (Eq. 5.41) with delta* from the fast gradient method
    (Eq. 5.40): delta = eps * g / ||g||, g = dL_BPR/dE at the current weights.

    ``per="row"`` (default): each embedding row (one user's or item's quaternion embedding)
    is normalised on its own and moves by eps; ``"component"``: each of its four components
    (r, a, b, c) moves by eps / 2 (so the row still moves by eps); ``"table"``: one norm for
    the whole table (Eq. 5.40 read literally). Use: ``fit(model, split, adversary=QABPR(1.0))``.
    """

    PERS = ("row", "component", "table")

    def __init__(self, eps: float = 1.0, lam: float = 1.0, targets="embeddings", per: str = "row"):
        if per not in self.PERS:
            raise ValueError(f"per must be one of {self.PERS}, got {per!r}")
        super().__init__(eps=eps, noise="fixed", lam=lam, targets=targets, per_row=per != "table")
        self.per = per

    def _delta(self, g: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        if self.per != "component" or g.dim() != 2 or g.shape[1] % 4:
            return super()._delta(g, p)
        parts = g.unflatten(1, (4, g.shape[1] // 4))  # (rows, 4, d/4): r, a, b, c
        nrm = parts.norm(dim=-1, keepdim=True)
        unit = torch.where(nrm > 0, parts / nrm.clamp_min(1e-30), torch.zeros_like(parts))
        return (self.eps / 2 * unit).flatten(1)

    def __repr__(self) -> str:
        return f"QABPR(eps={self.eps}, lam={self.lam}, per={self.per!r}, targets={self.targets!r})"


# ---- robustness: accuracy under an adversarial perturbation of the embeddings -----------------


def _bpr_objective(m, batch):
    scores = m.score(batch["users"], batch["items"], **batch["inputs"])
    return -torch.nn.functional.logsigmoid(scores[:, :1] - scores[:, 1:]).mean()


def attack_gradients(
    model: nn.Module,
    split,
    targets="embeddings",
    exclude_by: str | None = None,
    batch_size: int = 1024,
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """dL_BPR/dTheta over all training rows of ``split`` (one sampled negative each, seeded):
    the direction of the fast-gradient attack (as in the APR paper's robustness study)."""
    from recsys_book.train import NegativeSampler
    from recsys_book.utils import torch_generator

    dev = next(model.parameters()).device
    train = split.train
    exclude_by = negatives_group(model, train.df, exclude_by)
    users = torch.tensor(train.df["user"].to_numpy(), device=dev)
    items = torch.tensor(train.df["item"].to_numpy(), device=dev)
    groups = torch.tensor(train.df[exclude_by].to_numpy(), device=dev)
    negs = NegativeSampler(groups, items, train.n_items, dev).sample(
        groups, 1, torch_generator(seed, dev)
    )
    inputs = {k: v.to(dev) for k, v in split.train_inputs.items()}
    tg = _resolve_targets(model, targets)
    acc = {n: torch.zeros_like(p) for n, p in tg.items()}
    was = model.training
    model.eval()
    n = len(users)
    for s in range(0, n, batch_size):
        sl = slice(s, s + batch_size)
        batch = {
            "users": users[sl],
            "items": torch.cat([items[sl, None], negs[sl]], 1),
            "inputs": {k: v[sl] for k, v in inputs.items()},
        }
        loss = _bpr_objective(model, batch) * (users[sl].shape[0] / n)
        grads = torch.autograd.grad(loss, list(tg.values()), allow_unused=True)
        for name, g in zip(tg, grads):
            if g is not None:
                acc[name] += g
    model.train(was)
    return acc


@torch.no_grad()
def evaluate_perturbed(
    model: nn.Module, evalset, deltas: dict[str, torch.Tensor], **eval_kw
) -> dict:
    """Metrics of ``model`` on ``evalset`` with Theta + delta; the weights are restored after."""
    from recsys_book.evaluate import evaluate

    params = dict(model.named_parameters())
    saved = {n: params[n].detach().clone() for n in deltas}
    try:
        for n, d in deltas.items():
            params[n].add_(d)
        return evaluate(model, evalset, **eval_kw)
    finally:
        for n, v in saved.items():
            params[n].copy_(v)


def robustness_curve(
    model: nn.Module,
    split,
    eps_values=(0.0, 0.25, 0.5, 1.0, 2.0),
    noise: str = "flexible",
    targets="embeddings",
    evalset=None,
    ks=(10,),
    seed: int = 0,
) -> pd.DataFrame:
    """HR/NDCG on ``split.test`` (or ``evalset``) under the fast-gradient attack of size eps
    (flexible: eps * std per table; fixed: eps), one row per eps. The attack direction is the
    training-loss gradient at the trained weights (computed once)."""
    grads = attack_gradients(model, split, targets=targets, seed=seed)
    params = dict(model.named_parameters())
    rows = []
    for eps in eps_values:
        deltas = {n: fast_gradient_noise(g, params[n], eps, noise) for n, g in grads.items()}
        res = evaluate_perturbed(
            model, evalset if evalset is not None else split.test, deltas, ks=ks
        )
        rows.append({"eps": float(eps), "noise": noise, **res})
    return pd.DataFrame(rows)


def perturbation_sizes(deltas: dict[str, torch.Tensor]) -> pd.DataFrame:
    """One row per perturbed row (embedding vector) with its L2 norm, zero rows dropped."""
    frames = []
    for name, d in deltas.items():
        norms = d.flatten(1).norm(dim=1) if d.dim() >= 2 else d.norm().reshape(1)
        norms = norms[norms > 0].detach().cpu().numpy()
        frames.append(pd.DataFrame({"parameter": name, "norm": norms}))
    return (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["parameter", "norm"])
    )
