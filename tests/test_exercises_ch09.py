"""Chapter 09's exercise checkers accept the solutions and reject plausible wrong answers."""

import math

import numpy as np
import pytest

from recsys_book.exercises import NotAnswered, ch09, rejects


@pytest.fixture(scope="module")
def sol(load_solutions):
    return load_solutions("ch09")


def test_solutions_pass(sol):
    assert ch09.check_pareto_front(sol.pareto_front) is True
    assert ch09.check_sign_test(sol.sign_test) is True


def test_stubs_are_not_answered():
    with pytest.raises(NotAnswered):
        ch09.check_pareto_front(lambda points: None)
    with pytest.raises(NotAnswered):
        ch09.check_sign_test(lambda a, b: None)


def test_pareto_checker_rejects_wrong_answers(sol):
    def strict_only(points):  # "dominates" with > on both: keeps points equal on one coordinate
        keep = [
            n
            for n, p in points.items()
            if not any(q[0] > p[0] and q[1] > p[1] for q in points.values())
        ]
        return sorted(keep, key=lambda n: (-points[n][0], n))

    def drops_duplicates(points):  # treats an identical point as dominating
        keep = [
            n
            for n, p in points.items()
            if not any(m != n and q[0] >= p[0] and q[1] >= p[1] for m, q in points.items())
        ]
        return sorted(keep, key=lambda n: (-points[n][0], n))

    def unsorted(points):
        return sorted(sol.pareto_front(points))

    with pytest.raises(AssertionError, match="equal on one coordinate"):
        ch09.check_pareto_front(strict_only)
    with pytest.raises(AssertionError, match="identical points"):
        ch09.check_pareto_front(drops_duplicates)
    assert rejects(ch09.check_pareto_front, unsorted)


def test_sign_checker_rejects_wrong_answers(sol):
    def one_sided(a, b):
        w, l, p = sol.sign_test(a, b)
        n = w + l
        return w, l, (sum(math.comb(n, i) for i in range(l + 1)) / 2**n if n else 1.0)

    def ties_as_half(a, b):  # counts ties as half a win and half a loss
        a, b = np.asarray(a), np.asarray(b)
        t = int((a == b).sum())
        w, l = int((a > b).sum()) + t // 2, int((a < b).sum()) + t - t // 2
        n = w + l
        return w, l, min(1.0, 2 * sum(math.comb(n, i) for i in range(min(w, l) + 1)) / 2**n)

    def uncapped(a, b):
        w, l, _ = sol.sign_test(a, b)
        n = w + l
        return w, l, (2 * sum(math.comb(n, i) for i in range(min(w, l) + 1)) / 2**n if n else 1.0)

    with pytest.raises(AssertionError, match="A better for every user"):
        ch09.check_sign_test(one_sided)
    with pytest.raises(AssertionError, match="ties"):
        ch09.check_sign_test(ties_as_half)
    with pytest.raises(AssertionError, match="even split"):
        ch09.check_sign_test(uncapped)
