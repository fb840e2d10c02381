"""Quaternion algebra for neural recommenders (dissertation Ch. 5.3.2, Eq. 5.24-5.28, 5.33).

A **quaternion tensor** here is a plain real tensor whose last dimension d is split into
four equal blocks ``[r, a, b, c]`` of size d/4 (Eq. 5.28 is exactly that concatenation):
the quaternion ``X = r + a i + b j + c k`` (Eq. 5.24), one per position of the block, with
i^2 = j^2 = k^2 = ijk = -1, ij = k, ji = -k, jk = i, kj = -i, ki = j, ik = -j.

* :func:`split` / :func:`join`: components <-> the real tensor (Eq. 5.28, "[X]").
* :func:`hamilton`: the Hamilton product X (x) Y (Eq. 5.26), element-wise over the d/4
  positions; :func:`hamilton_matrix` its 4x4 real form (left multiplication by X).
* Component-wise operators (Eq. 5.25): :func:`cw_add`, :func:`cw_mul`, :func:`cw_dot`,
  :func:`cw_softmax`, :func:`cw_cat`; split activations (Eq. 5.27): :func:`split_act`.
* :func:`conj`, :func:`norm` (|X| per position), :func:`rotate` (v -> q v q*).
* :class:`QLinear`: the quaternion dense layer W (x) x with a quaternion weight matrix
  (n_out/4 x n_in/4 quaternions): one weight is shared by all four output components
  through the Hamilton product, so it holds a quarter of a real layer's parameters
  (Fig. 5.9: 4 instead of 16 per 4-dim block).
* :class:`QLSTMCell` (Eq. 5.33) and :class:`QGRUCell`: gates computed with QLinear,
  combined with component-wise products and split activations.

Readings we took where the text is silent:

* The quaternion weight matrix of a layer acts on a quaternion vector as in Parcollet et
  al. (the QLSTM paper the dissertation cites): out_o = sum_i W_oi (x) x_i, with the
  weight on the left (Eq. 5.33 writes W (x) p). :func:`qlinear_real_matrix` gives the
  equivalent real (n_out x n_in) block matrix, which the tests check the layer against.
* Bias vectors (g_f, ... in Eq. 5.33) are full quaternion vectors (d real numbers), not
  shared: a bias has no product to share through.
* Weights are initialised with a Glorot-like scale per component (std = 1/sqrt(2 * fan))
  with fan = n_in/4 + n_out/4 quaternions; the paper gives no initialisation.
* The GRU cell (the paper only names a "Quaternion self-Attentive GRU") is the standard
  GRU with every matrix product replaced by a QLinear and every product of gates by a
  component-wise one; the reset gate multiplies the recurrent term after its QLinear
  (the cuDNN / torch.nn.GRUCell convention).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from recsys_book.nn import masked_softmax

__all__ = [
    "split",
    "join",
    "hamilton",
    "hamilton_matrix",
    "conj",
    "norm",
    "rotate",
    "cw_add",
    "cw_mul",
    "cw_dot",
    "cw_softmax",
    "cw_cat",
    "q_chunk",
    "split_act",
    "qlinear_real_matrix",
    "gate_major_order",
    "QLinear",
    "QLSTMCell",
    "QGRUCell",
]


def _check_dim(d: int, name: str = "last dimension") -> None:
    if d % 4 != 0 or d < 4:
        raise ValueError(
            f"a quaternion tensor needs its {name} to be a positive multiple of 4 "
            f"(r, a, b, c components of size d/4), got {d}"
        )


def split(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(..., d) -> four (..., d/4) components (r, a, b, c)."""
    _check_dim(x.shape[-1])
    return tuple(x.chunk(4, dim=-1))  # type: ignore[return-value]


def join(r: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Eq. (5.28): [X] = [r, a, b, c], four (..., d/4) -> (..., d)."""
    return torch.cat([r, a, b, c], dim=-1)


def hamilton(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Eq. (5.26): the Hamilton product X (x) Y, element-wise per position; broadcasts.

    x (..., d), y (..., d) -> (..., d). Not commutative."""
    r1, a1, b1, c1 = split(x)
    r2, a2, b2, c2 = split(y)
    return join(
        r1 * r2 - a1 * a2 - b1 * b2 - c1 * c2,  # real
        r1 * a2 + a1 * r2 + b1 * c2 - c1 * b2,  # i
        r1 * b2 - a1 * c2 + b1 * r2 + c1 * a2,  # j
        r1 * c2 + a1 * b2 - b1 * a2 + c1 * r2,  # k
    )


def hamilton_matrix(x: torch.Tensor) -> torch.Tensor:
    """The 4x4 real matrix L(X) with X (x) Y = L(X) @ [r_Y, a_Y, b_Y, c_Y].

    x (..., 4) (one quaternion per row) -> (..., 4, 4)."""
    if x.shape[-1] != 4:
        raise ValueError(f"hamilton_matrix takes single quaternions (..., 4), got {tuple(x.shape)}")
    r, a, b, c = x.unbind(-1)
    rows = [
        torch.stack([r, -a, -b, -c], -1),
        torch.stack([a, r, -c, b], -1),
        torch.stack([b, c, r, -a], -1),
        torch.stack([c, -b, a, r], -1),
    ]
    return torch.stack(rows, -2)


def conj(x: torch.Tensor) -> torch.Tensor:
    """X* = r - a i - b j - c k."""
    r, a, b, c = split(x)
    return join(r, -a, -b, -c)


def norm(x: torch.Tensor) -> torch.Tensor:
    """|X| per position: (..., d) -> (..., d/4)."""
    r, a, b, c = split(x)
    return torch.sqrt(r * r + a * a + b * b + c * c)


def rotate(v: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Rotate 3-D vectors v (..., 3) by unit quaternions q (..., 4): the vector part of q v q*."""
    if v.shape[-1] != 3 or q.shape[-1] != 4:
        raise ValueError(
            f"rotate takes v (..., 3) and q (..., 4), got {tuple(v.shape)}, {tuple(q.shape)}"
        )
    pure = torch.cat([torch.zeros_like(v[..., :1]), v], -1)
    return hamilton(hamilton(q, pure), conj(q))[..., 1:]


# ---- component-wise operators (Eq. 5.25) ---------------------------------------------------


def cw_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Eq. (5.25) with f = +: the ordinary sum of the real tensors."""
    return x + y


def cw_mul(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Eq. (5.25) with f = element-wise product ("x" in Eq. 5.29, 5.31, 5.33)."""
    return x * y


def cw_dot(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Eq. (5.25) with f = dot product: four scores r_X.r_Y, a_X.a_Y, b_X.b_Y, c_X.c_Y.

    x (..., d), y (..., d) -> (..., 4)."""
    _check_dim(x.shape[-1])
    prod = (x * y).unflatten(-1, (4, x.shape[-1] // 4))  # (..., 4, d/4)
    return prod.sum(-1)


def cw_softmax(x: torch.Tensor, dim: int, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Eq. (5.25) with f = softmax over ``dim`` (a dimension other than the last), applied
    to each of the d real coordinates separately (hence to each component).

    ``mask`` (broadcastable to x without its last dim; True = keep): masked entries get
    exactly zero weight; a fully masked slice gives zeros, not NaN."""
    if dim in (-1, x.dim() - 1):
        raise ValueError("cw_softmax normalises over positions, not over the component dim")
    if mask is None:
        return torch.softmax(x, dim=dim)
    return masked_softmax(x, mask.unsqueeze(-1).expand_as(x), dim=dim)


def cw_cat(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Eq. (5.25) with f = concatenation: [r_X, r_Y], [a_X, a_Y], ... -> a quaternion
    tensor of size d_X + d_Y (its components are the concatenated components)."""
    return join(*[torch.cat([p, q], -1) for p, q in zip(split(x), split(y))])


def q_chunk(x: torch.Tensor, n: int) -> list[torch.Tensor]:
    """The inverse of repeated :func:`cw_cat`: a quaternion tensor of size n * d -> n quaternion
    tensors of size d (each component cut into n pieces). Use it to unpack a QLinear that
    computes several quaternion gates at once."""
    parts = [comp.chunk(n, dim=-1) for comp in split(x)]  # 4 x n pieces
    return [join(*(parts[k][g] for k in range(4))) for g in range(n)]


def split_act(x: torch.Tensor, fn=torch.tanh) -> torch.Tensor:
    """Eq. (5.27): beta(X) = alpha(r) + alpha(a) i + alpha(b) j + alpha(c) k. Applying a
    real activation to every coordinate is exactly that; this checks the shape."""
    _check_dim(x.shape[-1])
    return fn(x)


# ---- quaternion dense layer -----------------------------------------------------------------


def _block_pattern(device=None, dtype=None) -> tuple[torch.Tensor, torch.Tensor]:
    """(index, sign), each (4, 4): block (o, i) of the real matrix is sign[o, i] times
    component index[o, i] of the weight (r, a, b, c), read off :func:`hamilton_matrix` of
    the four unit quaternions (one copy of the Hamilton table, not two)."""
    table = hamilton_matrix(torch.eye(4, dtype=torch.float64))  # (4 components, 4 o, 4 i)
    idx = table.abs().argmax(0)
    return idx.to(device), table.sum(0).to(device=device, dtype=dtype or torch.get_default_dtype())


def qlinear_real_matrix(
    r: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor, pattern=None
) -> torch.Tensor:
    """The real (n_out, n_in) matrix of the quaternion weight (r, a, b, c each (n_out/4, n_in/4)):
    out = M @ [x_r; x_a; x_b; x_c] equals W (x) x (Eq. 5.26 per quaternion entry):

        [[r, -a, -b, -c],
         [a,  r, -c,  b],
         [b,  c,  r, -a],
         [c, -b,  a,  r]]

    built with one gather and one sign product (four ops, not twenty: a training step of
    a quaternion LSTM builds it for every layer). ``pattern``: the (index, sign) tensors on
    the weight's device (a layer keeps them as buffers; else they are made here)."""
    qo, qi = r.shape
    comps = torch.stack([r, a, b, c])  # (4, qo, qi)
    idx, sign = pattern if pattern is not None else _block_pattern(r.device, r.dtype)
    blocks = comps[idx] * sign[:, :, None, None]  # (4 o, 4 i, qo, qi)
    return blocks.permute(0, 2, 1, 3).reshape(4 * qo, 4 * qi)


def gate_major_order(n_gates: int, hidden: int) -> torch.Tensor:
    """The row order that turns a packed quaternion output of ``n_gates`` gates (size
    ``n_gates * hidden``: component-major, as :func:`cw_cat` packs it) into gate-major order
    (gate 0's quaternion vector, then gate 1's, ...): ``x[..., order]`` equals
    ``torch.cat(q_chunk(x, n_gates), -1)``, so that ``chunk`` then gives views, not copies."""
    _check_dim(hidden, "hidden size")
    h4 = hidden // 4
    return torch.arange(4 * n_gates * h4).view(4, n_gates, h4).permute(1, 0, 2).reshape(-1)


class QLinear(nn.Module):
    """Quaternion dense layer: y = W (x) x (+ bias), x (..., in_features) -> (..., out_features).

    W holds (out/4) x (in/4) quaternions: four real (out/4, in/4) matrices, a quarter of the
    in*out weights of ``nn.Linear(in, out)``. Output component o is
    sum_i W_oi (x) x_i, i.e. the real block matrix :func:`qlinear_real_matrix`."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        _check_dim(in_features, "in_features")
        _check_dim(out_features, "out_features")
        self.in_features, self.out_features = in_features, out_features
        qi, qo = in_features // 4, out_features // 4
        std = 1.0 / math.sqrt(2.0 * (qi + qo))
        self.r = nn.Parameter(torch.randn(qo, qi) * std)
        self.a = nn.Parameter(torch.randn(qo, qi) * std)
        self.b = nn.Parameter(torch.randn(qo, qi) * std)
        self.c = nn.Parameter(torch.randn(qo, qi) * std)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        idx, sign = _block_pattern()  # buffers (default dtype): they follow .to() and .double()
        self.register_buffer("_idx", idx, persistent=False)
        self.register_buffer("_sign", sign, persistent=False)

    def weight_matrix(self) -> torch.Tensor:
        """The (out, in) real matrix this layer applies."""
        return qlinear_real_matrix(self.r, self.a, self.b, self.c, (self._idx, self._sign))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.weight_matrix(), self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


# ---- recurrent cells --------------------------------------------------------------------------


class QLSTMCell(nn.Module):
    """Eq. (5.33): a quaternion LSTM step.

    f, i, o = sigma(W (x) p_t + R (x) h_{t-1} + g)      (split sigmoid)
    c_t = f x c_{t-1} + i x tanh(W_c (x) p_t + R_c (x) h_{t-1} + g_c)
    h_t = o x tanh(c_t)                                   (x: component-wise product)

    The four W (and four R) are packed into one QLinear each (output 4 * hidden).
    ``real=True`` builds the same cell with real ``nn.Linear`` layers (a plain LSTM), for
    the real-valued counterparts. :meth:`step` takes the input already projected by
    :meth:`project` (project a whole sequence at once, then loop over time) and the
    :meth:`weights` built once for the sequence; both order the gates gate-major, so a
    step cuts its gates as views (``q_chunk`` would copy four of them every step)."""

    n_gates = 4

    def __init__(self, input_size: int, hidden_size: int, real: bool = False):
        super().__init__()
        if not real:
            _check_dim(input_size, "input_size")
            _check_dim(hidden_size, "hidden_size")
        self.hidden_size, self.real = hidden_size, real
        lin = nn.Linear if real else QLinear
        self.w = lin(input_size, self.n_gates * hidden_size, bias=True)  # g_f, g_i, g_o, g_c
        self.rec = lin(hidden_size, self.n_gates * hidden_size, bias=self.n_gates == 3)
        if not real:  # a buffer, on the weights' device: no host-to-device copy per step
            self.register_buffer("_order", gate_major_order(self.n_gates, hidden_size), persistent=False)

    def weights(self) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor | None]:
        """(W, b, R, b_R): the input and recurrent projections as real matrices with their
        output rows in gate-major order (:func:`gate_major_order`), so that a step's gates
        are ``chunk`` views. Build them once per sequence and pass them to every step."""
        w, rec = self.w, self.rec
        if self.real:
            return w.weight, w.bias, rec.weight, rec.bias
        order = self._order
        pick = lambda t: None if t is None else t[order]  # noqa: E731
        return w.weight_matrix()[order], pick(w.bias), rec.weight_matrix()[order], pick(rec.bias)

    def project(self, x: torch.Tensor, weights=None) -> torch.Tensor:
        """W (x) x + g for every gate, gate-major: (..., input) -> (..., n_gates * hidden).
        Project a whole sequence at once, then give each step its slice."""
        W, b, _, _ = weights if weights is not None else self.weights()
        return nn.functional.linear(x, W, b)

    def _recurrent(self, h: torch.Tensor, weights) -> torch.Tensor:
        _, _, R, rb = weights
        return nn.functional.linear(h, R, rb)

    def step(
        self, xw: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], weights
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step from the projected input ``xw`` = :meth:`project` (gate-major: not
        ``self.w(x)``, whose gates are packed component-major), ``state`` and the
        :meth:`weights` built once for the sequence (required, so that a call in the old
        ``step(self.w(x), state)`` form fails instead of mixing the two layouts)."""
        h, c = state
        z = xw + self._recurrent(h, weights)  # (..., 4 * hidden), gate-major
        hid = self.hidden_size
        f, i, o = torch.sigmoid(z[..., : 3 * hid]).chunk(3, -1)  # split sigmoid (Eq. 5.27)
        g = z[..., 3 * hid :]
        c = cw_add(cw_mul(f, c), cw_mul(i, torch.tanh(g)))
        h = cw_mul(o, torch.tanh(c))
        return h, c

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, input) , state (h, c) each (B, hidden) -> (h_t, c_t)."""
        if state is None:
            z = x.new_zeros(x.shape[0], self.hidden_size)
            state = (z, z)
        weights = self.weights()
        return self.step(self.project(x, weights), state, weights)


class QGRUCell(QLSTMCell):
    """A quaternion GRU step (see the module's readings):

    z, r = sigma(W (x) p_t + R (x) h_{t-1} + g)
    n = tanh(W_n (x) p_t + g_n + r x (R_n (x) h_{t-1} + g_rn))
    h_t = (1 - z) x n + z x h_{t-1}"""

    n_gates = 3

    def step(self, xw: torch.Tensor, h: torch.Tensor, weights) -> torch.Tensor:
        """One step from ``xw`` = :meth:`project` (gate-major), ``h`` and :meth:`weights`."""
        wz, wr, wn = xw.chunk(3, -1)
        rz, rr, rn = self._recurrent(h, weights).chunk(3, -1)
        z = torch.sigmoid(wz + rz)  # split activation (Eq. 5.27) = element-wise
        r = torch.sigmoid(wr + rr)
        n = torch.tanh(wn + cw_mul(r, rn))
        return cw_add(cw_mul(1 - z, n), cw_mul(z, h))

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, input), h (B, hidden) -> h_t (B, hidden)."""
        if h is None:
            h = x.new_zeros(x.shape[0], self.hidden_size)
        weights = self.weights()
        return self.step(self.project(x, weights), h, weights)
