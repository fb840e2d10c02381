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
    assert ch04.check_context_pulls(sol.my_context_pulls) is True
    assert ch04.check_sdp_distance(sol.my_sdp_distance) is True
    assert ch04.check_hr_ndcg_against(sol.my_hr_ndcg_against) is True


@pytest.mark.parametrize(
    "checker, stub",
    [
        (ch04.check_context_pulls, lambda model, u, i, c, m: None),
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


def test_pulls_sum_to_the_library_distance(sol):
    """What E1 teaches: on rows with context the pulls add up to o_SDM (Eq. 17); a row without
    context has o_SDM = b_e and no pull."""
    for spec in ch04.PULL_CASES.values():
        model, users, items, context, mask = spec()
        with torch.no_grad():
            c = sol.my_context_pulls(model, users, items, context, mask)
            o = model.distance(users, items, context=context, context_mask=mask)
        rows = mask.any(1)
        torch.testing.assert_close(c.sum(-1)[rows], o[rows], rtol=0, atol=1e-12)
        assert (c[~rows] == 0).all() and torch.allclose(
            o[~rows], model.w_e.bias.expand_as(o[~rows])
        )


def test_pulls_checker_rejects_wrong_answers(sol):
    def first_hop(model, users, items, context, mask):  # the first hop's attention, not the last
        a = model.attention(users, items, context, mask)
        return (
            sol.my_context_pulls(model, users, items, context, mask)
            * a[0]
            / a[-1].where(a[-1] > 0, 1)
        )

    def no_bias(model, users, items, context, mask):  # w_e^T r2 without b_e: sums to o - b_e
        a = model.attention(users, items, context, mask)[-1]
        return sol.my_context_pulls(model, users, items, context, mask) - a * model.w_e.bias

    def input_memory(model, users, items, context, mask):  # r from V_in (the attention's memory)
        f, a = model.f, model.attention(users, items, context, mask)[-1]
        u, v = model.user_out(users)[:, None], model.item_out(items)
        p = f(model.W_b.lin(torch.cat(torch.broadcast_tensors(u, v), -1)))
        pk = torch.broadcast_tensors(p[:, :, None], model.item_in(context)[:, None])
        return a * model.w_e(f(model.W_d.lin(torch.cat(pk, -1))).pow(2)).squeeze(-1)

    def unweighted(model, users, items, context, mask):  # o_ijk alone, no attention weight
        a = model.attention(users, items, context, mask)[-1]
        return sol.my_context_pulls(model, users, items, context, mask) / a.where(a > 0, 1)

    def uniform_weights(model, users, items, context, mask):  # 1/s over real items, not a_ijk
        a = model.attention(users, items, context, mask)[-1]
        o_k = sol.my_context_pulls(model, users, items, context, mask) / a.where(a > 0, 1)
        w = mask[:, None, :].double() / mask.sum(-1).clamp_min(1)[:, None, None]
        return o_k * w

    def pads_with_bias(model, users, items, context, mask):  # an empty row credits b_e / s per slot
        c = sol.my_context_pulls(model, users, items, context, mask)
        empty = ~mask.any(1)
        c[empty] = model.w_e.bias / mask.shape[1]
        return c

    def padding_attended(model, users, items, context, mask):  # every slot taken as a real item
        a = model.attention(users, items, context, torch.ones_like(mask))[-1]
        return a * sol.my_context_pulls(model, users, items, context, torch.ones_like(mask)) / a

    with pytest.raises(AssertionError, match="three hops"):
        ch04.check_context_pulls(first_hop)
    with pytest.raises(AssertionError, match="padded slots"):
        ch04.check_context_pulls(padding_attended)
    with pytest.raises(AssertionError, match="seed 70"):
        ch04.check_context_pulls(no_bias)
    with pytest.raises(AssertionError, match="seed 70"):
        ch04.check_context_pulls(input_memory)
    with pytest.raises(AssertionError, match="seed 70"):
        ch04.check_context_pulls(uniform_weights)
    with pytest.raises(AssertionError, match="seed 70"):
        ch04.check_context_pulls(unweighted)
    with pytest.raises(AssertionError, match="no context"):
        ch04.check_context_pulls(pads_with_bias)


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


def test_checkers_leave_the_learners_random_stream(sol):
    # the checkers build seeded models; the notebook's own stream must not move
    torch.manual_seed(123)
    before = torch.get_rng_state()
    assert ch04.check_context_pulls(sol.my_context_pulls) and ch04.check_sdp_distance(sol.my_sdp_distance)
    assert torch.equal(torch.get_rng_state(), before)
