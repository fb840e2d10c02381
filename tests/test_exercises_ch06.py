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
    assert ch06.check_relation(sol.relation) is True
    assert ch06.check_hinge(sol.hinge) is True
    assert ch06.check_shift(sol.shift) is True


def test_unanswered_stubs_are_reported_not_failed():
    # the shared convention: a stub is NotAnswered (try_it says so), never "correct"
    for check in (ch06.check_relation, ch06.check_hinge, ch06.check_shift):
        with pytest.raises(NotAnswered):
            check(lambda *a: None)
        assert not try_it(check, lambda *a: None) and not rejects(check, lambda *a: None)
    assert try_it(ch06.check_relation, sol.relation)


def _naive_softmax_relation(p, q, keys, memory):
    e = torch.exp((p * q) @ keys.T)  # no max subtracted: overflows on sharp keys
    return (e / e.sum(-1, keepdim=True)) @ memory


WRONG_RELATIONS = {
    "sum key p + q": (
        lambda p, q, k, m: torch.softmax((p + q) @ k.T, -1) @ m,
        "random pairs",
    ),
    "no softmax": (lambda p, q, k, m: ((p * q) @ k.T) @ m, "random pairs"),
    "mean of the memory": (lambda p, q, k, m: m.mean(0).expand(p.shape[0], -1), "random pairs"),
    "softmax without the max shift": (_naive_softmax_relation, "large keys"),
}


@pytest.mark.parametrize("name", list(WRONG_RELATIONS))
def test_relation_checker_rejects(name):
    fn, case = WRONG_RELATIONS[name]
    with pytest.raises(AssertionError, match=case):
        ch06.check_relation(fn)


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
        ch06.check_relation(WRONG_RELATIONS["no softmax"][0])
