"""Chapter 07's exercise checkers accept the solutions and reject plausible wrong answers."""

import pytest
import torch

from recsys_book.exercises import NotAnswered, ch07, try_it


@pytest.fixture(scope="module")
def sol(load_solutions):
    return load_solutions("ch07")


def test_solutions_pass(sol):
    assert ch07.check_commutator(sol.commutator) is True
    assert ch07.check_qlinear_params(sol.qlinear_params) is True
    assert ch07.check_component_softmax(sol.component_softmax) is True


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
    for check in (ch07.check_commutator, ch07.check_qlinear_params, ch07.check_component_softmax):
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


def test_softmax_checker_rejects_wrong_answers():
    with pytest.raises(AssertionError, match="padded"):
        ch07.check_component_softmax(lambda x, m: torch.softmax(x, 1))  # ignores the mask
    with pytest.raises(AssertionError, match="no item at all"):
        ch07.check_component_softmax(
            lambda x, m: torch.softmax(x.masked_fill(~m[..., None], float("-inf")), 1)
        )
    with pytest.raises(AssertionError, match="no padding"):
        ch07.check_component_softmax(lambda x, m: torch.softmax(x, -1))  # over components
