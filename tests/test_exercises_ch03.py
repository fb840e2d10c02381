"""Chapter 03's exercise checkers accept the solutions and reject plausible wrong answers."""

import pytest
import torch

from recsys_book.exercises import NotAnswered, ch03, rejects, try_it


@pytest.fixture(scope="module")
def sol(load_solutions):
    return load_solutions("ch03")


def test_solutions_pass(sol):
    assert ch03.check_mdr_full(sol.my_mdr_full) is True
    assert ch03.check_attention(sol.my_attention) is True
    assert ch03.check_flexible_noise(sol.my_flexible_noise) is True


def test_stubs_say_not_answered(capsys):
    def stub(*args):
        raise NotImplementedError

    for checker in (
        ch03.check_mdr_full,
        ch03.check_attention,
        ch03.check_flexible_noise,
    ):
        with pytest.raises(NotAnswered, match="not answered"):
            checker(stub)
        with pytest.raises(NotAnswered, match="not answered"):
            checker(lambda *a: None)
        assert try_it(checker, stub) is False
        assert "not answered" in capsys.readouterr().out


def test_mdr_checker_rejects_wrong_answers(sol):
    def l_not_transposed(u, p, s, L1, L2, theta):  # (x - y) @ L: the metric of L L^T, not L^T L
        return sol.my_mdr_full(u, p, s, L1.T, L2.T, theta)

    def diagonal_only(u, p, s, L1, L2, theta):  # the chapter's MDR, reading diag(L) only
        b1, b2 = torch.diagonal(L1), torch.diagonal(L2)
        return (((u[:, None] - s) * b1) ** 2).sum(-1) + (((p[:, None] - s) * b2) ** 2).sum(-1) + theta

    def not_squared(u, p, s, L1, L2, theta):  # the distance, not its square
        return ((u[:, None] - s) @ L1.T).norm(dim=-1) + ((p[:, None] - s) @ L2.T).norm(dim=-1) + theta

    def no_bias(u, p, s, L1, L2, theta):
        return sol.my_mdr_full(u, p, s, L1, L2, theta) - theta

    with pytest.raises(AssertionError, match="(?s)full, non-symmetric.*expected.*got"):
        ch03.check_mdr_full(l_not_transposed)
    with pytest.raises(AssertionError, match="full, non-symmetric"):
        ch03.check_mdr_full(diagonal_only)
    with pytest.raises(AssertionError, match="diagonal"):
        ch03.check_mdr_full(not_squared)
    with pytest.raises(AssertionError, match="diagonal"):
        ch03.check_mdr_full(no_bias)


def test_attention_checker_rejects_wrong_answers(sol):
    def softmax_not_softmin(qa, m, b4, mask, metric):  # attends to the FARTHEST member
        if not metric:
            return sol.my_attention(qa, m, b4, mask, metric)
        d = (((qa[:, :, None] - m[:, None]) * b4) ** 2).sum(-1)
        return torch.softmax(d.masked_fill(~mask[:, None], float("-inf")), -1).nan_to_num(0.0)

    def euclidean(qa, m, b4, mask, metric):  # forgets the stretch B4
        return sol.my_attention(qa, m, torch.ones_like(b4), mask, metric)

    def always_metric(qa, m, b4, mask, metric):
        return sol.my_attention(qa, m, b4, mask, True)

    def ignores_mask(qa, m, b4, mask, metric):
        return sol.my_attention(qa, m, b4, torch.ones_like(mask), metric)

    def nan_on_empty(qa, m, b4, mask, metric):
        logits = torch.einsum("bcd,bld->bcl", qa, m) if not metric else -(((qa[:, :, None] - m[:, None]) * b4) ** 2).sum(-1)
        return torch.softmax(logits.masked_fill(~mask[:, None], float("-inf")), -1)

    def naive_exp(qa, m, b4, mask, metric):  # exp(logit) / sum: 0/0 or inf/inf for large logits
        logits = torch.einsum("bcd,bld->bcl", qa, m) if not metric else -(((qa[:, :, None] - m[:, None]) * b4) ** 2).sum(-1)
        w = torch.exp(logits) * mask[:, None]
        return w / w.sum(-1, keepdim=True).clamp_min(1e-300)

    with pytest.raises(AssertionError, match="'metric \\(softmin of the B4 distance\\), no padding' failed"):
        ch03.check_attention(softmax_not_softmin)
    with pytest.raises(AssertionError, match="metric .softmin of the B4 distance"):
        ch03.check_attention(euclidean)
    with pytest.raises(AssertionError, match="dot product, no padding"):
        ch03.check_attention(always_metric)
    with pytest.raises(AssertionError, match="padded playlists"):
        ch03.check_attention(ignores_mask)
    with pytest.raises(AssertionError, match="no member at all"):
        ch03.check_attention(nan_on_empty)
    with pytest.raises(AssertionError, match="far members|large dot products"):
        ch03.check_attention(naive_exp)


def test_noise_checker_rejects_wrong_answers(sol):
    def whole_norm(grad, param, eps):  # APR-paper style: one norm over the whole table
        return eps * param.std() * grad / grad.norm()

    def fixed(grad, param, eps):  # forgets std(param): the fixed noise
        return sol.my_flexible_noise(grad, param, eps) / param.std()

    def std_per_row(grad, param, eps):
        unit = sol.my_flexible_noise(grad, param, 1.0) / param.std()
        s = param.std(dim=-1, keepdim=True) if param.dim() >= 2 else param.std()
        return eps * s * unit

    for wrong in (whole_norm, fixed, std_per_row):
        assert rejects(ch03.check_flexible_noise, wrong), wrong.__name__
    with pytest.raises(AssertionError, match="(?s)an embedding table.*expected.*got"):
        ch03.check_flexible_noise(whole_norm)


def test_checkers_leave_the_learners_random_stream(sol):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    assert ch03.check_mdr_full(sol.my_mdr_full) and ch03.check_attention(sol.my_attention)
    assert ch03.check_flexible_noise(sol.my_flexible_noise)
    assert torch.equal(torch.get_rng_state(), before)
