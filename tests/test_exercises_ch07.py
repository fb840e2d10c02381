"""Chapter 07's exercise checkers accept the solutions and reject plausible wrong answers."""

import pytest
import torch

from recsys_book.exercises import ch07


@pytest.fixture(scope="module")
def sol(load_solutions):
    return load_solutions("ch07")


def test_solutions_pass(sol):
    assert ch07.check_hamilton(sol.hamilton).startswith("E1: correct")
    assert ch07.check_qlinear_params(sol.qlinear_params).startswith("E2: correct")
    assert ch07.check_component_softmax(sol.component_softmax).startswith("E3: correct")


def test_hamilton_checker_rejects_wrong_answers(sol):
    def commuted(x, y):  # y (x) x: the classic mistake
        return sol.hamilton(y, x)

    def elementwise(x, y):
        return x * y

    def sign_slip(x, y):  # + c1 b2 instead of - c1 b2 in the i part
        out = sol.hamilton(x, y)
        c1 = x.chunk(4, -1)[3]
        b2 = y.chunk(4, -1)[2]
        d = x.shape[-1] // 4
        out[..., d : 2 * d] = out[..., d : 2 * d] + 2 * c1 * b2
        return out

    with pytest.raises(AssertionError, match="i \\(x\\) j"):
        ch07.check_hamilton(commuted)
    with pytest.raises(AssertionError, match="i \\(x\\) j"):
        ch07.check_hamilton(elementwise)
    with pytest.raises(AssertionError, match="case .*expected"):
        ch07.check_hamilton(sign_slip)
    assert "not answered" in ch07.check_hamilton(lambda x, y: None)
    assert "not answered" in ch07.check_qlinear_params(lambda i, o, b: None)
    assert "not answered" in ch07.check_component_softmax(lambda x, m: None)


def test_qlinear_checker_rejects_wrong_answers():
    with pytest.raises(AssertionError, match="expected 4, got 16"):
        ch07.check_qlinear_params(lambda i, o, b: i * o + (o if b else 0))
    with pytest.raises(AssertionError, match="bias=True"):
        ch07.check_qlinear_params(lambda i, o, b: i * o // 4)  # forgets the bias
    with pytest.raises(AssertionError, match="bias=True"):
        ch07.check_qlinear_params(lambda i, o, b: i * o // 4 + (o // 4 if b else 0))


def test_softmax_checker_rejects_wrong_answers():
    with pytest.raises(AssertionError, match="padded"):
        ch07.check_component_softmax(lambda x, m: torch.softmax(x, 1))  # ignores the mask
    with pytest.raises(AssertionError, match="no item at all"):
        ch07.check_component_softmax(
            lambda x, m: torch.softmax(x.masked_fill(~m[..., None], float("-inf")), 1)
        )
    with pytest.raises(AssertionError, match="no padding"):
        ch07.check_component_softmax(lambda x, m: torch.softmax(x, -1))  # over components
