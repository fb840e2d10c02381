"""Chapter 04's exercise checkers (recsys_book.exercises.ch04) accept the solutions in
notebooks/solutions/ch04.py, reject plausible wrong answers naming the failing case, and
say "not answered" for a stub."""

from __future__ import annotations

import pytest
import torch

from recsys_book.exercises import NotAnswered, ch04, rejects


@pytest.fixture(scope="module")
def sol(load_solutions):
    return load_solutions("ch04")


def test_solutions_pass(sol):
    assert ch04.check_softmin(sol.my_softmin) is True
    assert ch04.check_sdp_distance(sol.my_sdp_distance) is True
    assert ch04.check_hr_ndcg_against(sol.my_hr_ndcg_against) is True


@pytest.mark.parametrize(
    "checker, stub",
    [
        (ch04.check_softmin, lambda z, m: None),
        (ch04.check_sdp_distance, lambda model, u, i: None),
        (ch04.check_hr_ndcg_against, lambda s, k: None),
    ],
)
def test_stubs_are_not_answered(checker, stub):
    with pytest.raises(NotAnswered, match="not answered"):
        checker(stub)

    def raises(*args):
        raise NotImplementedError

    with pytest.raises(NotAnswered, match="not answered"):
        checker(raises)
    assert not rejects(checker, stub)  # a stub is not a wrong answer


def test_softmin_checker_rejects_wrong_answers(sol):
    def softmax_of_z(z, mask):  # forgets the minus: far items get the weight
        return sol.my_softmin(-z, mask)

    def ignores_mask(z, mask):
        return torch.softmax(-z, -1)

    def nan_on_empty_rows(z, mask):  # the textbook masked softmax: NaN when a row is empty
        return torch.softmax((-z).masked_fill(~mask[:, None, :], float("-inf")), -1)

    def naive_exp(z, mask):  # exp(-z) / sum without subtracting the minimum: 0/0 for big z
        e = torch.exp(-z) * mask[:, None, :]
        return e / e.sum(-1, keepdim=True).clamp_min(1e-300)

    with pytest.raises(AssertionError, match="no padding"):
        ch04.check_softmin(softmax_of_z)
    with pytest.raises(AssertionError, match="padded slots"):
        ch04.check_softmin(ignores_mask)
    with pytest.raises(AssertionError, match="no real item"):
        ch04.check_softmin(nan_on_empty_rows)
    with pytest.raises(AssertionError, match="large distances"):
        ch04.check_softmin(naive_exp)


def test_sdp_checker_rejects_wrong_answers(sol):
    def no_square(model, users, items):  # skips Eq. (5)
        u, v = model.user(users), model.item(items)
        e = model.f(model.first.lin(torch.cat([u[:, None].expand_as(v), v], -1)))
        for layer in model.mlp:
            e = model.f(layer(e))
        return model.out(e).squeeze(-1)

    def first_layer_only(model, users, items):  # forgets Eq. (2)-(4)
        u, v = model.user(users), model.item(items)
        e = model.f(model.first.lin(torch.cat([u[:, None].expand_as(v), v], -1)))
        return model.out(e * e).squeeze(-1)

    def score_not_distance(model, users, items):  # returns the score (= -o)
        return -sol.my_sdp_distance(model, users, items)

    def no_bias(model, users, items):
        return sol.my_sdp_distance(model, users, items) - model.out.bias

    with pytest.raises(AssertionError, match="seed 50"):
        ch04.check_sdp_distance(no_square)
    with pytest.raises(AssertionError, match="two layers"):
        ch04.check_sdp_distance(first_layer_only)
    with pytest.raises(AssertionError, match="expected"):
        ch04.check_sdp_distance(score_not_distance)
    with pytest.raises(AssertionError, match="negative bias"):
        ch04.check_sdp_distance(no_bias)


def test_against_checker_rejects_wrong_answers(sol):
    def favour(scores, k):  # strict >: ties go FOR the target (the favouring evaluator)
        pos = (scores[:, 1:] > scores[:, :1]).sum(1)
        hit = pos < k
        nd = torch.where(hit, 1 / torch.log2(pos.double() + 2), torch.zeros(()).double())
        return float(hit.double().mean()), float(nd.mean())

    def counts_itself(scores, k):  # >= over all columns, the target included
        pos = (scores >= scores[:, :1]).sum(1)
        hit = pos < k
        nd = torch.where(hit, 1 / torch.log2(pos.double() + 2), torch.zeros(()).double())
        return float(hit.double().mean()), float(nd.mean())

    def log_of_rank(scores, k):  # 1/log2(position + 1): off by one
        hr, _ = sol.my_hr_ndcg_against(scores, k)
        pos = (scores[:, 1:] >= scores[:, :1]).sum(1)
        nd = torch.where(pos < k, 1 / torch.log2(pos.double() + 1), torch.zeros(()).double())
        return hr, float(nd.mean())

    with pytest.raises(AssertionError, match="tied with one candidate"):
        ch04.check_hr_ndcg_against(favour)
    with pytest.raises(AssertionError, match="no ties"):
        ch04.check_hr_ndcg_against(counts_itself)
    with pytest.raises(AssertionError, match="no ties"):
        ch04.check_hr_ndcg_against(log_of_rank)
