"""Checkers for the chapters' exercises, one module per chapter (e.g. ``exercises.ch08``).

A checker runs the learner's function against the library's reference on random and
edge-case inputs and raises an AssertionError naming the case that failed, expected vs got.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np


def _same(a, b, atol: float = 1e-8) -> bool:
    try:
        return bool(np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), atol=atol))
    except (TypeError, ValueError):
        return a == b


def check(
    cases: Iterable[tuple[str, tuple]],
    fn: Callable,
    ref: Callable,
    name: str,
    equal: Callable | None = None,
) -> str:
    """Run ``fn(*args)`` and ``ref(*args)`` on every ``(label, args)`` case.

    Raises AssertionError ``"<name>: case <label> failed: expected ..., got ..."`` on the first
    mismatch (``equal(got, expected)`` decides; default: numerically close); returns
    ``"<name>: correct (n cases)"``.
    """
    equal = equal or _same
    n = 0
    for label, args in cases:
        expected = ref(*args)
        try:
            got = fn(*args)
        except Exception as exc:  # noqa: BLE001 - report any error of the learner's code
            raise AssertionError(
                f"{name}: case {label!r} raised {type(exc).__name__}: {exc}"
            ) from exc
        if got is None:
            raise AssertionError(f"{name}: not answered yet (the function returned None)")
        if not equal(got, expected):
            raise AssertionError(
                f"{name}: case {label!r} failed: expected {expected!r}, got {got!r}"
            )
        n += 1
    return f"{name}: correct ({n} cases)"
