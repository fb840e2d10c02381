"""Solutions to chapter 09's exercises (not executed in the chapter)."""

import math

import numpy as np


def pareto_front(points):
    """E1: keep the points no other point dominates; best first coordinate first, then name."""

    def dominated(p):
        return any(q[0] >= p[0] and q[1] >= p[1] and q != p for q in points.values())

    front = [name for name, p in points.items() if not dominated(tuple(p))]
    return sorted(front, key=lambda name: (-points[name][0], name))


def sign_test(a, b):
    """E2: exact two-sided sign test; ties dropped."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    wins, losses = int((a > b).sum()), int((a < b).sum())
    n = wins + losses
    if n == 0:
        return wins, losses, 1.0
    # exact integers, then one division: no overflow for a few thousand users
    tail = sum(math.comb(n, i) for i in range(min(wins, losses) + 1))
    return wins, losses, min(1.0, float(2 * tail / 2**n))
