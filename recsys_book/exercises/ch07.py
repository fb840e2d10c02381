"""Chapter 07 (quaternion representations, dissertation Ch. 5.3) exercises: checkers.

* E1 :func:`check_commutator`  ``commutator(p, q) -> p (x) q - q (x) p``: how far the Hamilton
  product of Eq. (5.26) is from commuting, on quaternion tensors (..., d) laid out as
  [r, a, b, c] blocks of size d/4, written without a Hamilton product: its real part is 0 and
  its imaginary part twice the cross product of the vector parts (a, b, c) of p and q.
* E2 :func:`check_qlinear_params`  ``qlinear_params(n_in, n_out, bias) -> int``: the number of
  trainable numbers of a quaternion dense layer (n_in -> n_out real features).
* E3 :func:`check_component_softmax`  ``component_softmax(logits, mask) -> alpha``: the
  component-wise softmax of Eq. (5.30) over L items, logits (B, L, 4), mask (B, L) True =
  real item; masked items get 0 and a row with no item gets all zeros (not NaN).

Each checker compares the learner's function with :mod:`recsys_book.models.quaternion` /
:mod:`recsys_book.models.qualse` on random and edge-case inputs, raises ``AssertionError``
naming the failed case with expected vs got, raises :class:`recsys_book.exercises.NotAnswered`
while the function is a stub (returns None) and returns True when every case passes (the
convention of :mod:`recsys_book.exercises`; a notebook prints the verdict with ``try_it``).
They use no state of the notebook.
"""

from __future__ import annotations

from typing import Callable

import torch

from recsys_book.exercises import answer, expect_tensor
from recsys_book.models import quaternion as Q
from recsys_book.nn import masked_softmax


def check_commutator(fn: Callable) -> bool:
    """E1: ``fn(p, q)`` must equal p (x) q - q (x) p (Eq. 5.26 both ways round)."""
    g = torch.Generator().manual_seed(71)
    e = torch.eye(4, dtype=torch.float64)
    v = torch.randn(4, generator=g, dtype=torch.float64)
    cases = [
        ("i, j: i (x) j - j (x) i = 2k", e[1], e[2]),
        ("j, i: the order flips the sign, -2k", e[2], e[1]),
        ("k, i: k (x) i - i (x) k = 2j", e[3], e[1]),
        ("a real quaternion commutes with anything: 0", 3.0 * e[0], v),
        (
            "parallel vector parts commute: 1 + 2i + 4j - k and 5 - i - 2j + 0.5k give 0",
            torch.tensor([1.0, 2.0, 4.0, -1.0], dtype=torch.float64),
            torch.tensor([5.0, -1.0, -2.0, 0.5], dtype=torch.float64),
        ),
        ("one random quaternion pair (d = 4)", *torch.randn(2, 4, generator=g, dtype=torch.float64)),
        (
            "a batch of quaternion vectors, d = 12 (three quaternions per row)",
            *torch.randn(2, 5, 12, generator=g, dtype=torch.float64),
        ),
        (
            "broadcasting: (3, 1, 8) with (1, 4, 8)",
            torch.randn(3, 1, 8, generator=g, dtype=torch.float64),
            torch.randn(1, 4, 8, generator=g, dtype=torch.float64),
        ),
    ]
    for case, p, q in cases:
        got = answer(fn, p.clone(), q.clone(), name="E1", case=case)
        expect_tensor("E1", case, got, Q.hamilton(p, q) - Q.hamilton(q, p))
    return True


def check_qlinear_params(fn: Callable) -> bool:
    """E2: ``fn(n_in, n_out, bias)`` = the parameter count of ``QLinear(n_in, n_out, bias)``."""
    cases = [(4, 4, False), (4, 4, True), (64, 64, False), (32, 128, True), (128, 16, True)]
    for n_in, n_out, bias in cases:
        case = f"n_in={n_in}, n_out={n_out}, bias={bias}"
        want = sum(p.numel() for p in Q.QLinear(n_in, n_out, bias=bias).parameters())
        got = answer(fn, n_in, n_out, bias, name="E2", case=case)
        try:
            count = int(got)
        except (TypeError, ValueError, RuntimeError):  # a tensor of many numbers, a string, ...
            shape = f" of shape {tuple(got.shape)}" if hasattr(got, "shape") else ""
            raise AssertionError(
                f"E2: case '{case}': expected one integer ({want}), got a {type(got).__name__}{shape}"
            ) from None
        if count != want or got != count:
            real = n_in * n_out + (n_out if bias else 0)
            raise AssertionError(
                f"E2: case '{case}': expected {want}, got {got} (the real nn.Linear has {real})"
            )
    return True


def check_component_softmax(fn: Callable) -> bool:
    """E3: ``fn(logits (B, L, 4), mask (B, L))`` = the masked component-wise softmax over L."""
    g = torch.Generator().manual_seed(73)
    lg = torch.randn(4, 6, 4, generator=g, dtype=torch.float64) * 3
    full = torch.ones(4, 6, dtype=torch.bool)
    some = torch.rand(4, 6, generator=g) > 0.4
    some[:, 0] = True
    empty = some.clone()
    empty[2] = False
    cases = [
        ("no padding", lg, full),
        ("padded items (mask False) get 0", lg, some),
        ("a row with no item at all: zeros, not NaN", lg, empty),
        ("large logits (overflow if exp is taken naively)", lg * 300, some),
    ]
    for case, x, m in cases:
        got = answer(fn, x.clone(), m.clone(), name="E3", case=case)
        expect_tensor("E3", case, got, masked_softmax(x, m[..., None], dim=1))
    return True
