"""Solutions to chapter 09's exercises (not executed in the chapter)."""

import math

import numpy as np


def pareto_front(points):
    """E1: keep the points no other point dominates; best first coordinate first, then name."""

    def dominated(p):
        return any(q[0] >= p[0] and q[1] >= p[1] and q != p for q in points.values())

    front = [name for name, p in points.items() if not dominated(tuple(p))]
    return sorted(front, key=lambda name: (-points[name][0], name))


def paired_t(a, b):
    """E2: two-sided paired t-test, (t, p), Student's t with n - 1 degrees of freedom."""
    from scipy.stats import t as student_t

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n, sd = d.size, d.std(ddof=1)  # the sample sd: n - 1 in the denominator
    if sd == 0:  # every seed gives the same gap: no spread to weigh it against
        return (0.0, 1.0) if d.mean() == 0 else (math.copysign(math.inf, d.mean()), 0.0)
    t = d.mean() / (sd / math.sqrt(n))
    return float(t), float(2 * student_t.sf(abs(t), n - 1))
