"""Exercise checkers: run a learner's function against the library's on named cases.

Every chapter has a module here (``exercises/ch00.py``, ``ch01.py`` ...) with one checker
per exercise. A checker builds its own inputs (fixed seeds, no notebook state), so it
gives the same verdict after a kernel restart. It returns ``True`` when every case
passes and raises :class:`AssertionError` naming the FIRST failing case, with the
expected and the received value::

    >>> from recsys_book.exercises import ch00
    >>> ch00.check_ndcg(my_ndcg)          # AssertionError: case 'no hit in the top K' ...

In a notebook, :func:`try_it` prints the verdict instead of raising, so a chapter can run
the checker on an unanswered stub and still run top to bottom.

The shared pieces, for writing a checker in a few lines:

* :func:`check` ``(cases, fn, ref, name=...)``: call ``fn`` and ``ref`` on every named case
  (fresh copies of the inputs for each call) and compare with :func:`close`;
* :func:`close`: tolerant comparison of numbers, tensors, arrays, tuples, lists and dicts;
* :func:`expect_tensor`: for a checker written by hand, one tensor against the library's,
  failing with the case, the shape, a non-finite value or the worst entry;
* :func:`rejects`: does a checker reject an answer? (used by ``tests/test_exercises.py``).

Solutions live in ``notebooks/solutions/<chapter>.py``; chapters do not execute them.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Mapping

import numpy as np
import torch

__all__ = ["NotAnswered", "answer", "check", "close", "expect_tensor", "float64", "fmt", "rejects", "try_it"]


class NotAnswered(AssertionError):
    """The learner's function is still a stub (returned None or raised NotImplementedError)."""


def _as_array(x: Any) -> np.ndarray | None:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy() if x.is_floating_point() else x.cpu().numpy()
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (int, float, np.number, bool, np.bool_)):
        return np.asarray(x)
    return None


def close(got: Any, want: Any, atol: float = 1e-6, rtol: float = 1e-6) -> bool:
    """True when ``got`` matches ``want``: same shape and values within atol + rtol * |want|
    (NaN matches NaN, inf matches inf of the same sign); tuples/lists and dicts element-wise."""
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and set(got) == set(want)
            and all(close(got[k], want[k], atol, rtol) for k in want)
        )
    if isinstance(want, (tuple, list)):
        return (
            isinstance(got, (tuple, list))
            and len(got) == len(want)
            and all(close(g, w, atol, rtol) for g, w in zip(got, want))
        )
    w, g = _as_array(want), _as_array(got)
    if w is None:
        return got == want
    if g is None:
        try:
            g = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            return False
    if g.shape != w.shape:
        return False
    try:
        return bool(
            np.allclose(
                g.astype(np.float64), w.astype(np.float64), atol=atol, rtol=rtol, equal_nan=True
            )
        )
    except (TypeError, ValueError):
        return bool(np.array_equal(g, w))


def fmt(x: Any, limit: int = 300) -> str:
    """A short printable form of a value (shape first for tensors/arrays)."""
    a = _as_array(x)
    if a is not None and a.ndim > 0:
        body = np.array2string(a, precision=4, threshold=20, max_line_width=100)
        s = f"shape {tuple(a.shape)} {body}"
    elif a is not None:
        s = f"{a.item():.6g}" if np.issubdtype(a.dtype, np.floating) else str(a.item())
    else:
        s = repr(x)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _call(fn: Callable, args: tuple, kwargs: dict):
    return fn(*copy.deepcopy(args), **copy.deepcopy(kwargs))


def answer(fn: Callable, *args, name: str = "exercise", case: str = "", **kwargs):
    """Call the learner's ``fn`` for a checker written by hand: a stub (None returned, or
    NotImplementedError) raises :class:`NotAnswered`; any other exception becomes an
    AssertionError naming ``case``. Returns the result."""
    try:
        got = fn(*args, **kwargs)
    except NotImplementedError:
        raise NotAnswered(f"{name}: not answered yet (NotImplementedError)") from None
    except Exception as e:  # the learner's bug, reported with its case
        raise AssertionError(f"{name}: case {case!r} raised {type(e).__name__}: {e}") from e
    if got is None:
        raise NotAnswered(f"{name}: not answered yet (the function returned None)")
    return got


def float64(v) -> torch.Tensor:
    """A learner's result as a float64 tensor (``check(..., cast=float64)``)."""
    return torch.as_tensor(v, dtype=torch.float64)


def expect_tensor(name: str, case: str, got, want: torch.Tensor, what: str = "the result",
                  atol: float = 1e-8, rtol: float = 1e-6) -> None:  # fmt: skip
    """Raise an AssertionError naming ``case`` unless ``got`` (anything ``torch.as_tensor``
    takes) has ``want``'s shape, is finite and is within ``atol + rtol * |want|`` of it; the
    message says which: the shapes, the first values expected, or the worst entry."""
    if got is None:
        raise NotAnswered(f"{name}: not answered yet (the function returned None)")
    got = torch.as_tensor(got, dtype=torch.float64)
    want = torch.as_tensor(want, dtype=torch.float64)
    if got.shape != want.shape:
        raise AssertionError(
            f"{name}: case '{case}': {what} should have shape {tuple(want.shape)}, got {tuple(got.shape)}"
        )
    if not torch.isfinite(got).all():
        raise AssertionError(
            f"{name}: case '{case}': {what} has inf/nan values (expected {want.flatten()[:4].tolist()}...)"
        )
    if not torch.allclose(got, want, atol=atol, rtol=rtol):
        i = int((got - want).abs().flatten().argmax())
        raise AssertionError(
            f"{name}: case '{case}': {what} differs; at flat index {i} expected "
            f"{float(want.flatten()[i]):.6f}, got {float(got.flatten()[i]):.6f}"
        )


def check(
    cases: Mapping[str, tuple | dict | Callable[[], tuple | dict]],
    fn: Callable,
    ref: Callable,
    name: str = "exercise",
    compare: Callable[[Any, Any], bool] | None = None,
    atol: float = 1e-6,
    rtol: float = 1e-6,
    hint: str = "",
    cast: Callable[[Any], Any] | None = None,
) -> bool:
    """Run ``fn`` (the learner's) and ``ref`` (the library's) on every named case.

    ``cases`` maps a case name to the positional arguments (a tuple), the keyword arguments
    (a dict), or a zero-argument callable building either (so inputs are made fresh). Each
    call receives its own deep copy, so a function that modifies its inputs cannot change
    the reference's. ``compare(got, want) -> bool`` replaces :func:`close`.

    Returns True; raises :class:`NotAnswered` when ``fn`` is a stub (returns None or raises
    NotImplementedError) and :class:`AssertionError` naming the first failing case with
    the expected and the received value (and ``hint``), or the exception ``fn`` raised.
    ``cast`` converts the learner's (non-None) result before comparing, e.g. ``float``.
    """
    if not callable(fn):
        raise NotAnswered(f"{name}: expected a function, got {fmt(fn)}")
    same = compare or (lambda g, w: close(g, w, atol=atol, rtol=rtol))
    for case, spec in cases.items():
        spec = spec() if callable(spec) else spec
        args, kwargs = (tuple(spec), {}) if not isinstance(spec, dict) else ((), dict(spec))
        want = _call(ref, args, kwargs)
        got = answer(fn, *copy.deepcopy(args), name=name, case=case, **copy.deepcopy(kwargs))
        if cast is not None:
            try:
                got = cast(got)
            except (TypeError, ValueError) as e:
                raise AssertionError(
                    f"{name}: case {case!r}: the result {fmt(got)} has the wrong type ({e})"
                ) from None
        if not same(got, want):
            msg = f"{name}: case {case!r} failed\n  expected {fmt(want)}\n  got      {fmt(got)}"
            raise AssertionError(msg + (f"\n  hint: {hint}" if hint else ""))
    return True


def try_it(checker: Callable[..., bool], *answers) -> bool:
    """Run a checker and print its verdict instead of raising (for notebook cells)."""
    label = getattr(checker, "__name__", "check")
    try:
        checker(*answers)
    except NotAnswered as e:
        print(f"… {e}")
        return False
    except AssertionError as e:
        print(f"✗ {e}")
        return False
    print(f"✓ {label}: correct")
    return True


def rejects(checker: Callable[..., bool], *answers) -> bool:
    """True when ``checker`` rejects the answer with an AssertionError (not a stub notice)."""
    try:
        checker(*answers)
    except NotAnswered:
        return False
    except AssertionError:
        return True
    return False
