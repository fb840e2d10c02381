"""Chapter 02's exercise checkers (recsys_book.exercises.ch02) accept the solutions in
notebooks/solutions/ch02.py and reject plausible wrong answers, naming the failing case."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
import torch

from recsys_book.exercises import NotAnswered, ch02, rejects

SOLUTIONS = Path(__file__).resolve().parents[1] / "notebooks" / "solutions" / "ch02.py"


def _solutions():
    spec = importlib.util.spec_from_file_location("solutions_ch02", SOLUTIONS)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


SOLVED = [
    ("check_sppmi", "my_sppmi"),
    ("check_alpha_update", "my_alpha_update"),
    ("check_dislike_probs", "my_dislike_probs"),
]


# ---- plausible wrong answers ------------------------------------------------------------------


def _B(docs, n):
    B = torch.zeros(len(docs), n, dtype=torch.float64)
    for r, d in enumerate(docs):
        B[r, list(d)] = 1.0
    return B


def _sppmi_parts(docs, n, keep_diag=False, docs_as_total=False):
    B = _B(docs, n)
    C = B.T @ B
    if not keep_diag:
        C.fill_diagonal_(0)
    total = torch.tensor(float(len(docs))) if docs_as_total else C.sum()
    marg = C.sum(1)
    return C, torch.log(C * total / (marg[:, None] * marg[None, :]).clamp(min=1e-300))


def _sppmi_no_clip(docs, n, s):  # forgets the max(., 0) of Eq. (4.3)
    C, pmi = _sppmi_parts(docs, n)
    return torch.where(C > 0, pmi - math.log(s), 0.0)


def _sppmi_diag(docs, n, s):  # counts a word as its own context
    C, pmi = _sppmi_parts(docs, n, keep_diag=True)
    return torch.where(C > 0, (pmi - math.log(s)).clamp(min=0), 0.0)


def _sppmi_docs(docs, n, s):  # |D| = number of documents instead of number of pairs
    C, pmi = _sppmi_parts(docs, n, docs_as_total=True)
    return torch.where(C > 0, (pmi - math.log(s)).clamp(min=0), 0.0)


def _sppmi_nan(docs, n, s):  # no guard for a word nobody holds: 0/0 = NaN survives the clip
    B = _B(docs, n)
    C = B.T @ B
    C.fill_diagonal_(0)
    marg = C.sum(1)
    pmi = torch.log(C * C.sum() / (marg[:, None] * marg[None, :]))
    return (pmi - math.log(s)).clamp(min=0)


def _sppmi_unordered(docs, n, s):  # counts each unordered pair once: |D| halved
    C, _ = _sppmi_parts(docs, n)
    marg = C.sum(1)
    pmi = torch.log(C * (C.sum() / 2) / (marg[:, None] * marg[None, :]).clamp(min=1e-300))
    return torch.where(C > 0, (pmi - math.log(s)).clamp(min=0), 0.0)


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
    ("check_sppmi", _sppmi_no_clip, "negative PMI not clipped at 0"),
    ("check_sppmi", _sppmi_diag, "diagonal (a word as its own context) kept"),
    ("check_sppmi", _sppmi_docs, "|D| = number of documents"),
    ("check_sppmi", _sppmi_nan, "NaN for a word nobody holds"),
    ("check_sppmi", _sppmi_unordered, "|D| counts unordered pairs (half)"),
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
