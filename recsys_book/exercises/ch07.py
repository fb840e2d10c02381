"""Chapter 07 (quaternion representations, dissertation Ch. 5.3) exercises: checkers.

* E1 :func:`check_commutator`  ``commutator(p, q) -> p (x) q - q (x) p``: how far the Hamilton
  product of Eq. (5.26) is from commuting, on quaternion tensors (..., d) laid out as
  [r, a, b, c] blocks of size d/4, written without a Hamilton product: its real part is 0 and
  its imaginary part twice the cross product of the vector parts (a, b, c) of p and q.
* E2 :func:`check_qlinear_params`  ``qlinear_params(n_in, n_out, bias) -> int``: the number of
  trainable numbers of a quaternion dense layer (n_in -> n_out real features).
* E3 :func:`check_qgru`  ``qgru(cell, x, mask) -> H``: the quaternion GRU (the paper's
  "Quaternion self-Attentive GRU", whose equations it leaves out) run over s items, written
  from QUASE's LSTM of Eq. (5.33) with a GRU's gates: x (B, s, d), mask (B, s) True = real
  item, ``cell`` a :class:`recsys_book.models.quaternion.QGRUCell` read through its two
  QLinear layers; h_0 = 0 and a padded step keeps the state; returns h_1 .. h_s (B, s, d).

Each checker compares the learner's function with :mod:`recsys_book.models.quaternion` /
:mod:`recsys_book.models.qualse` on random and edge-case inputs, raises ``AssertionError``
naming the failed case with expected vs got, raises :class:`recsys_book.exercises.NotAnswered`
while the function is a stub (returns None) and returns True when every case passes (the
convention of :mod:`recsys_book.exercises`; a notebook prints the verdict with ``try_it``).
They use no state of the notebook.
"""

from __future__ import annotations

import copy
from typing import Callable

import torch

from recsys_book.exercises import answer, expect_tensor
from recsys_book.models import quaternion as Q


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
        with torch.random.fork_rng(devices=[]):  # the layer's init: leave the caller's RNG alone
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


def _qgru_reference(cell: Q.QGRUCell, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The library's QGRUCell step by step, as QUASE runs it: h_0 = 0, padded steps keep h."""
    h = x.new_zeros(x.shape[0], cell.hidden_size)
    hs = []
    for t in range(x.shape[1]):
        h = torch.where(mask[:, t, None], cell(x[:, t], h), h)
        hs.append(h)
    return torch.stack(hs, 1)


def _qgru_cell(d: int, seed: int, biases: str = "random") -> Q.QGRUCell:
    """A float64 QGRUCell(d, d), every weight drawn at random; ``biases``: "random", "zero"
    (no g at all) or "g_rn" (only the recurrent bias of the candidate n is non-zero)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # the layers' own init: leave the caller's RNG alone
        cell = Q.QGRUCell(d, d).double()
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) * 0.6)
        if biases != "random":
            cell.w.bias.zero_()
            cell.rec.bias.zero_()
        # g_rn: the recurrent bias of the third gate, n, at its places in the packed [r|a|b|c] layout
        if biases == "g_rn":
            at = Q.gate_major_order(3, d)[2 * d :]
            cell.rec.bias[at] = torch.randn(d, generator=gen, dtype=torch.float64) * 1.5
    return cell


def check_qgru(fn: Callable) -> bool:
    """E3: ``fn(cell, x (B, s, d), mask (B, s))`` = the quaternion GRU's states (B, s, d)."""
    g = torch.Generator().manual_seed(77)
    x = lambda B, s, d: torch.randn(B, s, d, generator=g, dtype=torch.float64)  # noqa: E731
    ones = lambda B, s: torch.ones(B, s, dtype=torch.bool)  # noqa: E731
    front = ones(3, 5)
    front[:, :2] = False  # the first two steps padded (fewer than s recent items)
    middle = ones(3, 5)
    middle[:, 2] = False  # a hole in the middle: h_3 = h_2, not 0
    empty = ones(3, 4)
    empty[1] = False  # row 1 has no item at all
    mixed = torch.rand(4, 5, generator=g) > 0.3
    cases = [
        ("d = 4 (one quaternion), one step from h_0 = 0, no biases", _qgru_cell(4, 0, "zero"), x(3, 1, 4), ones(3, 1)),
        ("one step from h_0 = 0 with only the recurrent bias g_rn: n = tanh(W_n (x) p + r x g_rn)",
         _qgru_cell(4, 1, "g_rn"), x(3, 1, 4), ones(3, 1)),
        ("d = 8 (two quaternions per state), five steps, random weights and biases", _qgru_cell(8, 2), x(3, 5, 8), ones(3, 5)),
        ("the first two steps padded: the state stays h_0 = 0 until the first item", _qgru_cell(8, 3), x(3, 5, 8), front),
        ("a padded step in the middle keeps h_{t-1} (it is not reset to 0)", _qgru_cell(8, 4), x(3, 5, 8), middle),
        ("a row with no item at all: H = 0 at every step", _qgru_cell(8, 5), x(3, 4, 8), empty),
        ("a batch of 4 rows, d = 16, s = 5, random padding", _qgru_cell(16, 6), x(4, 5, 16), mixed),
    ]  # fmt: skip
    for case, cell, xs, m in cases:
        with torch.no_grad():
            want = _qgru_reference(cell, xs, m)
            got = answer(fn, copy.deepcopy(cell), xs.clone(), m.clone(), name="E3", case=case)
        expect_tensor("E3", case, got, want, what="the hidden states h_1 .. h_s")
    return True
