"""Chapter 02's exercise checkers (recsys_book.exercises.ch02) accept the solutions in
notebooks/solutions/ch02.py and reject plausible wrong answers, naming the failing case."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
import torch

from recsys_book.exercises import NotAnswered, ch02, rejects
from recsys_book.models.sppmi import sppmi

SOLUTIONS = Path(__file__).resolve().parents[1] / "notebooks" / "solutions" / "ch02.py"


def _solutions():
    spec = importlib.util.spec_from_file_location("solutions_ch02", SOLUTIONS)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


SOLVED = [
    ("check_window_sppmi", "my_window_sppmi"),
    ("check_alpha_update", "my_alpha_update"),
    ("check_dislike_probs", "my_dislike_probs"),
]


# ---- plausible wrong answers ------------------------------------------------------------------


def _counts(seqs, n, window, within=lambda d, w: 1 <= abs(d) <= w, forward=False):
    C = torch.zeros(n, n, dtype=torch.float64)
    for seq in seqs:
        for a, i in enumerate(seq):
            for b, j in enumerate(seq):
                if a != b and within(b - a, window) and (b > a or not forward):
                    C[i, j] += 1
    return C


def _pmi(C, s, marg=None, clip=True, guard=True):
    marg = C.sum(1) if marg is None else marg
    pmi = torch.log(C * C.sum() / (marg[:, None] * marg[None, :])) - math.log(s)
    pmi = pmi.clamp(min=0) if clip else pmi
    return torch.where(C > 0, pmi, 0.0) if guard else pmi


def _win_greedy(seqs, n, window, s):  # ignores the window: the chapter's greedy contexts
    return _pmi(_counts(seqs, n, window, within=lambda d, w: True), s)


def _win_strict(seqs, n, window, s):  # off by one: positions less than `window` apart
    return _pmi(_counts(seqs, n, window, within=lambda d, w: abs(d) < w), s)


def _win_forward(seqs, n, window, s):  # only the words after i are its contexts (#(i,j) != #(j,i))
    return _pmi(_counts(seqs, n, window, forward=True), s)


def _win_doc_freq(seqs, n, window, s):  # #(i) = documents holding i, not sum_j #(i, j)
    marg = torch.zeros(n, dtype=torch.float64)
    for seq in seqs:
        marg[list(seq)] += 1
    return _pmi(_counts(seqs, n, window), s, marg=marg)


def _win_nan(seqs, n, window, s):  # no guard where #(i,j) = 0: 0/0 = NaN survives the clip
    return _pmi(_counts(seqs, n, window), s, guard=False)


def _win_no_clip(seqs, n, window, s):  # forgets the max(., 0) of Eq. (4.3)
    return _pmi(_counts(seqs, n, window), s, clip=False)


def _alpha(P, m_u, T, z_u, f_u, g, c0, c1, lam, w, conf=True, bias=True, all_j=False):
    k = P.shape[1]
    w_up = c0 + (c1 - c0) * m_u if conf else torch.full_like(m_u, c1)
    j = torch.arange(len(z_u)) if all_j else torch.nonzero(z_u, as_tuple=True)[0]
    Tj = T[j]
    A = P.T @ (w_up[:, None] * P) + w * Tj.T @ Tj + lam * torch.eye(k, dtype=P.dtype)
    t = z_u[j] - f_u - g[j] if bias else z_u[j]
    return torch.linalg.solve(A, P.T @ (w_up * m_u) + w * Tj.T @ t)


def _probs_masked_after(scores, observed):  # zeroes observed items after the softmax
    return torch.softmax(-scores, 1).masked_fill(observed, 0.0)


def _probs_sign(scores, observed):  # softmax(+score): draws the items the model likes most
    p = torch.exp(scores).masked_fill(observed, 0.0)
    return p / p.sum(1, keepdim=True).clamp(min=1e-300)


def _probs_naive_exp(scores, observed):  # exp without the max shift: overflow at large scores
    p = torch.exp(-scores).masked_fill(observed, 0.0)
    return p / p.sum(1, keepdim=True).clamp(min=1e-300)


WRONG = [
    ("check_window_sppmi", _win_greedy, "window ignored (the chapter's greedy contexts)"),
    ("check_window_sppmi", _win_strict, "positions less than window apart (off by one)"),
    ("check_window_sppmi", _win_forward, "only the words after i are contexts"),
    ("check_window_sppmi", _win_doc_freq, "#(i) = number of documents holding i"),
    ("check_window_sppmi", _win_nan, "NaN for a word nobody holds"),
    ("check_window_sppmi", _win_no_clip, "negative PMI not clipped at 0"),
    ("check_alpha_update", lambda *a: _alpha(*a, conf=False), "c1 on every item"),
    ("check_alpha_update", lambda *a: _alpha(*a, bias=False), "targets Z_uj without the biases"),
    ("check_alpha_update", lambda *a: _alpha(*a, all_j=True), "theta_j theta_j^T over every j"),
    ("check_dislike_probs", _probs_masked_after, "masked after the softmax (not renormalised)"),
    ("check_dislike_probs", _probs_sign, "softmax(+score)"),
    ("check_dislike_probs", _probs_naive_exp, "exp without the max shift"),
]


@pytest.mark.parametrize("check_name,sol_name", SOLVED)
def test_solution_passes_its_checker(check_name, sol_name):
    assert getattr(ch02, check_name)(getattr(_solutions(), sol_name)) is True


@pytest.mark.parametrize("check_name,wrong,why", WRONG, ids=[w[2] for w in WRONG])
def test_checker_rejects_a_plausible_wrong_answer(check_name, wrong, why):
    with pytest.raises(AssertionError, match=r"case '|case \"") as err:
        getattr(ch02, check_name)(wrong)
    assert not isinstance(err.value, NotAnswered)
    assert "expected" in str(err.value) and "got" in str(err.value)


def test_every_checker_has_a_wrong_answer():
    assert {c for c, _ in SOLVED} == {c for c, *_ in WRONG}


@pytest.mark.parametrize("check_name,sol_name", SOLVED)
def test_a_stub_is_reported_as_not_answered(check_name, sol_name):
    def stub(*args):
        return None

    def raising(*args):
        raise NotImplementedError

    for s in (stub, raising):
        with pytest.raises(NotAnswered):
            getattr(ch02, check_name)(s)
        assert not rejects(getattr(ch02, check_name), s)


def test_the_reference_alpha_is_the_library_update_on_a_hand_case():
    # k = 1, two items, one liked, no Z: alpha = c1 b1 / (c0 b0^2 + c1 b1^2 + lam)
    P = torch.tensor([[2.0], [1.0]], dtype=torch.float64)
    T = torch.zeros(2, 1, dtype=torch.float64)
    got = ch02._ref_alpha(
        P,
        torch.tensor([0.0, 1.0]).double(),
        T,
        torch.zeros(2).double(),
        0.0,
        torch.zeros(2).double(),
        1.0,
        10.0,
        0.5,
        1.0,
    )
    assert torch.allclose(got, torch.tensor([10.0 / (4.0 + 10.0 + 0.5)], dtype=torch.float64))


def test_the_reference_window_sppmi_on_a_hand_case():
    # one document 0-1-2, window 1: pairs (0,1), (1,0), (1,2), (2,1); |D| = 4, #(1) = 2
    got = ch02._ref_window_sppmi([[0, 1, 2]], 3, 1, 1.0)
    want = torch.zeros(3, 3, dtype=torch.float64)
    want[0, 1] = want[1, 0] = want[1, 2] = want[2, 1] = math.log(1 * 4 / (1 * 2))
    assert torch.allclose(got, want, atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_a_window_as_long_as_every_document_is_the_library_sppmi(seed):
    seqs, n = ch02._rand_seqs(seed), 12
    B = torch.zeros(len(seqs), n)
    for r, d in enumerate(seqs):
        B[r, d] = 1.0
    want = sppmi(B, 2.0).to_dense().double()  # the chapter's greedy contexts
    assert torch.allclose(ch02._ref_window_sppmi(seqs, n, n, 2.0), want, atol=1e-5, rtol=1e-5)
