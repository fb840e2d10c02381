"""Chapter 01 exercises: cosine Item-KNN, CML's hinge, the BPR loss.

E1 ``my_cosine(R) -> S``: the item-item cosine similarity of a binary user x item matrix,
   zero diagonal (checked against :class:`recsys_book.models.baselines.ItemKNN`).
E2 ``cml_hinge(p, q_pos, q_neg, margin) -> scalar``: CML's loss
   mean [m + ||p_u - q_i||^2 - ||p_u - q_j||^2]_+ (against :func:`recsys_book.train.hinge_loss`
   on the scores of :class:`recsys_book.models.baselines.CML`).
E3 ``bpr(pos, neg) -> scalar``: BPR, mean -log sigma(s_ui - s_uj) (against
   :func:`recsys_book.train.bpr_loss`), including scores far apart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from recsys_book.data.interactions import Interactions
from recsys_book.exercises import check
from recsys_book.train import bpr_loss, hinge_loss


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
        cast=lambda v: torch.as_tensor(v, dtype=torch.float64),
        hint="normalise each column of R, take all dot products, zero the diagonal; "
        "an empty column has similarity 0",
    )


def _cml_scores(p, q_pos, q_neg):
    from recsys_book.models.baselines import CML

    B, n, d = q_neg.shape
    m = CML(B, B * (n + 1), dim=d)
    with torch.no_grad():
        m.user.weight.copy_(p)
        m.item.weight.copy_(torch.cat([q_pos, q_neg.reshape(B * n, d)]))
    items = torch.cat([torch.arange(B)[:, None], B + torch.arange(B * n).reshape(B, n)], 1)
    with torch.no_grad():
        s = m.score(torch.arange(B), items)  # (B, 1 + n), -squared distance
    return s[:, 0], s[:, 1:]


def _ref_hinge(p, q_pos, q_neg, margin):
    pos, neg = _cml_scores(p, q_pos, q_neg)
    return hinge_loss(pos, neg, margin=margin)


def _cml_case(seed, B=6, n=3, d=4, scale=0.5):
    g = torch.Generator().manual_seed(seed)
    return (
        scale * torch.randn(B, d, generator=g),
        scale * torch.randn(B, d, generator=g),
        scale * torch.randn(B, n, d, generator=g),
        0.5,
    )


HINGE_CASES = {
    "the chapter's numbers: d+ = 0.3, d- = 0.5, m = 0.5": (
        torch.tensor([[0.0, 0.0]]),
        torch.tensor([[0.3, 0.0]]),
        torch.tensor([[[0.0, 0.5]]]),
        0.5,
    ),
    "every triple already satisfied (loss 0)": (
        torch.tensor([[0.0, 0.0]]),
        torch.tensor([[0.1, 0.0]]),
        torch.tensor([[[2.0, 0.0], [0.0, -2.0]]]),
        0.5,
    ),
    "random, 3 negatives (seed 0)": _cml_case(0),
    "random, 3 negatives (seed 1), margin 1": lambda: (*_cml_case(1)[:3], 1.0),
    "random, far points (seed 2)": _cml_case(2, scale=2.0),
}


def check_hinge(fn) -> bool:
    """E2: ``fn(p (B, d), q_pos (B, d), q_neg (B, n, d), margin) -> scalar`` (mean over B x n)."""
    return check(
        HINGE_CASES,
        fn,
        _ref_hinge,
        name="E2 cml_hinge",
        atol=1e-5,
        cast=lambda v: torch.as_tensor(v, dtype=torch.float32).reshape(()),
        hint="squared Euclidean distances; [x]_+ = max(0, x); mean over every (u, i, j)",
    )


def _bpr_case(seed, B=8, n=4, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(B, generator=g), scale * torch.randn(B, n, generator=g)


BPR_CASES = {
    "one pair, equal scores (log 2)": (torch.tensor([0.0]), torch.tensor([[0.0]])),
    "random, 4 negatives (seed 0)": _bpr_case(0),
    "random, 1 negative (seed 1)": _bpr_case(1, n=1),
    "scores far apart (a naive log(sigmoid) gives inf)": _bpr_case(2, scale=80.0),
}


def check_bpr(fn) -> bool:
    """E3: ``fn(pos (B,), neg (B, n)) -> scalar``: mean over B x n of -log sigma(pos - neg)."""
    return check(
        BPR_CASES,
        fn,
        bpr_loss,
        name="E3 bpr",
        atol=1e-4,
        cast=lambda v: torch.as_tensor(v, dtype=torch.float32).reshape(()),
        hint="pos[:, None] - neg broadcasts; use torch.nn.functional.logsigmoid for stability",
    )
