"""Every exercise checker accepts its solution (notebooks/solutions/<chapter>.py) and rejects
plausible wrong answers, naming the failing case.

Add a chapter by adding rows to SOLVED (checker, solution) and WRONG (checker, a wrong answer,
why it is plausible)."""

from __future__ import annotations

import importlib
import importlib.util
import math
from pathlib import Path

import pytest
import torch

from recsys_book.exercises import NotAnswered, check, close, rejects, try_it
from recsys_book.models.corml import full_mahalanobis_sq

SOLUTIONS = Path(__file__).resolve().parents[1] / "notebooks" / "solutions"


def solution(chapter: str, name: str):
    spec = importlib.util.spec_from_file_location(
        f"solutions_{chapter}", SOLUTIONS / f"{chapter}.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return getattr(mod, name)


def checker(chapter: str, name: str):
    return getattr(importlib.import_module(f"recsys_book.exercises.{chapter}"), name)


# (chapter, checker, solution function)
SOLVED = [
    ("ch00", "check_ndcg", "ndcg_at_k"),
    ("ch00", "check_expected_hr", "expected_hr"),
    ("ch00", "check_novelty", "novelty_at_k"),
    ("ch01", "check_cosine", "my_cosine"),
    ("ch01", "check_knn", "my_knn"),
    ("ch01", "check_clip", "clip_to_ball"),
    ("ch05", "check_omega", "my_omega"),
    ("ch05", "check_discs", "my_discs"),
    ("ch05", "check_mahalanobis_sq", "my_mahalanobis_sq"),
]


def _ndcg_idcg_over_p(ranked, held_out, k):  # ideal DCG over all P items, not min(P, K)
    dcg = sum(1 / math.log2(r + 2) for r, i in enumerate(ranked[:k]) if i in held_out)
    return dcg / sum(1 / math.log2(r + 2) for r in range(len(held_out)))


def _ndcg_log_k(ranked, held_out, k):  # discount log2(k) with k from 1 (off by one)
    dcg = sum(1 / math.log2(r + 2) for r, i in enumerate(ranked[:k]) if i in held_out and r > 0)
    dcg += 1.0 if ranked[0] in held_out else 0.0
    idcg = sum(1 / math.log2(max(r + 1, 2)) for r in range(min(len(held_out), k)))
    return dcg / idcg


def _novelty_no_clip(top, d, n):
    d = torch.as_tensor(d, dtype=torch.float64)[top]
    return (-torch.log2(d / n) / math.log2(n)).mean(1)


def _cos(R):
    n = R.norm(dim=0)
    return ((R.T @ R) / (n[:, None] * n[None, :]).clamp(min=1e-12)).fill_diagonal_(0)


def _knn_rows(R, k):
    S = _cos(R)
    top = torch.topk(S, k, dim=1).indices
    return S * torch.zeros_like(S, dtype=torch.bool).scatter_(1, top, True)


def _knn_with_self(R, k):
    n = R.norm(dim=0)
    S = (R.T @ R) / (n[:, None] * n[None, :]).clamp(min=1e-12)  # diagonal 1: itself ranks first
    top = torch.topk(S, k, dim=0).indices
    return (S * torch.zeros_like(S, dtype=torch.bool).scatter_(0, top, True)).fill_diagonal_(0)


# (chapter, checker, wrong answer, what it gets wrong)
WRONG = [
    ("ch00", "check_ndcg", _ndcg_idcg_over_p, "ideal DCG over P instead of min(P, K)"),
    ("ch00", "check_ndcg", _ndcg_log_k, "discount 1/log2(k) instead of 1/log2(k + 1)"),
    ("ch00", "check_expected_hr", lambda g, t, k: float(g < k), "target first among its ties"),
    ("ch00", "check_expected_hr", lambda g, t, k: float(g + t < k), "target last among its ties"),
    ("ch00", "check_novelty", _novelty_no_clip, "degree 0 not clipped at 1 (inf)"),
    (
        "ch01",
        "check_cosine",
        lambda R: (R.T @ R) / (R.norm(dim=0)[:, None] * R.norm(dim=0)).clamp(min=1e-12),
        "diagonal not zeroed",
    ),
    (
        "ch01",
        "check_cosine",
        lambda R: (R.T @ R).fill_diagonal_(0),
        "co-occurrence counts, not cosine",
    ),
    ("ch01", "check_knn", _knn_rows, "top k per row instead of per column"),
    ("ch01", "check_knn", _knn_with_self, "keeps the item itself among its neighbours"),
    (
        "ch01",
        "check_clip",
        lambda W, m: m * W / W.norm(dim=-1, keepdim=True).clamp(min=1e-12),
        "normalises every row, also those inside the ball",
    ),
    ("ch01", "check_clip", lambda W, m: W.clamp(-m, m), "clips coordinates, not norms"),
    (
        "ch05",
        "check_omega",
        lambda H, x: float((H.sum(1) / x).max()),
        "signed row sums, not |H_ij|",
    ),
    ("ch05", "check_omega", lambda H, x: float(H.abs().sum(1).max() / x.min()), "max h over min x"),
    (
        "ch05",
        "check_discs",
        lambda A: (A.diagonal(), A.abs().sum(1)),
        "radius includes the diagonal",
    ),
    (
        "ch05",
        "check_discs",
        lambda A: (A.diagonal(), (A - torch.diag(A.diagonal())).sum(1)),
        "signed row sums, not |A_ij|",
    ),
    (
        "ch05",
        "check_mahalanobis_sq",
        lambda P, Q, W: full_mahalanobis_sq(P, Q, W).clamp(min=0).sqrt(),
        "the distance, not its square",
    ),
    (
        "ch05",
        "check_mahalanobis_sq",
        lambda P, Q, W: (P * (W @ P)).sum(0)[:, None] + (Q * (W @ Q)).sum(0)[None, :] - P.T @ W @ Q,
        "cross term counted once (-1 instead of -2)",
    ),
    (
        "ch05",
        "check_mahalanobis_sq",
        lambda P, Q, W: ((P.T[:, None] - Q.T[None]) ** 2).sum(-1),
        "ignores W (Euclidean)",
    ),
]


@pytest.mark.parametrize("chapter,check_name,sol_name", SOLVED)
def test_solution_passes_its_checker(chapter, check_name, sol_name):
    assert checker(chapter, check_name)(solution(chapter, sol_name)) is True


@pytest.mark.parametrize("chapter,check_name,wrong,why", WRONG, ids=[w[3] for w in WRONG])
def test_checker_rejects_a_plausible_wrong_answer(chapter, check_name, wrong, why):
    with pytest.raises(AssertionError, match=r"case '|case \"") as err:
        checker(chapter, check_name)(wrong)
    assert not isinstance(err.value, NotAnswered)
    assert "expected" in str(err.value) or "raised" in str(err.value)


def test_every_checker_has_a_solution_and_a_wrong_answer():
    solved = {(c, k) for c, k, _ in SOLVED}
    wrong = {(c, k) for c, k, *_ in WRONG}
    assert solved == wrong


@pytest.mark.parametrize("chapter,check_name,sol_name", SOLVED)
def test_a_stub_is_reported_as_not_answered(chapter, check_name, sol_name):
    def stub(*args):
        return None

    def raising(*args):
        raise NotImplementedError

    for s in (stub, raising):
        with pytest.raises(NotAnswered):
            checker(chapter, check_name)(s)
        assert not rejects(checker(chapter, check_name), s)


def test_check_names_the_failing_case_with_expected_and_got():
    cases = {"ok": (1.0,), "bad one": (2.0,)}
    with pytest.raises(AssertionError) as err:
        check(cases, lambda x: x if x < 2 else 5.0, lambda x: x, name="demo")
    msg = str(err.value)
    assert "'bad one'" in msg and "expected 2" in msg and "got      5" in msg


def test_check_gives_each_call_fresh_inputs():
    x = torch.zeros(3)

    def mutating(t):
        t += 1
        return t.sum()

    assert check({"zeros": (x,)}, mutating, lambda t: t.sum() + 3)
    assert torch.equal(x, torch.zeros(3))


def test_close_compares_shapes_and_structures():
    assert close(torch.ones(2, 2), torch.ones(2, 2).double())
    assert not close(torch.ones(2), torch.ones(2, 1))
    assert close((1.0, {"a": 2.0}), (1.0 + 1e-9, {"a": 2.0}))
    assert not close({"a": 1.0}, {"b": 1.0})
    assert close(float("inf"), math.inf) and not close(float("inf"), 1e300)


def _all_checkers():
    import inspect

    for i in range(10):
        mod = importlib.import_module(f"recsys_book.exercises.ch{i:02d}")
        for name, fn in vars(mod).items():
            if name.startswith("check_") and inspect.isfunction(fn) and fn.__module__ == mod.__name__:
                n = sum(p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD
                        for p in inspect.signature(fn).parameters.values())  # fmt: skip
                yield pytest.param(fn, n, id=f"ch{i:02d}.{name}")


@pytest.mark.parametrize("check_fn,n_answers", list(_all_checkers()))
def test_every_checker_follows_one_convention_for_an_unanswered_stub(check_fn, n_answers):
    """Every chapter's checkers, one convention: a stub raises NotAnswered (try_it prints
    'not answered yet'), never a string that reads as a verdict and never 'correct'."""
    stubs = [lambda *a, **k: None] * n_answers
    with pytest.raises(NotAnswered):
        check_fn(*stubs)
    assert try_it(check_fn, *stubs) is False
