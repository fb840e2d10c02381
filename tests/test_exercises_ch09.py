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
    assert ch09.check_paired_t(sol.paired_t) is True


def test_stubs_are_not_answered():
    with pytest.raises(NotAnswered):
        ch09.check_pareto_front(lambda points: None)
    with pytest.raises(NotAnswered):
        ch09.check_paired_t(lambda a, b: None)


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


def test_paired_t_checker_rejects_wrong_answers(sol):
    from scipy.stats import norm
    from scipy.stats import t as student_t

    def population_sd(a, b):  # ddof 0: the spread too small, t too large
        d = np.asarray(a) - np.asarray(b)
        t = d.mean() / (d.std() / math.sqrt(d.size))
        return t, 2 * student_t.sf(abs(t), d.size - 1)

    def normal_tail(a, b):  # a normal instead of Student's t: p too small for few seeds
        t, _ = sol.paired_t(a, b)
        return t, 2 * norm.sf(abs(t))

    def one_sided(a, b):
        t, p = sol.paired_t(a, b)
        return t, p / 2

    def nan_without_spread(a, b):  # divides by a zero sd
        d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = d.mean() / (d.std(ddof=1) / math.sqrt(d.size))
        return t, 2 * student_t.sf(abs(t), d.size - 1)

    with pytest.raises(AssertionError, match="a clear lead"):
        ch09.check_paired_t(population_sd)
    with pytest.raises(AssertionError, match="a clear lead"):
        ch09.check_paired_t(normal_tail)
    with pytest.raises(AssertionError, match="a clear lead"):
        ch09.check_paired_t(one_sided)
    with pytest.raises(AssertionError, match="no difference at all"):
        ch09.check_paired_t(nan_without_spread)
