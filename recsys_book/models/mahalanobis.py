"""Mahalanobis metric learning for playlist continuation: MDR, MASS, MASR.

Thanh Tran, *dissertation*, Ch. 4.3 (Tran, Sweeney, Lee: "Adversarial Mahalanobis
Distance-based Attentive Song Recommender for Automatic Playlist Continuation", SIGIR 2019).

Every model here scores a candidate song ``s_k`` for a (user ``u_i``, playlist ``p_j``)
pair and returns the **negated distance** (higher = more preferred), so the BPR loss of
Eq. (4.30), ``-log sigma(o(k-) - o(k+))`` on distances, is ``fit(..., loss="bpr")`` on scores.

* :class:`MDR`  (Eq. 4.13-4.20): o = ||B1*(u - s)||^2 + ||B2*(p - s)||^2 + theta_s.
  ``use_user`` / ``use_playlist`` give the ablations MDR_us, MDR_ps (Table 4.5).
* :class:`MASS` (Eq. 4.21-4.28): a personalised query q = ReLU(W1 [u; s_k] + b1), squared
  Mahalanobis distances from q to every member song of the playlist, weighted by the
  *memory metric-based attention* (its own user/song memories U^(a), S^(a), its own query
  layer W2 and metric vector B4; softmin over distances; padding gets weight 0).
  ``query`` = "user" (MASS_us, the paper's MASS), "playlist" (MASS_ps) or "both"
  (MASS_ups); ``attention`` = "mem-metric" (the paper's), "mem-dot", "nonmem-metric",
  "nonmem-dot" (Table 4.6).
* :class:`MASR` (Eq. 4.29): o = alpha * o(MDR) + (1 - alpha) * o(MASS) with both parts
  pre-trained and frozen (the authors' code uses a fixed alpha = 0.5).

The paper's training settings (Sec. 4.3.4): Adam, lr 1e-3, batch 256, 4 negatives, d in
{8, 16, 32, 64}, 50 epochs, alpha = 0.5, APR with eps in {0.5, 1}, lambda_delta = 1
(``reproduce masr`` says which it uses).

Readings we took where the text is loose (and why):

* The metric is diagonal: ``B`` is a vector, ``d_M^2(x, y) = ||B * (x - y)||^2``
  (Eq. 4.12), initialised to ones (= squared Euclidean), as in the authors' code.
* Eq. (4.23) writes ``||e^T e||_2^2``, literally a 4th power; the prose says "squared
  Mahalanobis distance", so we use ``e^T e``.
* Eq. (4.28) carries a minus sign that Eq. (4.20) does not; we treat both o(MDR) and
  o(MASS) as distances (lower = better) and negate once in ``score``.
* "non-mem" attention reuses the main query q_ik and the main member-song embeddings
  s_t (no external memory) but keeps its own metric vector B4 (with B4 = B3 the attention
  would be a fixed function of the very distances it weights).
* Member songs are the playlist's other *training* tracks (``inputs['context']`` from
  :func:`~recsys_book.data.splits.playlist_holdout`, padded with index ``n_items``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from recsys_book.analysis import attention_pmi_pairs, pearson
from recsys_book.analysis import pmi_matrix as pmi_by_group
from recsys_book.models.base import Recommender
from recsys_book.nn import (
    check_context,
    diag_mahalanobis_sq,
    lookup,
    masked_softmax,
    pairwise_diag_mahalanobis_sq,
)

ATTENTIONS = ("mem-metric", "mem-dot", "nonmem-metric", "nonmem-dot")
QUERIES = ("user", "playlist", "both")


# ---- distances: the squared diagonal Mahalanobis distance of Eq. (4.12) lives in
# recsys_book.nn (diag_mahalanobis_sq, pairwise_diag_mahalanobis_sq), shared with the chapter


def _check_playlist(model: str, playlist) -> torch.Tensor:
    if playlist is None:
        raise ValueError(
            f"{model} needs inputs['playlist'] (the playlist id of each row); build the split with "
            "playlist_holdout(inter) (fit then excludes each playlist's songs from its negatives)."
        )
    return playlist


def _check_context(model: str, context, context_mask, n_items: int):
    return check_context(
        context,
        context_mask,
        n_items,
        model,
        "the playlist's member songs, padded with n_items; build the split with "
        "playlist_holdout(inter)",
    )


def n_playlists(split) -> int:
    """Number of playlists of a :func:`playlist_holdout` split (ids 0..n-1)."""
    n = split.history.meta.get("n_playlists")
    if n is None:
        raise ValueError("this split has no playlists; build it with playlist_holdout(inter).")
    return int(n)


# ---- MDR ------------------------------------------------------------------------------


class MDR(Recommender):
    """Mahalanobis Distance based Recommender (Eq. 4.20); score = -o(MDR).

    o(u_i, p_j, s_k) = ||B1 * (u_i - s_k)||^2 + ||B2 * (p_j - s_k)||^2 + theta_{s_k}.
    ``use_user=False`` is MDR_ps, ``use_playlist=False`` is MDR_us (Table 4.5).
    ``learn_metric=False`` freezes B1 = B2 = 1 (squared Euclidean, a CML-like model with a
    song bias) for the Mahalanobis-vs-Euclidean comparison.
    """

    exclude_by = "playlist"  # negatives avoid the playlist's songs (fit reads it)

    def __init__(
        self,
        n_users: int,
        n_items: int,
        n_playlists: int,
        dim: int = 64,
        use_user: bool = True,
        use_playlist: bool = True,
        learn_metric: bool = True,
        init_std: float = 0.1,
    ):
        super().__init__(n_users, n_items)
        if not (use_user or use_playlist):
            raise ValueError(
                "MDR needs use_user or use_playlist (or both); both False leaves no distance."
            )
        if n_playlists < 1:
            raise ValueError(
                f"n_playlists must be positive, got {n_playlists}; use n_playlists(split)."
            )
        self.n_playlists, self.use_user, self.use_playlist = (
            int(n_playlists),
            use_user,
            use_playlist,
        )
        self.song = nn.Embedding(n_items, dim)
        self.bias = nn.Embedding(n_items, 1)  # theta_s = beta_s + gamma_s (Eq. 4.19)
        nn.init.normal_(self.song.weight, std=init_std)
        nn.init.zeros_(self.bias.weight)
        metric = (
            (lambda: nn.Parameter(torch.ones(dim))) if learn_metric else (lambda: torch.ones(dim))
        )
        if use_user:
            self.user = nn.Embedding(n_users, dim)
            nn.init.normal_(self.user.weight, std=init_std)
            self._metric("B1", metric())
        if use_playlist:
            self.playlist = nn.Embedding(n_playlists, dim)
            nn.init.normal_(self.playlist.weight, std=init_std)
            self._metric("B2", metric())

    def _metric(self, name, value):
        if isinstance(value, nn.Parameter):
            self.register_parameter(name, value)
        else:
            self.register_buffer(name, value)

    def distance(self, users, items, playlist=None, **inputs) -> torch.Tensor:
        """o(MDR) (B, C): lower = more relevant (Eq. 4.20)."""
        s = lookup(self.song, items)  # (B, C, d)
        o = lookup(self.bias, items).squeeze(-1)  # (B, C)  theta_s
        if self.use_user:
            o = o + diag_mahalanobis_sq(lookup(self.user, users)[:, None, :], s, self.B1)  # o(u_i, s_k)
        if self.use_playlist:
            p = lookup(self.playlist, _check_playlist("MDR", playlist))[:, None, :]  # (B, 1, d)
            o = o + diag_mahalanobis_sq(p, s, self.B2)  # o(p_j, s_k)
        return o

    def score(self, users, items, **inputs):
        return -self.distance(users, items, **inputs)

    def regularization(self, users, items, playlist=None, **inputs):
        """lambda_Theta ||Theta||^2 of Eq. (4.30) on the rows of the batch, per row."""
        r = lookup(self.song, items).pow(2).sum()
        if self.use_user:
            r = r + lookup(self.user, users).pow(2).sum()
        if self.use_playlist and playlist is not None:
            r = r + lookup(self.playlist, playlist).pow(2).sum()
        return r / users.shape[0]


def mdr_variant(name: str, n_users: int, n_items: int, n_playlists: int, **kw) -> MDR:
    """MDR_us, MDR_ps or MDR_ups (= MDR) of Table 4.5 by name ("us", "ps", "ups")."""
    flags = {"us": (True, False), "ps": (False, True), "ups": (True, True)}
    if name not in flags:
        raise ValueError(f"MDR variant must be one of {sorted(flags)}, got {name!r}")
    u, p = flags[name]
    return MDR(n_users, n_items, n_playlists, use_user=u, use_playlist=p, **kw)


# ---- MASS -----------------------------------------------------------------------------


class MASS(Recommender):
    """Mahalanobis distance based Attentive Song Similarity recommender; score = -o(MASS).

    o = sum_t alpha_ikt ||B3 * (q_ik - s_t)||^2 + b_{s_k}   (Eq. 4.22-4.24, 4.28),
    q_ik = ReLU(W1 [u_i; s_k] + b1)                        (Eq. 4.21),
    alpha_ikt = softmin_t ||B4 * (q^(a)_ik - s^(a)_t)||^2  (Eq. 4.25-4.27), padding -> 0.

    Inputs: ``context`` (B, L) member songs padded with ``n_items``, ``context_mask`` (B, L),
    and ``playlist`` (B,) for ``query`` "playlist"/"both".
    """

    exclude_by = "playlist"  # negatives avoid the playlist's songs (fit reads it)

    def __init__(
        self,
        n_users: int,
        n_items: int,
        n_playlists: int | None = None,
        dim: int = 64,
        query: str = "user",
        attention: str = "mem-metric",
        init_std: float = 0.1,
    ):
        super().__init__(n_users, n_items)
        if query not in QUERIES:
            raise ValueError(f"query must be one of {QUERIES}, got {query!r}")
        if attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {ATTENTIONS}, got {attention!r}")
        if query != "user" and not n_playlists:
            raise ValueError(f"query={query!r} needs n_playlists (use n_playlists(split)).")
        self.query, self.attention = query, attention
        self.memory = attention.startswith("mem-")
        self.metric_attention = attention.endswith("metric")
        self.n_playlists = int(n_playlists or 0)
        pad = n_items
        n_in = 3 if query == "both" else 2

        def emb(n, padding=False):
            e = nn.Embedding(n + 1, dim, padding_idx=n) if padding else nn.Embedding(n, dim)
            nn.init.normal_(e.weight, std=init_std)
            if padding:
                with torch.no_grad():
                    e.weight[n].zero_()
            return e

        # Embedding layer (Sec. 4.3.3): U, S (+ P for the playlist variants); row n_items = padding
        self.song = emb(n_items, padding=True)
        self.user = emb(n_users) if query in ("user", "both") else None
        self.playlist = emb(self.n_playlists) if query in ("playlist", "both") else None
        self.W1 = nn.Linear(n_in * dim, dim)  # Eq. (4.21)
        self.B3 = nn.Parameter(torch.ones(dim))  # Eq. (4.23)
        self.bias = nn.Embedding(n_items + 1, 1, padding_idx=pad)  # b_s
        nn.init.zeros_(self.bias.weight)
        # Attention layer: external memories U^(a), S^(a) (+ P^(a)) and W2 (Eq. 4.25)
        if self.memory:
            self.song_a = emb(n_items, padding=True)
            self.user_a = emb(n_users) if self.user is not None else None
            self.playlist_a = emb(self.n_playlists) if self.playlist is not None else None
            self.W2 = nn.Linear(n_in * dim, dim)
        if self.metric_attention:
            self.B4 = nn.Parameter(torch.ones(dim))  # Eq. (4.26)

    # the owners of the query: u_i, p_j or both
    def _owners(self, users, playlist, user_tab, playlist_tab) -> list[torch.Tensor]:
        out = []
        if user_tab is not None:
            out.append(lookup(user_tab, users))
        if playlist_tab is not None:
            out.append(lookup(playlist_tab, _check_playlist("MASS", playlist)))
        return out

    @staticmethod
    def _make_query(W: nn.Linear, owners: list[torch.Tensor], s_k: torch.Tensor) -> torch.Tensor:
        """ReLU(W [owner; s_k] + b): owners (B, d) each, s_k (B, C, d) -> (B, C, d)."""
        C = s_k.shape[1]
        x = torch.cat([o[:, None, :].expand(-1, C, -1) for o in owners] + [s_k], dim=-1)
        return F.relu(W(x))

    def _parts(self, users, items, context, context_mask, playlist):
        context, context_mask = _check_context("MASS", context, context_mask, self.n_items)
        s_k = lookup(self.song, items)  # (B, C, d)
        q = self._make_query(self.W1, self._owners(users, playlist, self.user, self.playlist), s_k)
        members = lookup(self.song, context)  # (B, L, d)
        dist = pairwise_diag_mahalanobis_sq(q, members, self.B3)  # (B, C, L) Eq. 4.24
        if self.memory:
            qa = self._make_query(
                self.W2,
                self._owners(users, playlist, self.user_a, self.playlist_a),
                lookup(self.song_a, items),
            )  # (B, C, d) Eq. 4.25
            ma = lookup(self.song_a, context)  # (B, L, d)
        else:
            qa, ma = q, members
        if self.metric_attention:
            logits = -pairwise_diag_mahalanobis_sq(qa, ma, self.B4)  # Eq. 4.26
        else:
            logits = torch.einsum("bcd,bld->bcl", qa, ma)  # dot attention
        alpha = masked_softmax(logits, context_mask)  # (B, C, L) Eq. 4.27
        return dist, alpha

    def attention_weights(
        self, users, items, context=None, context_mask=None, playlist=None, **inputs
    ):
        """alpha_ikt (B, C, L): weight of member song t for candidate k; 0 on padding."""
        return self._parts(users, items, context, context_mask, playlist)[1]

    def distance(self, users, items, context=None, context_mask=None, playlist=None, **inputs):
        """o(MASS) (B, C): attentive distance to the member songs plus song bias (Eq. 4.28)."""
        dist, alpha = self._parts(users, items, context, context_mask, playlist)
        return (alpha * dist).sum(-1) + lookup(self.bias, items).squeeze(-1)

    def score(self, users, items, **inputs):
        return -self.distance(users, items, **inputs)

    def regularization(self, users, items, context=None, playlist=None, **inputs):
        r = lookup(self.song, items).pow(2).sum()
        if self.user is not None:
            r = r + lookup(self.user, users).pow(2).sum()
        if self.playlist is not None and playlist is not None:
            r = r + lookup(self.playlist, playlist).pow(2).sum()
        return r / users.shape[0]


def mass_distance_naive(
    model: MASS, users, items, context, context_mask, playlist=None
) -> torch.Tensor:
    """o(MASS) computed with a Python loop over member songs t (Eq. 4.22-4.28 literally).

    The reference for tests and the baseline of ``benchmarks/bench_masr.py``."""
    s_k = model.song(items)
    q = model._make_query(model.W1, model._owners(users, playlist, model.user, model.playlist), s_k)
    if model.memory:
        qa = model._make_query(
            model.W2,
            model._owners(users, playlist, model.user_a, model.playlist_a),
            model.song_a(items),
        )
    dists, logits = [], []
    for t in range(context.shape[1]):
        s_t = model.song(context[:, t])[:, None, :]  # (B, 1, d)
        dists.append(diag_mahalanobis_sq(q, s_t, model.B3))  # (B, C)
        ka, sa = (qa, model.song_a(context[:, t])[:, None, :]) if model.memory else (q, s_t)
        logits.append(
            -diag_mahalanobis_sq(ka, sa, model.B4) if model.metric_attention else (ka * sa).sum(-1)
        )
    alpha = masked_softmax(torch.stack(logits, -1), context_mask)
    return (alpha * torch.stack(dists, -1)).sum(-1) + model.bias(items).squeeze(-1)


# ---- MASR -----------------------------------------------------------------------------


class MASR(Recommender):
    """MASR = alpha * MDR + (1 - alpha) * MASS on distances (Eq. 4.29); score = -o(MASR).

    Both parts are trained first (e.g. with ``fit``) and kept fixed: MASR itself is not
    trained (its ``parameters()`` are the parts', so do not pass it to ``fit``)."""

    def __init__(self, mdr: MDR, mass: MASS, alpha: float = 0.5):
        super().__init__(mdr.n_users, mdr.n_items)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
        if (mdr.n_users, mdr.n_items) != (mass.n_users, mass.n_items):
            raise ValueError(
                "MDR and MASS must be built on the same split (same n_users, n_items)."
            )
        self.mdr, self.mass, self.alpha = mdr, mass, float(alpha)

    def score(self, users, items, **inputs):
        return self.alpha * self.mdr.score(users, items, **inputs) + (
            1 - self.alpha
        ) * self.mass.score(users, items, **inputs)


# ---- attention analysis (Fig. 4.13) ------------------------------------------------------


def pmi_matrix(split, smoothing: float = 0.1) -> torch.Tensor:
    """PMI(k, t) = log P(k, t) / (P(k) P(t)) over training playlists (n_items, n_items).

    P(k, t): share of playlists holding both songs; ``smoothing`` is added to every
    co-occurrence count so that never co-occurring pairs get a finite, low PMI."""
    return pmi_by_group(split.train.df, split.n_items, "playlist", smoothing, n_groups=n_playlists(split))


@torch.no_grad()
def pmi_attention_correlation(
    model: MASS, split, evalset=None, max_rows: int = 2000
) -> tuple[float, dict]:
    """Pearson correlation between MASS attention on the held-out target song and the
    "PMI attention" softmax_t PMI(target, t) over the same member songs (Fig. 4.13).

    Returns (rho, {"pmi": array, "attention": array}) over all real (row, member) pairs."""
    ev = evalset if evalset is not None else split.test
    n = min(len(ev), max_rows)
    users, target = ev.users[:n], ev.candidates[:n, :1]
    inputs = {k: v[:n] for k, v in ev.inputs.items()}
    dev = next(model.parameters()).device
    a = model.attention_weights(
        users.to(dev), target.to(dev), **{k: v.to(dev) for k, v in inputs.items()}
    )
    a = a[:, 0, :].cpu()  # (n, L)
    x, y = attention_pmi_pairs(a, target[:, 0], inputs["context"], inputs["context_mask"], pmi_matrix(split),
                               softmax=True)  # fmt: skip
    return pearson(x, y), {"pmi": x.numpy(), "attention": y.numpy()}
