"""Chapter 01 exercises: cosine Item-KNN, its k nearest neighbours, CML's unit-ball projection.

E1 ``my_cosine(R) -> S``: the item-item cosine similarity of a binary user x item matrix,
   zero diagonal (checked against :class:`recsys_book.models.baselines.ItemKNN`).
E2 ``my_knn(R, k) -> S``: Item-KNN keeping each item's k nearest neighbours (against
   ``ItemKNN(..., k=k)``).
E3 ``clip_to_ball(W, max_norm) -> W``: CML's projection of embedding rows back into the
   ball (against :func:`recsys_book.nn.clip_to_unit_ball_`).

(The chapter builds MF-BPR, CML, their losses and EASE in the text itself; the exercises
are the pieces it does not show.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from recsys_book.data.interactions import Interactions
from recsys_book.exercises import check, float64


def interactions_from_dense(R: torch.Tensor, name: str = "exercise") -> Interactions:
    """A binary (U, I) matrix as :class:`Interactions` (same shape, empty rows/columns kept)."""
    u, i = torch.nonzero(torch.as_tensor(R) > 0, as_tuple=True)
    n_users, n_items = R.shape
    df = pd.DataFrame({"user": u.numpy().astype(np.int64), "item": i.numpy().astype(np.int64)})
    return Interactions(
        df=df,
        n_users=n_users,
        n_items=n_items,
        user_ids=np.arange(n_users),
        item_ids=np.arange(n_items),
        name=name,
    )


def _ref_cosine(R):
    from recsys_book.models.baselines import ItemKNN

    return ItemKNN(*R.shape).fit(interactions_from_dense(R)).W.double()


def _binary(seed, shape=(12, 8), p=0.35):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=g) < p).float()


def _with_empty_item():
    R = _binary(3)
    R[:, 5] = 0  # an item nobody interacted with: similarity 0, not NaN
    return (R,)


COSINE_CASES = {
    "a 3 x 3 matrix by hand": (torch.tensor([[1.0, 1, 0], [1, 0, 1], [0, 1, 1]]),),
    "random 12 x 8 (seed 0)": (_binary(0),),
    "random 12 x 8 (seed 1)": (_binary(1),),
    "an item nobody interacted with": _with_empty_item,
    "two identical items (cosine 1)": (torch.tensor([[1.0, 1, 0], [1, 1, 1], [0, 0, 1]]),),
}


def check_cosine(fn) -> bool:
    """E1: ``fn(R (U, I) float 0/1) -> S (I, I)`` with S_ij = cos(r_i, r_j), S_ii = 0."""
    return check(
        COSINE_CASES,
        fn,
        _ref_cosine,
        name="E1 my_cosine",
        atol=1e-5,
        cast=float64,
        hint="normalise each column of R, take all dot products, zero the diagonal; "
        "an empty column has similarity 0",
    )


def _ref_knn(R, k):
    from recsys_book.models.baselines import ItemKNN

    return ItemKNN(*R.shape, k=k).fit(interactions_from_dense(R)).W.double()


KNN_CASES = {
    "random 12 x 8 (seed 0), k = 2": (_binary(0), 2),
    "random 12 x 8 (seed 1), k = 3": (_binary(1), 3),
    "k = 1: only the nearest neighbour votes": (_binary(2, (20, 6), 0.5), 1),
    "k = I - 1 keeps every neighbour (plain cosine)": (_binary(4), 7),
}


def check_knn(fn) -> bool:
    """E2: ``fn(R (U, I), k) -> S (I, I)``: the cosine matrix of E1 keeping, in each COLUMN i,
    only the k largest similarities (the k neighbours that vote for item i)."""
    return check(
        KNN_CASES,
        fn,
        _ref_knn,
        name="E2 my_knn",
        atol=1e-5,
        cast=float64,
        hint="score(u, i) = sum_j R_uj S_ji, so column i holds the votes for item i: "
        "torch.topk(S, k, dim=0)",
    )


def _ref_clip(W, max_norm):
    from recsys_book.nn import clip_to_unit_ball_

    return clip_to_unit_ball_(W.clone(), max_norm)


def _clip_case(seed, n=6, d=3, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(n, d, generator=g)


CLIP_CASES = {
    "random rows, some outside the unit ball (seed 0)": (_clip_case(0), 1.0),
    "every row inside: nothing moves": (_clip_case(1, scale=0.1), 1.0),
    "every row far outside (seed 2)": (_clip_case(2, scale=10.0), 1.0),
    "a zero row stays zero": (torch.zeros(2, 4), 1.0),
    "radius 0.5": (_clip_case(3), 0.5),
}


def check_clip(fn) -> bool:
    """E3: ``fn(W (n, d), max_norm) -> W'`` with rows longer than max_norm scaled back onto
    the ball, shorter rows unchanged (CML's projection after each step)."""
    return check(
        CLIP_CASES,
        fn,
        _ref_clip,
        name="E3 clip_to_ball",
        atol=1e-6,
        cast=lambda v: torch.as_tensor(v, dtype=torch.float32),
        hint="divide a row by max(1, ||w|| / max_norm); do not stretch short rows",
    )
