"""Algorithm 2 of the RME chapter (Tran, dissertation Ch. 4.2): RME for implicit data, with
an EM-like inference of disliked items (Eq. 4.9). Third in the chapter's reading order, after
``models/sppmi.py`` and ``models/rme.py``.

* :func:`sample_dislikes` -- the E-step: draw items a user has not observed from
  softmax(-score).

The loop around it (WMF start, then sample dislikes / refit RME while the validation metric
improves) is a training procedure: :func:`recsys_book.als.fit_implicit`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from recsys_book.data.interactions import DataError, Interactions
from recsys_book.models.base import Recommender

# ---- Algorithm 2: inferring disliked items for implicit data ----------------------------------


@torch.no_grad()
def sample_dislikes(
    model: Recommender, observed: Interactions, tau: float, seed: int = 0, batch_size: int = 1024
) -> Interactions:
    """Algorithm 2, lines 6-11 (E-step): for every user draw int(tau * #observed) items, with
    replacement, from softmax(-score) over the items the user has *not* observed (Eq. 4.9;
    observed items get rank +inf, i.e. probability exactly 0). Returns the distinct drawn
    (user, item) pairs as Interactions in ``observed``'s id space.
    """
    if not (isinstance(tau, (int, float)) and tau >= 0):
        raise ValueError(f"tau (negative sample drawing ratio) must be >= 0, got {tau!r}")
    dev = model.device
    counts = torch.as_tensor(observed.user_degree(), device=dev)
    ns = (tau * counts.double()).long()  # line 7 (int)
    ptr_items = observed.user_items()
    g = torch.Generator(device=dev).manual_seed(int(seed))
    us, its = [], []
    for a in range(0, observed.n_users, batch_size):
        users = torch.arange(a, min(a + batch_size, observed.n_users), device=dev)
        n_u = ns[users]
        if int(n_u.max()) == 0:
            continue
        s = model.score_all(users).double()  # line 8: r_u = P alpha_u
        lens = torch.as_tensor([len(ptr_items[int(u)]) for u in users], device=dev)
        r = torch.repeat_interleave(torch.arange(len(users), device=dev), lens)
        cols = torch.as_tensor(np.concatenate([ptr_items[int(u)] for u in users]), device=dev)
        s[r, cols.long()] = math.inf  # line 9
        ok = (n_u > 0) & torch.isfinite(s).any(1)
        if not bool(ok.any()):
            continue
        prob = torch.softmax(-s[ok], dim=1)  # Eq. (4.9)
        draw = torch.multinomial(prob, int(n_u[ok].max()), replacement=True, generator=g)
        keep = torch.arange(draw.shape[1], device=dev)[None, :] < n_u[ok][:, None]
        us.append(users[ok][:, None].expand_as(draw)[keep].cpu())
        its.append(draw[keep].cpu())
    if not us:
        raise DataError(f"tau={tau} draws no negative item for any user; use a larger tau.")
    pairs = pd.DataFrame({"user": torch.cat(us).numpy(), "item": torch.cat(its).numpy()})
    pairs = pairs.drop_duplicates().sort_values(["user", "item"])
    return observed.with_df(pairs, name=f"{observed.name}-inferred-dislikes")
