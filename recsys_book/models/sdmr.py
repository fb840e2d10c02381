"""SDP, SDM and SDMR: signed distances and a multi-hop memory (Tran, Liu, Lee, Kong,
*Signed Distance-based Deep Memory Recommender*, WWW 2019, Section 4; dissertation Ch. 5.2).

Every model here computes a **signed distance** o(u, j): lower = user u prefers item j more
(negative inside the user's preference boundary, positive outside). ``score`` returns its
negation (higher = preferred), as every model of the course does, so BPR on scores is the
paper's Eq. (21): -log sigma(o(u, j-) - o(u, j+)).

* :class:`SDP`  (Sec. 4.1, Eq. 1-6): an MLP over [u; v] with tanh, an element-wise square,
  an edge-weight layer.
* :class:`SDM`  (Sec. 4.2, Eq. 7-18): input / output memories, an input module (query),
  a metric attention (squared L2 after a learned combination, softmax of minus it), an
  output module (attentive sum of squared combinations + edge weights) and gated hops
  (Eq. 14-16) with the paper's *global* weight sharing across hops.
* :class:`SDMR` (Sec. 4.3, Eq. 20): ReLU(w_u^T [e_SDP; e_SDM] + b_u) over a pre-trained,
  frozen SDP and SDM. :class:`SDMRWeighted` is Eq. (19): beta * o_SDP + (1 - beta) * o_SDM.

Inputs: ``score(users (B,), items (B, C), context=(B, s), context_mask=(B, s))``; the
context is the user's s most recent items before the target (general task,
:func:`recsys_book.data.splits.add_recent_context`) or the rest of the basket
(:func:`recsys_book.data.splits.basket_split`). Padding index = ``n_items`` (embeddings
have ``n_items + 1`` rows); padded slots get exactly zero attention.

Readings we took where the paper is silent or differs from the authors' code:

* The output query p_ij (Eq. 8) is computed once: with global weight sharing
  (W_b^(1) = ... = W_b^(h)) and no update rule for p, p^(h) = p for every hop.
* A row with no context at all (a user's first interaction) gets all-zero attention, so
  e = 0 and o_SDM = b_e (the paper never meets such rows; its users have history); see
  the SDMR item below for what that means in training.
* Eq. (5) squares, as the paper says (the authors' code takes |z|); we add no extra
  ReLU(Linear) per context item (the authors' code does).
* SDMR's head is initialised from the pre-trained heads with the authors' beta = 0.9 as
  the share of SDM ("contribution of SDM" in their code): w_u = [0.1 w_o; 0.9 w_e],
  b_u = 0.1 b_o + 0.9 b_e, i.e. Eq. (19) with 0.1 on SDP (``SDMRWeighted(sdp, sdm, 0.1)``).
* A row with no context (a user's first interaction, about 1% of ML-100k's training rows,
  never a validation or test row) has o_SDM = b_e for every candidate: SDM gives it a
  constant score and its gradient reaches only b_e (the BPR difference cancels b_e, so in
  effect no gradient). We keep such rows (the loop does not know the model) and document
  it; SDMR still ranks them through SDP.
* Dropout (the authors' 0.2) acts on e^(h) before the edge weights, in training only;
  ``dropout=0`` by default (the experiment selects it on validation).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from recsys_book.models.base import Recommender
from recsys_book.nn import check_context, lookup

_ACTIVATIONS = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "identity": lambda x: x,
    "sigmoid": torch.sigmoid,
}


def _activation(name: str):
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {name!r}")
    return _ACTIVATIONS[name]


@dataclass
class SDMRConfig:
    """The paper's settings (Sec. 5.3) with the authors' code where the paper gives none."""

    dim: int = 128  # d, searched in {8, 16, 32, 64, 128}
    hops: int = 3  # SDM-h, h in {1, 2, 3, 4}
    context: int = 5  # s most recent items, searched in {5, 10, 20}
    sdp_layers: int = 1  # "we use one layer perceptron for SDP"
    n_negatives: int = 4
    batch_size: int = 256
    lr: float = 1e-3  # Adam
    weight_decay: float = 1e-3  # authors' code
    beta_init: float = 0.9  # SDMR head initialisation: SDM's share (authors' code)


class _Split2(nn.Module):
    """A Linear over a concatenation [a; b] computed as W_a a + W_b b + bias, so that a
    (B, C, d) query and (B, s, d) context can be combined by broadcasting without
    materialising the (B, C, s, 2d) concatenation. Its ``weight`` is the (out, 2d) W."""

    def __init__(self, dim_a: int, dim_b: int, out: int):
        super().__init__()
        self.lin = nn.Linear(dim_a + dim_b, out)
        self.dim_a = dim_a

    @property
    def weight(self) -> torch.Tensor:
        return self.lin.weight

    @property
    def bias(self) -> torch.Tensor:
        return self.lin.bias

    def part_a(self, a: torch.Tensor) -> torch.Tensor:
        return a @ self.lin.weight[:, : self.dim_a].T + self.lin.bias

    def part_b(self, b: torch.Tensor) -> torch.Tensor:
        return b @ self.lin.weight[:, self.dim_a :].T

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.part_a(a) + self.part_b(b)


class _TanhSquare(torch.autograd.Function):
    """square(tanh(a_c + b_k)) over every (candidate c, context item k): Eq. (13)'s r^2.

    a (B, C, d), b (B, s, d) -> (B, C, s, d). A hand-written backward (one product and one
    in-place ``tanh_backward`` pass over (B, C, s, d), then the two broadcast reductions)
    replaces autograd's four passes; the same values and gradients (checked by gradcheck)."""

    @staticmethod
    def forward(ctx, a, b):
        t = a[:, :, None, :] + b[:, None, :, :]  # (B, C, s, d)
        torch.tanh(t, out=t)
        ctx.save_for_backward(t)
        return t * t

    @staticmethod
    def backward(ctx, grad):
        (t,) = ctx.saved_tensors
        return _tanh_sq_backward(grad * t, t)


def _tanh_sq_backward(gx: torch.Tensor, t: torch.Tensor):
    """gx = grad * t, t = tanh(a_c + b_k) (B, C, s, d) -> (grad a (B, C, d), grad b (B, s, d))
    of tanh(.)^2: 2 * gx * (1 - t^2), summed over the broadcast dimensions. ``gx`` is
    overwritten (in place: one pass and no new (B, C, s, d) buffer)."""
    torch.ops.aten.tanh_backward.grad_input(gx, t, grad_input=gx)
    return gx.sum(2).mul_(2), gx.sum(1).mul_(2)


class _TanhSqNorm(torch.autograd.Function):
    """z_ck = ||tanh(a_c + b_k)||^2 over every (candidate c, context item k): Eq. (9)/(16).

    a (B, C, d), b (B, s, d) -> (B, C, s). The forward is one norm reduction (no t * t
    buffer) and then turns t into u = t (1 - t^2) in place, all the backward needs
    (dz/da_c = 2 sum_k u_ck): the backward is then s + C multiply-adds into the two small
    gradients, no (B, C, s, d) pass. ``recompute=True`` keeps only a and b and recomputes
    tanh in the backward (less memory, more passes)."""

    @staticmethod
    def forward(ctx, a, b, recompute: bool = False, backward: bool = True):
        # backward=False (the caller runs without grad, e.g. evaluation): the same z, no u
        t = a[:, :, None, :] + b[:, None, :, :]  # (B, C, s, d)
        torch.tanh(t, out=t)
        z = torch.linalg.vector_norm(t, dim=-1).square_()
        ctx.recompute = recompute
        if not backward:
            return z
        if recompute:
            ctx.save_for_backward(a, b)
        else:
            torch.ops.aten.tanh_backward.grad_input(t, t, grad_input=t)  # u = t (1 - t^2)
            ctx.save_for_backward(t)
        return z

    @staticmethod
    def backward(ctx, grad):
        if ctx.recompute:
            a, b = ctx.saved_tensors
            t = torch.tanh(a[:, :, None, :] + b[:, None, :, :])
            return (*_tanh_sq_backward(t * grad[..., None], t), None, None)
        (u,) = ctx.saved_tensors
        g2 = 2 * grad  # (B, C, s)
        C, s_ = g2.shape[1], g2.shape[2]
        if max(C, s_) > 32:  # many candidates or context items: two reductions instead
            gx = u * g2[..., None]
            return gx.sum(2), gx.sum(1), None, None
        ga = g2[:, :, 0, None] * u[:, :, 0]  # (B, C, d)
        for k in range(1, s_):
            ga.addcmul_(g2[:, :, k, None], u[:, :, k])
        gb = g2[:, 0, :, None] * u[:, 0]  # (B, s, d)
        for c in range(1, C):
            gb.addcmul_(g2[:, c, :, None], u[:, c])
        return ga, gb, None, None


class _AttnSum(torch.autograd.Function):
    """e_c = sum_k a_ck r2_ck over the s context items: Eq. (13)/(18)'s attentive sum.

    a (B, C, s), r2 (B, C, s, d) -> (B, C, d). Forward as s in-place multiply-adds into one
    (B, C, d) buffer (no (B, C, s, d) product is written); backward: grad a as one batched
    matrix-vector product, grad r2 as one outer product. Same values as
    ``(a[..., None] * r2).sum(2)`` up to the order of the s additions."""

    @staticmethod
    def forward(ctx, a, r2):
        e = a[:, :, 0, None] * r2[:, :, 0]
        for k in range(1, a.shape[-1]):
            e.addcmul_(a[:, :, k, None], r2[:, :, k])
        ctx.save_for_backward(a, r2)
        return e

    @staticmethod
    def backward(ctx, ge):
        a, r2 = ctx.saved_tensors
        ga = (r2 @ ge[..., None]).squeeze(-1) if ctx.needs_input_grad[0] else None
        gr2 = a[..., None] * ge[:, :, None, :] if ctx.needs_input_grad[1] else None
        return ga, gr2


# ---- 4.1 SDP --------------------------------------------------------------------------


class SDP(Recommender):
    """Signed Distance-based Perceptron (Sec. 4.1). score = -o_SDP (Eq. 6).

    e^(1) = f(W^(1) [u_i; v_j] + b^(1))          Eq. (1)
    e^(l) = f(W^(l) e^(l-1) + b^(l))             Eq. (2)-(4)
    e^(l+1) = square(e^(l))                      Eq. (5)
    o_SDP = w_o^T e^(l+1) + b_o                  Eq. (6)
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        dim: int = 64,
        layers: int = 1,
        activation: str = "tanh",
        init_std: float = 0.1,
    ):
        super().__init__(n_users, n_items)
        if layers < 1:
            raise ValueError(f"SDP needs at least one MLP layer, got layers={layers}")
        self.dim = dim
        self.f = _activation(activation)
        self.user = nn.Embedding(n_users, dim)
        self.item = nn.Embedding(n_items + 1, dim)  # row n_items = padding
        nn.init.normal_(self.user.weight, std=init_std)
        nn.init.normal_(self.item.weight, std=init_std)
        self.first = _Split2(dim, dim, dim)  # W^(1) over [u; v]
        self.mlp = nn.ModuleList(nn.Linear(dim, dim) for _ in range(layers - 1))
        self.out = nn.Linear(dim, 1)  # w_o, b_o

    def features(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """e^(l+1) of Eq. (5), (B, C, d): the non-negative per-dimension distances."""
        u = lookup(self.user, users)  # (B, d)
        v = lookup(self.item, items)  # (B, C, d)
        e = self.f(self.first.part_a(u)[:, None, :] + self.first.part_b(v))  # Eq. (1)  (B, C, d)
        for layer in self.mlp:
            e = self.f(layer(e))  # Eq. (2)-(4)
        return e * e  # Eq. (5)

    def distance(self, users: torch.Tensor, items: torch.Tensor, **inputs) -> torch.Tensor:
        """o_SDP (B, C), Eq. (6): lower = preferred."""
        return self.out(self.features(users, items)).squeeze(-1)

    def score(self, users, items, **inputs):
        return -self.distance(users, items)


# ---- 4.2 SDM --------------------------------------------------------------------------


class SDM(Recommender):
    """Signed Distance-based Memory network (Sec. 4.2) with ``hops`` gated hops.

    Memories: U_in, V_in (attention) and U_out, V_out (output), Sec. 4.2.1.
    All weights (W_a, W_b, W_c, W_d, W_g, w_e and biases) are shared by every hop
    (the paper's *global weight constraint*), so the parameter count does not grow with
    ``hops``. score = -o_SDM (Eq. 17).
    """

    # hand-written backward for the tanh terms and the attentive sum (_TanhSqNorm,
    # _TanhSquare, _AttnSum): the same values and gradients up to float rounding (gradcheck,
    # tests/test_sdmr.py). A lever chosen per device, by measurement: on the CPU it is the
    # fastest path of benchmarks/bench_sdmr.py (SDM-3 forward + backward 3.22 s per ML-100k
    # epoch vs 3.84 s for autograd on 2 threads, 5.42 vs 6.84 s on 1); on CUDA it was 0.82-0.98x
    # the autograd path (issue 26, one H200; benchmarks/bench_gpu.py times both), and under
    # torch.compile the autograd path wins on the CPU too (Inductor fuses it: SDM-3 epoch
    # 4.16 s vs 4.92 s hand-written, 1 thread, bench_gpu --cpu-only). ``None`` (default): on
    # where the weights are on the CPU and the step is not being compiled, else off; ``True``
    # / ``False`` force it (any activation other than tanh uses autograd anyway).
    fused_backward: bool | None = None

    def __init__(
        self,
        n_users: int,
        n_items: int,
        dim: int = 64,
        hops: int = 3,
        activation: str = "tanh",
        init_std: float = 0.1,
        dropout: float = 0.0,
    ):
        super().__init__(n_users, n_items)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if not 1 <= int(hops) <= 8:
            raise ValueError(f"hops must be between 1 and 8 (the paper uses 1-4), got {hops}")
        self.dim, self.hops = dim, int(hops)
        self.f = _activation(activation)
        self.user_in, self.user_out = nn.Embedding(n_users, dim), nn.Embedding(n_users, dim)
        self.item_in = nn.Embedding(n_items + 1, dim)  # row n_items = padding
        self.item_out = nn.Embedding(n_items + 1, dim)
        for emb in (self.user_in, self.user_out, self.item_in, self.item_out):
            nn.init.normal_(emb.weight, std=init_std)
        self.W_a = _Split2(dim, dim, dim)  # input module, Eq. (7)
        self.W_b = _Split2(dim, dim, dim)  # output query, Eq. (8)
        self.W_c = _Split2(dim, dim, dim)  # attention combination, Eq. (9)/(16)
        self.W_d = _Split2(dim, dim, dim)  # output combination, Eq. (13)/(18)
        self.W_g = nn.Linear(dim, dim)  # gate, Eq. (14) (global)
        self.w_e = nn.Linear(dim, 1)  # edge weights, Eq. (12)/(17)
        # on e^(h) before the edge weights, training only (eval() switches it off)
        self.drop = nn.Dropout(dropout)

    @property
    def _fused(self) -> bool:
        """The hand-written tanh backward applies (chosen per device, see ``fused_backward``;
        the activation must be tanh)."""
        on = self.fused_backward
        if on is None:
            on = self.item_in.weight.device.type == "cpu" and not torch.compiler.is_compiling()
        return on and self.f is torch.tanh

    # -- the modules of Fig. 3 --
    def query(self, users, items) -> torch.Tensor:
        """q_ij = f(W_a [u_in; v_in_j] + b_a), Eq. (7). (B, C, d)"""
        return self.f(
            self.W_a.part_a(lookup(self.user_in, users))[:, None, :] + self.W_a.part_b(lookup(self.item_in, items))
        )

    def output_query(self, users, items) -> torch.Tensor:
        """p_ij = f(W_b [u_out; v_out_j] + b_b), Eq. (8). (B, C, d)"""
        return self.f(
            self.W_b.part_a(lookup(self.user_out, users))[:, None, :]
            + self.W_b.part_b(lookup(self.item_out, items))
        )

    def attention_distance(
        self, q: torch.Tensor, context: torch.Tensor, ck: torch.Tensor | None = None
    ) -> torch.Tensor:
        """z_ijk = || f(W_c [q_ij; v_in_k] + b_c) ||^2, Eq. (9)/(16). q (B, C, d) -> (B, C, s)

        ``ck`` = W_c's context half applied to v_in_k (B, s, d), reused across hops."""
        if ck is None:
            ck = self.W_c.part_b(lookup(self.item_in, context))  # (B, s, d)
        return self._sq_norm(self.W_c.part_a(q), ck)

    def _sq_norm(self, qa: torch.Tensor, ck: torch.Tensor) -> torch.Tensor:
        """||f(qa_c + ck_k)||^2: (B, C, d), (B, s, d) -> (B, C, s)."""
        if self._fused:
            # same values, hand-written backward (prepared only when grad is on)
            return _TanhSqNorm.apply(qa, ck, False, torch.is_grad_enabled())
        comb = self.f(qa[:, :, None, :] + ck[:, None, :, :])  # (B, C, s, d)
        return (comb * comb).sum(-1)

    @staticmethod
    def attend(z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """a_ijk = exp(-z_ijk) / sum_p exp(-z_ijp) over real context items, Eq. (10).

        z (B, C, s), mask (B, s). Padded slots get exactly 0; a row without any real
        context item gets all zeros (no NaN, no gradient through the padding): the values of
        :func:`recsys_book.nn.masked_softmax` of -z (a test), with the mask terms built once
        per batch and shared by every hop (:meth:`_mask_terms`)."""
        bias, keep = SDM._mask_terms(mask, z.dtype)
        return torch.softmax(bias - z, dim=-1) * keep  # (B, C, s)

    @staticmethod
    def _mask_terms(mask: torch.Tensor, dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """The mask as an additive bias (B, 1, s) (0 real, -1e30 padded: exp gives exactly 0
        next to any real slot) and a (B, 1, 1) factor that zeroes rows with no real slot."""
        bias = torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(~mask, -1e30)
        return bias[:, None, :], mask.any(-1).to(dtype)[:, None, None]

    def output_terms(self, p: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """square(r_ijk), r_ijk = f(W_d [p_ij; v_out_k] + b_d), Eq. (13). (B, C, s, d)"""
        dk = self.W_d.part_b(lookup(self.item_out, context))  # (B, s, d)
        pa = self.W_d.part_a(p)  # (B, C, d)
        if self._fused:
            return _TanhSquare.apply(pa, dk)
        r = self.f(pa[:, :, None, :] + dk[:, None, :, :])
        return r * r

    def _forward(
        self,
        users,
        items,
        context,
        context_mask,
        hops: int | None = None,
        keep_attention: bool = False,
    ):
        hops = self.hops if hops is None else int(hops)
        # padded slots are set to n_items: never read a real row for padding
        context, mask = check_context(context, context_mask, self.n_items, type(self).__name__)
        q = self.query(users, items)  # Eq. (7)   (B, C, d)
        p = self.output_query(users, items)  # Eq. (8)   (B, C, d)
        r2 = self.output_terms(p, context)  # Eq. (13)  square(r_ijk)  (B, C, s, d)
        ck = self.W_c.part_b(lookup(self.item_in, context))  # (B, s, d), shared by hops
        bias, keep = self._mask_terms(mask, r2.dtype)  # once per batch, not per hop
        d = self.dim
        fused = self._fused
        # W_c's query half and the gate W_g both act on q: one (2d, d) product per hop
        w = torch.cat([self.W_c.lin.weight[:, :d], self.W_g.weight], 0)
        b = torch.cat([self.W_c.lin.bias, self.W_g.bias], 0)
        attn = []
        e = None
        for h in range(1, hops + 1):
            # (B, C, 2d): [W_c q + b_c ; W_g q + b_g], the gate only where a next hop uses it
            qg = F.linear(q, w, b) if h < hops else self.W_c.part_a(q)
            z = self._sq_norm(qg[..., :d], ck)  # Eq. (9) / (16)  (B, C, s)
            a = torch.softmax(bias - z, dim=-1) * keep  # Eq. (10)-(11)  (B, C, s)
            # Eq. (13) / (18)  (B, C, d)
            e = _AttnSum.apply(a, r2) if fused else (a[..., None] * r2).sum(2)
            if keep_attention:
                attn.append(a)
            if h < hops:
                g = torch.sigmoid(qg[..., d:])  # Eq. (14)
                q = (1 - g) * e + g * q  # Eq. (15)
        return self.drop(e), attn

    def features(self, users, items, context=None, context_mask=None, **inputs) -> torch.Tensor:
        """e_ij^(h) of the last hop, Eq. (18): (B, C, d)."""
        return self._forward(users, items, context, context_mask)[0]

    def candidate_cost(self, context=None, **inputs) -> int:
        """(B, C, s, d) tensors per hop: s * d floats per (row, candidate)."""
        return (1 if context is None else max(1, context.shape[-1])) * self.dim

    def distance(self, users, items, context=None, context_mask=None, **inputs) -> torch.Tensor:
        """o_SDM-h = w_e^T e^(h) + b_e, Eq. (17): (B, C), lower = preferred."""
        return self.w_e(self.features(users, items, context, context_mask)).squeeze(-1)

    def score(self, users, items, context=None, context_mask=None, **inputs):
        return -self.distance(users, items, context, context_mask)

    @torch.no_grad()
    def attention(
        self, users, items, context, context_mask=None, hops: int | None = None
    ) -> torch.Tensor:
        """Attention weights per hop: (hops, B, C, s) for candidates ``items`` (B, C), or
        (hops, B, s) when ``items`` is (B,). Padded slots are 0; real ones sum to 1."""
        squeeze = items.dim() == 1
        items = items[:, None] if squeeze else items
        _, attn = self._forward(users, items, context, context_mask, hops=hops, keep_attention=True)
        out = torch.stack(attn)
        return out[:, :, 0] if squeeze else out


# ---- 4.3 SDMR -------------------------------------------------------------------------


class SDMR(Recommender):
    """Fusion of a pre-trained, frozen SDP and SDM (Eq. 20):

        o = ReLU(w_u^T [e_SDP^(l+1); e_SDM^(h)] + b_u)

    Only w_u, b_u are trained (SDP and SDM get ``requires_grad=False``). ``relu=False``
    drops the ReLU. Note what the ReLU does to a *distance*: every candidate whose
    pre-activation is negative (inside the boundary: the preferred ones) gets exactly 0,
    so the top of the ranking is one big tie. Evaluate with a tie-neutral evaluator.
    """

    def __init__(self, sdp: SDP, sdm: SDM, relu: bool = True, beta_init: float = 0.9):
        if (sdp.n_users, sdp.n_items) != (sdm.n_users, sdm.n_items):
            raise ValueError("SDP and SDM must be trained on the same users and items")
        super().__init__(sdp.n_users, sdp.n_items)
        self.sdp, self.sdm, self.relu = sdp, sdm, relu
        for p in list(sdp.parameters()) + list(sdm.parameters()):
            p.requires_grad_(False)
        self.head = nn.Linear(sdp.dim + sdm.dim, 1, device=sdp.out.weight.device)  # w_u, b_u
        if not 0.0 <= beta_init <= 1.0:
            raise ValueError(f"beta_init must be in [0, 1], got {beta_init}")
        b = float(beta_init)  # the authors' beta: the share of SDM
        with torch.no_grad():  # start at the beta-weighted sum of the two heads (authors' code)
            self.head.weight.copy_(torch.cat([(1 - b) * sdp.out.weight, b * sdm.w_e.weight], 1))
            self.head.bias.copy_((1 - b) * sdp.out.bias + b * sdm.w_e.bias)

    def train(self, mode: bool = True):
        super().train(mode)
        self.sdp.eval()
        self.sdm.eval()
        return self

    def distance(self, users, items, context=None, context_mask=None, **inputs):
        e = torch.cat(
            [
                self.sdp.features(users, items),
                self.sdm.features(users, items, context, context_mask),
            ],
            -1,
        )
        o = self.head(e).squeeze(-1)  # Eq. (20)
        return torch.relu(o) if self.relu else o

    def score(self, users, items, context=None, context_mask=None, **inputs):
        return -self.distance(users, items, context, context_mask)

    def candidate_cost(self, **inputs) -> int:
        return self.sdm.candidate_cost(**inputs)


class SDMRWeighted(Recommender):
    """Eq. (19): o = beta * o_SDP + (1 - beta) * o_SDM, no training (beta=0: SDM, 1: SDP)."""

    def __init__(self, sdp: SDP, sdm: SDM, beta: float = 0.5):
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"beta must be in [0, 1], got {beta}")
        super().__init__(sdp.n_users, sdp.n_items)
        self.sdp, self.sdm, self.beta = sdp, sdm, float(beta)

    def distance(self, users, items, context=None, context_mask=None, **inputs):
        return self.beta * self.sdp.distance(users, items) + (1 - self.beta) * self.sdm.distance(
            users, items, context, context_mask
        )

    def score(self, users, items, context=None, context_mask=None, **inputs):
        return -self.distance(users, items, context, context_mask)

    def candidate_cost(self, **inputs) -> int:
        return self.sdm.candidate_cost(**inputs)
