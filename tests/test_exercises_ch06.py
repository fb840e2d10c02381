"""Chapter 06 exercises: every solution passes its checker; every checker rejects plausible
wrong answers and names the case that failed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from recsys_book.exercises import NotAnswered, ch06, rejects, try_it

_path = Path(__file__).resolve().parents[1] / "notebooks" / "solutions" / "ch06.py"
_spec = importlib.util.spec_from_file_location("ch06_solutions", _path)
sol = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sol)


def test_solutions_pass():
    assert ch06.check_attention_entropy(sol.attention_entropy) is True
    assert ch06.check_hinge(sol.hinge) is True
    assert ch06.check_shift(sol.shift) is True


def test_unanswered_stubs_are_reported_not_failed():
    # the shared convention: a stub is NotAnswered (try_it says so), never "correct"
    for check in (ch06.check_attention_entropy, ch06.check_hinge, ch06.check_shift):
        with pytest.raises(NotAnswered):
            check(lambda *a: None)
        assert not try_it(check, lambda *a: None) and not rejects(check, lambda *a: None)
    assert try_it(ch06.check_attention_entropy, sol.attention_entropy)


def _naive_entropy(p, q, keys, kappa):  # softmax then log: 0 * log 0 = NaN on a one-hot
    a = torch.softmax(kappa * (p * q) @ keys.T, -1)
    return -(a * a.log()).sum(-1)


WRONG_ENTROPIES = {
    "forgets the key scale": (lambda p, q, k, kappa: sol.attention_entropy(p, q, k, 1.0), "κ = 100"),
    "log base 2 (bits, not nats)": (
        lambda p, q, k, kappa: sol.attention_entropy(p, q, k, kappa) / torch.log(torch.tensor(2.0)),
        "p = 0",
    ),
    "naive a log a (NaN on a one-hot)": (_naive_entropy, "huge logits"),
    "p + q instead of p ⊙ q": (
        lambda p, q, k, kappa: sol.attention_entropy(p + q, torch.ones_like(q), k, kappa),
        "p = 0",
    ),
}


@pytest.mark.parametrize("name", list(WRONG_ENTROPIES))
def test_entropy_checker_rejects(name):
    fn, case = WRONG_ENTROPIES[name]
    with pytest.raises(AssertionError, match=case):
        ch06.check_attention_entropy(fn)


def _always_recompute(p, qp, qn, k, m, margin, reuse):
    return sol.hinge(p, qp, qn, k, m, margin, False)


def _always_reuse(p, qp, qn, k, m, margin, reuse):
    return sol.hinge(p, qp, qn, k, m, margin, True)


def _no_relu(p, qp, qn, k, m, margin, reuse):
    r = sol.relation(p, qp, k, m)
    dp = ((p + r - qp) ** 2).sum(-1)
    dn = ((p[:, None, :] + r[:, None, :] - qn) ** 2).sum(-1)
    return (margin + dp[:, None] - dn).mean()


def _sum_not_mean(*args):
    return sol.hinge(*args) * args[2].shape[0] * args[2].shape[1]


WRONG_HINGES = {
    "ignores reuse (always recomputes)": (_always_recompute, "reused relation"),
    "ignores reuse (always reuses)": (_always_reuse, "recomputed relation, margin 0.5"),
    "no max(0, .)": (_no_relu, "recomputed relation"),
    "sum instead of mean": (_sum_not_mean, "recomputed relation, margin 0.5"),
}


@pytest.mark.parametrize("name", list(WRONG_HINGES))
def test_hinge_checker_rejects(name):
    fn, case = WRONG_HINGES[name]
    with pytest.raises(AssertionError, match=case):
        ch06.check_hinge(fn)


def _forgets_mean(p, qp, qn, k, m, margin, reuse):  # the (B, n) hinge terms, not their mean
    r = sol.relation(p, qp, k, m)
    dp = ((p + r - qp) ** 2).sum(-1)
    dn = ((p[:, None, :] + r[:, None, :] - qn) ** 2).sum(-1)
    return torch.relu(margin + dp[:, None] - dn)


def test_hinge_checker_names_the_case_of_a_wrong_shape():
    # an answer of the wrong shape is the learner's failed case, not a crash of the checker
    with pytest.raises(AssertionError, match=r"case 'recomputed relation, margin 0.5'.*shape \(\), got \(6, 3\)"):
        ch06.check_hinge(_forgets_mean)
    with pytest.raises(AssertionError, match="case 'recomputed relation, margin 0.5'.*should be a number"):
        ch06.check_hinge(lambda *a: "0.5")
    assert ch06.check_hinge(lambda *a: sol.hinge(*a).reshape(1))  # a one-element tensor is the scalar


@pytest.mark.parametrize(
    "fn, case",
    [
        (lambda q, r: q + r, "random, d = 4"),  # the wrong sign
        (lambda q, r: q, "random, d = 4"),  # forgets the relation
        (lambda q, r: q - r[:1], "random, d = 4"),  # one coordinate only (broadcasts wrongly)
    ],
)
def test_shift_checker_rejects(fn, case):
    with pytest.raises(AssertionError, match=case):
        ch06.check_shift(fn)


def test_messages_say_expected_and_got():
    with pytest.raises(AssertionError, match=r"expected -?\d+\.\d+, got -?\d+\.\d+"):
        ch06.check_attention_entropy(WRONG_ENTROPIES["forgets the key scale"][0])


def test_checkers_leave_the_learners_random_stream():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    assert ch06.check_attention_entropy(sol.attention_entropy) and ch06.check_hinge(sol.hinge)
    assert ch06.check_shift(sol.shift)
    assert torch.equal(torch.get_rng_state(), before)
