"""Chapter 06 (LRML, Tay et al. WWW 2018) exercises: checkers.

* E1 :func:`check_attention_entropy`  ``attention_entropy(p, q, keys, key_scale) -> H (B,)``:
  the entropy (nats) of each pair's attention over the N slots, a = softmax(κ K (p ⊙ q)),
  H = -Σ_n a_n log a_n: log N when the attention is uniform, 0 when one slot takes it all
  (section 5's "near uniform" made a number, with LRML's key scale κ).
* E2 :func:`check_hinge`  ``hinge(p, q_pos, q_neg, keys, memory, margin, reuse) -> scalar``:
  LRML's mean hinge max(0, λ + d(u, i⁺) − d(u, i⁻)) over a batch, p (B, d), q_pos (B, d),
  q_neg (B, n, d), with the negative's relation recomputed (``reuse=False``) or taken from
  the positive pair (``reuse=True``).
* E3 :func:`check_shift`  ``shift(item_weight, r) -> item_weight'``: with one memory slot LRML
  is CML with shifted items; return the item embeddings that make CML's scores equal LRML's.

Each checker compares the learner's function with :class:`recsys_book.models.lrml.LRML` on
random and edge-case inputs, raises ``AssertionError`` naming the failed case with expected
vs got, raises :class:`recsys_book.exercises.NotAnswered` while the function is a stub
(returns None) and returns True when every case passes (the convention of
:mod:`recsys_book.exercises`; a notebook prints the verdict with ``try_it``). They use no
state of the notebook.
"""

from __future__ import annotations

from typing import Callable

import torch

from recsys_book.exercises import answer, expect_tensor, fmt
from recsys_book.models.baselines import CML
from recsys_book.models.lrml import LRML
from recsys_book.train import hinge_loss


def _rand(shape, g, scale=1.0):
    return torch.randn(*shape, generator=g, dtype=torch.float64) * scale


def _model(keys: torch.Tensor, memory: torch.Tensor, users: torch.Tensor, items: torch.Tensor):
    """An LRML in float64 whose user i is users[i] and item j is items[j]."""
    n, d = keys.shape
    with torch.random.fork_rng(devices=[]):  # the layers' init: leave the learner's stream alone
        m = LRML(users.shape[0], items.shape[0], dim=d, n_memory=n).double()
    with torch.no_grad():
        m.user.weight.copy_(users)  # no clipping: the checkers' inputs are used as given
        m.item.weight.copy_(items)
        m.keys.copy_(keys)
        m.memory.copy_(memory)
    return m.eval()


# ---- E1 ------------------------------------------------------------------------------


def _library_entropy(p, q, keys, key_scale):
    m = _model(keys, torch.zeros_like(keys), p, q)
    m.key_scale = float(key_scale)
    with torch.no_grad():
        a = m.attention_from(p, q)  # (B, N): the library's softmax(κ K (p ⊙ q))
    return torch.special.entr(a).sum(-1)  # -Σ a log a, with 0 log 0 = 0


def _entropy_cases():
    g = torch.Generator().manual_seed(61)
    B, d = 5, 4
    small = (_rand((B, d), g, 0.3), _rand((B, d), g, 0.3))  # unit-ball-sized points: p ⊙ q is small
    keys = _rand((8, d), g)
    yield "p = 0: uniform attention, H = log N", torch.zeros(B, d, dtype=torch.float64), small[1], keys, 1.0
    yield "one slot (N = 1): H = 0", *small, _rand((1, d), g), 1.0
    yield "unit-ball points, κ = 1 (the paper's): close to log N", *small, keys, 1.0
    yield "κ = 100: sharper attention, lower entropy", *small, keys, 100.0
    yield "huge logits: one slot takes all, H = 0 without NaN", _rand((B, d), g), _rand((B, d), g), keys, 1e6


def check_attention_entropy(fn: Callable) -> bool:
    """E1: ``fn(p (B, d), q (B, d), keys (N, d), key_scale) -> H (B,)`` in nats."""
    for case, p, q, keys, kappa in _entropy_cases():
        got = answer(fn, p.clone(), q.clone(), keys.clone(), kappa, name="E1", case=case)
        want = _library_entropy(p, q, keys, kappa)
        expect_tensor("E1", case, got, want, "the entropies (nats)", atol=1e-7)
    return True


# ---- E2 ------------------------------------------------------------------------------


def _library_hinge(p, q_pos, q_neg, keys, memory, margin, reuse):
    B, n, d = q_neg.shape
    items = torch.cat([q_pos[:, None, :], q_neg], 1).reshape(-1, d)  # (B (1 + n), d)
    m = _model(keys, memory, p, items)
    users = torch.arange(B)
    cols = torch.arange(B * (1 + n)).reshape(B, 1 + n)  # positive in column 0
    with torch.no_grad():
        s = m.score(users, cols, reuse=reuse)  # (B, 1 + n), -distance
    return hinge_loss(s[:, 0], s[:, 1:], margin)


def _hinge_cases():
    g = torch.Generator().manual_seed(62)
    B, n, d, N = 6, 3, 4, 5
    base = (_rand((B, d), g, 0.5), _rand((B, d), g, 0.5), _rand((B, n, d), g, 0.5))
    mem = (_rand((N, d), g, 5.0), _rand((N, d), g))
    yield "recomputed relation, margin 0.5", *base, *mem, 0.5, False
    yield "reused relation, margin 0.5", *base, *mem, 0.5, True
    yield "reused relation, margin 2.0", *base, *mem, 2.0, True
    p, qp = base[0], base[0].clone()  # the positive is the user's own point: d+ ~ ||r||^2
    far = base[0][:, None, :] + 10.0  # negatives far away: every hinge term is 0
    yield "far negatives: the hinge is zero", p, qp, far, *mem, 0.5, False
    yield (
        "one negative per positive, recomputed",
        base[0],
        base[1],
        base[2][:, :1],
        *mem,
        1.0,
        False,
    )


def check_hinge(fn: Callable) -> bool:
    """E2: ``fn(p, q_pos, q_neg, keys, memory, margin, reuse) -> scalar`` (mean hinge)."""
    for case, p, qp, qn, keys, memory, margin, reuse in _hinge_cases():
        got = answer(fn, p.clone(), qp.clone(), qn.clone(), keys.clone(), memory.clone(), margin, reuse,
                     name="E2", case=case)  # fmt: skip
        want = _library_hinge(p, qp, qn, keys, memory, margin, reuse)
        try:
            got = torch.as_tensor(got, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError) as e:
            raise AssertionError(
                f"E2: case '{case}': the loss should be a number, got {fmt(got)} ({e})"
            ) from None
        if got.numel() == 1:
            got = got.reshape(())  # a 1-element tensor is the scalar too
        expect_tensor("E2", case, got, want, "the loss (the mean over the batch: a scalar)")
    return True


# ---- E3 ------------------------------------------------------------------------------


def check_shift(fn: Callable) -> bool:
    """E3: ``fn(item_weight (I, d), r (d,)) -> (I, d)``: items for CML such that
    CML.score == LRML.score for an LRML with one memory slot r."""
    g = torch.Generator().manual_seed(63)
    cases = [
        ("random, d = 4", _rand((7, 4), g, 0.3), _rand((9, 4), g, 0.3), _rand((1, 4), g)),
        ("r = 0: nothing to shift", _rand((7, 3), g, 0.3), _rand((9, 3), g, 0.3), torch.zeros(1, 3, dtype=torch.float64)),
        ("large relation", _rand((5, 2), g, 0.3), _rand((6, 2), g, 0.3), _rand((1, 2), g, 8.0)),
    ]  # fmt: skip
    for case, users, items, r in cases:
        got = answer(fn, items.clone(), r[0].clone(), name="E3", case=case)
        lrml = _model(torch.zeros_like(r), r, users, items)
        with torch.random.fork_rng(devices=[]):
            cml = CML(users.shape[0], items.shape[0], dim=items.shape[1], clip=False).double()
        got = torch.as_tensor(got, dtype=torch.float64)
        if got.shape != items.shape:
            raise AssertionError(
                f"case '{case}': expected item weights of shape {tuple(items.shape)}, "
                f"got {tuple(got.shape)}"
            )
        with torch.no_grad():
            cml.user.weight.copy_(users)
            cml.item.weight.copy_(got)
            u = torch.arange(users.shape[0])
            cols = torch.arange(items.shape[0]).expand(users.shape[0], -1)
            expect_tensor("E3", case, cml.score(u, cols), lrml.score(u, cols), "CML's scores (vs LRML's)")
    return True
