"""``recsys_book.nn.lookup``: the rows of an embedding table with the faster CPU backward
must be the module's rows and gradient, bit for bit, whatever the thread count."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from recsys_book.nn import lookup


def _both(table: nn.Embedding, ids: torch.Tensor, upstream: torch.Tensor):
    out = []
    for fn in (lambda: table(ids), lambda: lookup(table, ids)):
        table.zero_grad(set_to_none=True)
        rows = fn()
        (rows * upstream).sum().backward()
        out.append((rows.detach().clone(), table.weight.grad.clone()))
    return out


@pytest.mark.parametrize("threads", [1, 2, None])
@pytest.mark.parametrize("shape", [(3000,), (512, 5), (64, 4, 6)])
@pytest.mark.parametrize("dim", [64, 1])
@pytest.mark.parametrize("padding_idx", [None, 49, -1, 0])
def test_lookup_equals_the_module_bit_for_bit(shape, dim, threads, padding_idx):
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        g = torch.Generator().manual_seed(0)
        table = nn.Embedding(50, dim, padding_idx=padding_idx)  # 50 rows for thousands of ids: many repeats
        ids = torch.randint(0, 50, shape, generator=g)
        upstream = torch.randn(*shape, dim, generator=g)
        (module_rows, module_grad), (rows, grad) = _both(table, ids, upstream)
    finally:
        torch.set_num_threads(before)
    assert rows.shape == (*shape, dim)
    assert torch.equal(rows, module_rows)
    assert torch.equal(grad, module_grad), (grad - module_grad).abs().max()
    assert grad.abs().sum() > 0
    if padding_idx is not None:
        assert torch.all(grad[padding_idx] == 0)


def test_lookup_keeps_the_padding_row_out_of_the_gradient():
    table = nn.Embedding(10, 4, padding_idx=9)
    ids = torch.tensor([[1, 9, 9], [9, 2, 1]])
    (module_rows, module_grad), (rows, grad) = _both(table, ids, torch.ones(2, 3, 4))
    assert torch.equal(rows, module_rows) and torch.equal(grad, module_grad)
    assert torch.all(grad[9] == 0) and torch.all(grad[1] == 2)


def _pairwise_by_autograd(q, s, b):
    """Eq. 4.24's three-term expansion, differentiated by autograd."""
    w = b * b
    qs = torch.einsum("bcd,bld->bcl", q * w, s)
    return ((q * q * w).sum(-1)[:, :, None] + (s * s * w).sum(-1)[:, None, :] - 2 * qs).clamp_min(0.0)


def test_pairwise_mahalanobis_backward_is_the_gradient():
    """The hand-written backward of ``pairwise_diag_mahalanobis_sq`` against finite differences
    (float64) and against autograd of the expansion, for every subset of inputs needing a
    gradient; a member equal to a query (distance 0, where the clamp can hold) included."""
    from recsys_book.nn import pairwise_diag_mahalanobis_sq as pairwise

    g = torch.Generator().manual_seed(0)
    q = torch.randn(3, 4, 6, generator=g, dtype=torch.float64)
    s = torch.randn(3, 7, 6, generator=g, dtype=torch.float64)
    s[1, 2] = q[1, 0]
    b = torch.randn(6, generator=g, dtype=torch.float64)
    for need in ((True, True, True), (True, False, False), (False, True, False), (False, False, True)):
        args = [t.clone().requires_grad_(r) for t, r in zip((q, s, b), need)]
        assert torch.autograd.gradcheck(pairwise, args)
        up = torch.randn(3, 4, 7, generator=g, dtype=torch.float64)
        mine = torch.autograd.grad(pairwise(*args), [a for a in args if a.requires_grad], up)
        ref = torch.autograd.grad(_pairwise_by_autograd(*args), [a for a in args if a.requires_grad], up)
        for x, y in zip(mine, ref):
            torch.testing.assert_close(x, y)
    with pytest.raises(ValueError, match=r"q \(B, C, d\)"):
        pairwise(q[0], s, b)


def test_pairwise_mahalanobis_under_autocast():
    """Under autocast a query comes in half precision: the distances are computed in the
    inputs' common dtype (float32 here) and each gradient goes back in its input's dtype."""
    from recsys_book.nn import pairwise_diag_mahalanobis_sq as pairwise

    g = torch.Generator().manual_seed(1)
    q32 = torch.randn(2, 3, 8, generator=g)
    s = torch.randn(2, 5, 8, generator=g, requires_grad=True)
    b = torch.randn(8, generator=g, requires_grad=True)
    q = q32.to(torch.bfloat16).requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        d = pairwise(q, s, b)
        d.sum().backward()
    assert d.dtype == torch.float32 and q.grad.dtype == torch.bfloat16 and s.grad.dtype == torch.float32
    ref = _pairwise_by_autograd(q.detach().float(), s.detach(), b.detach())
    torch.testing.assert_close(d.detach(), ref)
