"""The quaternion algebra (dissertation Ch. 5.3.2), tested like a maths library."""

import math

import pytest
import torch

from recsys_book.models import quaternion as Q

ONE, I, J, K = (torch.eye(4)[n] for n in range(4))


def q(*xs):
    return torch.tensor(xs, dtype=torch.float64)


@pytest.mark.parametrize(
    "x,y,want",
    [
        (I, J, K),
        (J, I, -K),
        (J, K, I),
        (K, J, -I),
        (K, I, J),
        (I, K, -J),
        (I, I, -ONE),
        (J, J, -ONE),
        (K, K, -ONE),
        (ONE, K, K),
        (K, ONE, K),
    ],
)
def test_basis_products(x, y, want):
    assert torch.equal(Q.hamilton(x, y), want)


def test_ijk_is_minus_one():
    assert torch.equal(Q.hamilton(Q.hamilton(I, J), K), -ONE)


def test_not_commutative_on_random():
    g = torch.Generator().manual_seed(0)
    p, r = torch.randn(2, 8, generator=g, dtype=torch.float64)
    assert not torch.allclose(Q.hamilton(p, r), Q.hamilton(r, p))


def test_norm_is_multiplicative_and_product_associative():
    g = torch.Generator().manual_seed(1)
    p, r, s = torch.randn(3, 5, 12, generator=g, dtype=torch.float64)
    torch.testing.assert_close(Q.norm(Q.hamilton(p, r)), Q.norm(p) * Q.norm(r))
    torch.testing.assert_close(Q.hamilton(Q.hamilton(p, r), s), Q.hamilton(p, Q.hamilton(r, s)))
    # (pq)* = q* p*
    torch.testing.assert_close(Q.conj(Q.hamilton(p, r)), Q.hamilton(Q.conj(r), Q.conj(p)))


def test_hamilton_equals_its_real_matrix_form():
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(2, 7, 4, generator=g, dtype=torch.float64)
    via_matrix = (Q.hamilton_matrix(x) @ y[..., None])[..., 0]
    torch.testing.assert_close(Q.hamilton(x, y), via_matrix)
    # Eq. (5.26) written out for one pair, term by term
    a, b = q(1, 2, 3, 4), q(-2, 0.5, 1, 3)
    r1, a1, b1, c1 = a
    r2, a2, b2, c2 = b
    want = q(
        r1 * r2 - a1 * a2 - b1 * b2 - c1 * c2,
        r1 * a2 + a1 * r2 + b1 * c2 - c1 * b2,
        r1 * b2 - a1 * c2 + b1 * r2 + c1 * a2,
        r1 * c2 + a1 * b2 - b1 * a2 + c1 * r2,
    )
    torch.testing.assert_close(Q.hamilton(a, b), want)


def test_hamilton_on_vectors_is_per_position():
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(2, 3, 8, generator=g, dtype=torch.float64)  # d = 8: 2 quaternions
    out = Q.hamilton(x, y)
    for pos in range(2):
        xi, yi = x[:, pos::2], y[:, pos::2]  # (r, a, b, c) of position pos
        torch.testing.assert_close(out[:, pos::2], Q.hamilton(xi, yi))


def test_rotation_by_unit_quaternion():
    theta = 0.7
    axis = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    rq = torch.cat([q(math.cos(theta / 2)), math.sin(theta / 2) * axis])
    v = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    torch.testing.assert_close(Q.rotate(v, rq), q(math.cos(theta), math.sin(theta), 0.0))
    # Rodrigues' formula on a random axis, and the length is kept
    g = torch.Generator().manual_seed(4)
    ax = torch.randn(3, generator=g, dtype=torch.float64)
    ax = ax / ax.norm()
    w = torch.randn(3, generator=g, dtype=torch.float64)
    rq = torch.cat([q(math.cos(theta / 2)), math.sin(theta / 2) * ax])
    rod = (
        w * math.cos(theta)
        + torch.linalg.cross(ax, w) * math.sin(theta)
        + ax * (ax @ w) * (1 - math.cos(theta))
    )
    torch.testing.assert_close(Q.rotate(w, rq), rod)
    with pytest.raises(ValueError):
        Q.rotate(w[:2], rq)


def test_component_wise_operators():
    g = torch.Generator().manual_seed(5)
    x, y = torch.randn(2, 6, 8, generator=g, dtype=torch.float64)
    d = Q.cw_dot(x, y)
    assert d.shape == (6, 4)
    for k, (cx, cy) in enumerate(zip(Q.split(x), Q.split(y))):
        torch.testing.assert_close(d[:, k], (cx * cy).sum(-1))
    torch.testing.assert_close(d.sum(-1), (x * y).sum(-1))
    cat = Q.cw_cat(x, y)
    assert cat.shape == (6, 16)
    for cc, cx, cy in zip(Q.split(cat), Q.split(x), Q.split(y)):
        torch.testing.assert_close(cc, torch.cat([cx, cy], -1))
    back = Q.q_chunk(cat, 2)
    torch.testing.assert_close(back[0], x)
    torch.testing.assert_close(back[1], y)
    torch.testing.assert_close(Q.join(*Q.split(x)), x)
    torch.testing.assert_close(Q.split_act(x, torch.tanh), torch.tanh(x))


def test_gate_major_order_is_q_chunk_concatenated():
    """The order the cells give their packed weights: ``x[..., order]`` cut by ``chunk`` are
    the quaternion gates ``q_chunk`` cuts (and ``q_chunk`` inverts repeated ``cw_cat``)."""
    g = torch.Generator().manual_seed(11)
    for n, hidden in [(3, 8), (4, 12), (4, 64)]:
        gates = torch.randn(n, 5, hidden, generator=g)
        packed = gates[0]
        for t in gates[1:]:
            packed = Q.cw_cat(packed, t)
        ordered = packed[:, Q.gate_major_order(n, hidden)]
        for k, part in enumerate(ordered.chunk(n, -1)):
            torch.testing.assert_close(part, gates[k], rtol=0, atol=0)
            torch.testing.assert_close(part, Q.q_chunk(packed, n)[k], rtol=0, atol=0)


def test_qlinear_matrix_is_the_left_multiplication_blocks():
    """The gathered block matrix is the hand-written one of Eq. (5.26), on any dtype."""
    g = torch.Generator().manual_seed(12)
    for dtype in (torch.float32, torch.float64):
        r, a, b, c = torch.randn(4, 3, 2, generator=g, dtype=dtype)
        rows = [[r, -a, -b, -c], [a, r, -c, b], [b, c, r, -a], [c, -b, a, r]]
        want = torch.cat([torch.cat(row, 1) for row in rows], 0)
        torch.testing.assert_close(Q.qlinear_real_matrix(r, a, b, c), want, rtol=0, atol=0)


def test_component_softmax_and_mask():
    g = torch.Generator().manual_seed(6)
    x = torch.randn(3, 5, 8, generator=g)
    mask = torch.tensor([[1, 1, 0, 1, 0], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]], dtype=torch.bool)
    a = Q.cw_softmax(x, dim=1, mask=mask)
    assert torch.all(a[~mask] == 0)
    torch.testing.assert_close(a[:2].sum(1), torch.ones(2, 8))
    assert torch.all(a[2] == 0) and not torch.isnan(a).any()
    torch.testing.assert_close(Q.cw_softmax(x, dim=1), torch.softmax(x, 1))
    with pytest.raises(ValueError):
        Q.cw_softmax(x, dim=-1)


def test_dimension_must_be_multiple_of_four():
    with pytest.raises(ValueError, match="multiple of 4"):
        Q.split(torch.zeros(3, 6))
    with pytest.raises(ValueError, match="multiple of 4"):
        Q.QLinear(6, 8)


def test_qlinear_equals_sum_of_hamilton_products_and_block_matrix():
    torch.manual_seed(7)
    layer = Q.QLinear(8, 12).double()
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.randn(5, 8, dtype=torch.float64)
    out = layer(x)
    # out_o = sum_i W_oi (x) x_i + bias, quaternion by quaternion (Eq. 5.26)
    xr = torch.stack(Q.split(x), -1)  # (5, 2, 4): position i, components
    W = torch.stack([layer.r, layer.a, layer.b, layer.c], -1)  # (3, 2, 4)
    want = torch.zeros(5, 3, 4, dtype=torch.float64)
    for o in range(3):
        for i in range(2):
            want[:, o] += Q.hamilton(W[o, i].expand(5, 4), xr[:, i])
    want = want.permute(0, 2, 1).reshape(5, 12) + layer.bias
    torch.testing.assert_close(out, want)
    torch.testing.assert_close(out, x @ layer.weight_matrix().T + layer.bias)


def test_qlinear_has_a_quarter_of_the_parameters():
    for n_in, n_out in [(4, 4), (64, 64), (32, 128)]:
        ql = Q.QLinear(n_in, n_out, bias=False)
        rl = torch.nn.Linear(n_in, n_out, bias=False)
        n_q, n_r = (sum(p.numel() for p in m.parameters()) for m in (ql, rl))
        assert 4 * n_q == n_r
    assert torch.linalg.matrix_rank(Q.QLinear(4, 4, bias=False).weight_matrix().detach()) == 4


def _rows(hidden: int, n_gates: int, gate: int) -> list[int]:
    """Rows of a packed quaternion gate output that hold gate ``gate`` as a quaternion vector."""
    H = hidden // 4
    return [k * n_gates * H + gate * H + j for k in range(4) for j in range(H)]


def test_qlstm_cell_equals_lstm_with_expanded_weights():
    torch.manual_seed(8)
    cell = Q.QLSTMCell(8, 12).double()
    with torch.no_grad():
        cell.w.bias.normal_()
    ref = torch.nn.LSTMCell(8, 12).double()
    order = [1, 0, 3, 2]  # torch gates (i, f, g, o) <- ours (f, i, o, g)
    rows = sum((_rows(12, 4, g) for g in order), [])
    with torch.no_grad():
        ref.weight_ih.copy_(cell.w.weight_matrix()[rows])
        ref.weight_hh.copy_(cell.rec.weight_matrix()[rows])
        ref.bias_ih.copy_(cell.w.bias[rows])
        ref.bias_hh.zero_()
    x = torch.randn(6, 8, dtype=torch.float64)
    h0, c0 = torch.randn(2, 6, 12, dtype=torch.float64)
    h, c = cell(x, (h0, c0))
    hr, cr = ref(x, (h0, c0))
    torch.testing.assert_close(h, hr)
    torch.testing.assert_close(c, cr)


def test_qgru_cell_equals_gru_with_expanded_weights():
    torch.manual_seed(9)
    cell = Q.QGRUCell(8, 8).double()
    with torch.no_grad():
        cell.w.bias.normal_()
        cell.rec.bias.normal_()
    ref = torch.nn.GRUCell(8, 8).double()
    rows = sum((_rows(8, 3, g) for g in [1, 0, 2]), [])  # torch (r, z, n) <- ours (z, r, n)
    with torch.no_grad():
        ref.weight_ih.copy_(cell.w.weight_matrix()[rows])
        ref.weight_hh.copy_(cell.rec.weight_matrix()[rows])
        ref.bias_ih.copy_(cell.w.bias[rows])
        ref.bias_hh.copy_(cell.rec.bias[rows])
    x, h0 = torch.randn(2, 6, 8, dtype=torch.float64)
    torch.testing.assert_close(cell(x, h0), ref(x, h0))


def test_cells_take_any_leading_shape_and_refuse_the_old_step_layout():
    """A cell steps inputs of any leading shape (the gates are cut on the last axis), its
    sign buffer follows ``.double()``, and ``step`` without the gate-major weights (the old
    ``step(cell.w(x), state)`` form, whose gates are packed otherwise) is an error."""
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, dtype=torch.float64)
    h = torch.randn(2, 3, 8, dtype=torch.float64)
    c = torch.randn(2, 3, 8, dtype=torch.float64)
    flat = lambda t: t.reshape(6, 8)  # noqa: E731
    lstm, gru = Q.QLSTMCell(8, 8).double(), Q.QGRUCell(8, 8).double()
    assert lstm.w._sign.dtype == torch.float64
    h3, c3 = lstm(x, (h, c))
    h2, c2 = lstm(flat(x), (flat(h), flat(c)))
    torch.testing.assert_close(flat(h3), h2)
    torch.testing.assert_close(flat(c3), c2)
    torch.testing.assert_close(flat(gru(x, h)), gru(flat(x), flat(h)))
    with pytest.raises(TypeError):
        lstm.step(lstm.w(x), (h, c))
    with pytest.raises(TypeError):
        gru.step(gru.w(x), h)
