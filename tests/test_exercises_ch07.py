"""Chapter 07's exercise checkers accept the solutions and reject plausible wrong answers."""

import pytest
import torch

from recsys_book.exercises import NotAnswered, ch07, try_it
from recsys_book.models import quaternion as Q


@pytest.fixture(scope="module")
def sol(load_solutions):
    return load_solutions("ch07")


def test_solutions_pass(sol):
    assert ch07.check_commutator(sol.commutator) is True
    assert ch07.check_qlinear_params(sol.qlinear_params) is True
    assert ch07.check_qgru(sol.qgru) is True


def test_commutator_checker_rejects_wrong_answers(sol):
    def reversed_order(p, q):  # q (x) p - p (x) q: the sign of every case flips
        return -sol.commutator(p, q)

    def no_factor_two(p, q):  # the cross product alone
        return sol.commutator(p, q) / 2

    def elementwise(p, q):  # p * q - q * p: zero, as if quaternions commuted
        return p * q - q * p

    def real_part_kept(p, q):  # 2 r1 r2 left in the real part (a sign slip when subtracting)
        out = sol.commutator(p, q)
        d = out.shape[-1] // 4
        out[..., :d] = 2 * p[..., :d] * q[..., :d]
        return out

    def one_quaternion_only(p, q):  # works for d = 4, not for quaternion vectors (d = 12)
        r1, a1, b1, c1 = p[..., 0], p[..., 1], p[..., 2], p[..., 3]
        r2, a2, b2, c2 = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
        zero = torch.zeros_like(r1 * r2)
        return torch.stack(
            [zero, 2 * (b1 * c2 - c1 * b2), 2 * (c1 * a2 - a1 * c2), 2 * (a1 * b2 - b1 * a2)], -1
        )

    with pytest.raises(AssertionError, match="case 'i, j: i \\(x\\) j - j \\(x\\) i = 2k'.*expected 2"):
        ch07.check_commutator(reversed_order)
    with pytest.raises(AssertionError, match="case 'i, j"):
        ch07.check_commutator(no_factor_two)
    with pytest.raises(AssertionError, match="case 'i, j"):
        ch07.check_commutator(elementwise)
    with pytest.raises(AssertionError, match="case 'a real quaternion commutes"):
        ch07.check_commutator(real_part_kept)
    with pytest.raises(AssertionError, match="case 'a batch of quaternion vectors, d = 12"):
        ch07.check_commutator(one_quaternion_only)
    for check in (ch07.check_commutator, ch07.check_qlinear_params, ch07.check_qgru):
        with pytest.raises(NotAnswered, match="not answered"):
            check(lambda *a: None)
        assert not try_it(check, lambda *a: None)


def test_qlinear_checker_rejects_wrong_answers():
    with pytest.raises(AssertionError, match="expected 4, got 16"):
        ch07.check_qlinear_params(lambda i, o, b: i * o + (o if b else 0))
    with pytest.raises(AssertionError, match="bias=True"):
        ch07.check_qlinear_params(lambda i, o, b: i * o // 4)  # forgets the bias
    with pytest.raises(AssertionError, match="bias=True"):
        ch07.check_qlinear_params(lambda i, o, b: i * o // 4 + (o // 4 if b else 0))
    # the parameter tensors themselves, not their count: a clear failure, not a crash
    with pytest.raises(AssertionError, match=r"n_in=4, n_out=4, bias=False': expected one integer \(4\), got a Tensor of shape \(4,\)"):
        ch07.check_qlinear_params(lambda i, o, b: torch.ones(i * o // 4))


def _gru(cell, x, mask, step, keep=True):
    """A quaternion GRU loop around ``step(cell, p_t, h) -> h_new`` (the wrong answers vary it)."""
    h = x.new_zeros(x.shape[0], cell.hidden_size)
    hs = []
    for t in range(x.shape[1]):
        h_new = step(cell, x[:, t], h)
        h = torch.where(mask[:, t, None], h_new, h if keep else torch.zeros_like(h))
        hs.append(h)
    return torch.stack(hs, 1)


def _gates(cell, p, h, cut=Q.q_chunk):
    return cut(cell.w(p), 3), cut(cell.rec(h), 3)


def test_qgru_checker_rejects_wrong_answers(sol):
    def swapped_update(cell, p, h):  # h_t = z x n + (1 - z) x h: the roles of z swapped
        (wz, wr, wn), (rz, rr, rn) = _gates(cell, p, h)
        z, r = torch.sigmoid(wz + rz), torch.sigmoid(wr + rr)
        return z * torch.tanh(wn + r * rn) + (1 - z) * h

    def plain_chunk(cell, p, h):  # .chunk(3) on the packed output: mixes the gates' components
        (wz, wr, wn), (rz, rr, rn) = _gates(cell, p, h, cut=lambda t, n: t.chunk(n, -1))
        z, r = torch.sigmoid(wz + rz), torch.sigmoid(wr + rr)
        return (1 - z) * torch.tanh(wn + r * rn) + z * h

    def reset_before_layer(cell, p, h):  # Cho et al.'s GRU: R_n (x) (r x h) + g_rn
        (wz, wr, wn), (rz, rr, _) = _gates(cell, p, h)
        z, r = torch.sigmoid(wz + rz), torch.sigmoid(wr + rr)
        _, _, rn = Q.q_chunk(cell.rec(r * h), 3)
        return (1 - z) * torch.tanh(wn + rn) + z * h

    def no_mask(cell, x, mask):  # runs the padded steps as if they were items
        return sol.qgru(cell, x, torch.ones_like(mask))

    def step_ok(cell, p, h):
        (wz, wr, wn), (rz, rr, rn) = _gates(cell, p, h)
        z, r = torch.sigmoid(wz + rz), torch.sigmoid(wr + rr)
        return (1 - z) * torch.tanh(wn + r * rn) + z * h

    assert ch07.check_qgru(lambda c, x, m: _gru(c, x, m, step_ok)) is True  # the harness is right
    first = "case 'd = 4 \\(one quaternion\\), one step from h_0 = 0, no biases'"
    with pytest.raises(AssertionError, match=first + ": the hidden states h_1 .. h_s differs"):
        ch07.check_qgru(lambda c, x, m: _gru(c, x, m, swapped_update))
    with pytest.raises(AssertionError, match=first):
        ch07.check_qgru(lambda c, x, m: _gru(c, x, m, plain_chunk))
    lone_g_rn = "case 'one step from h_0 = 0 with only the recurrent bias g_rn"
    with pytest.raises(AssertionError, match=lone_g_rn):
        ch07.check_qgru(lambda c, x, m: _gru(c, x, m, reset_before_layer))
    with pytest.raises(AssertionError, match="case 'the first two steps padded"):
        ch07.check_qgru(no_mask)
    with pytest.raises(AssertionError, match="case 'a padded step in the middle keeps h_\\{t-1\\}"):
        ch07.check_qgru(lambda c, x, m: _gru(c, x, m, step_ok, keep=False))  # resets to 0
    last_only = "case 'd = 4.*should have shape \\(3, 1, 4\\), got \\(3, 4\\)"
    with pytest.raises(AssertionError, match=last_only):
        ch07.check_qgru(lambda c, x, m: sol.qgru(c, x, m)[:, -1])  # the last state only


def test_checkers_leave_the_learners_random_stream(sol):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    assert ch07.check_qlinear_params(sol.qlinear_params) and ch07.check_qgru(sol.qgru)
    assert torch.equal(torch.get_rng_state(), before)
