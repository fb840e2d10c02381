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
def test_lookup_equals_the_module_bit_for_bit(shape, dim, threads):
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        g = torch.Generator().manual_seed(0)
        table = nn.Embedding(50, dim)  # 50 rows for thousands of ids: many repeats per row
        ids = torch.randint(0, 50, shape, generator=g)
        upstream = torch.randn(*shape, dim, generator=g)
        (module_rows, module_grad), (rows, grad) = _both(table, ids, upstream)
    finally:
        torch.set_num_threads(before)
    assert rows.shape == (*shape, dim)
    assert torch.equal(rows, module_rows)
    assert torch.equal(grad, module_grad), (grad - module_grad).abs().max()
    assert grad.abs().sum() > 0


def test_lookup_keeps_the_padding_row_out_of_the_gradient():
    table = nn.Embedding(10, 4, padding_idx=9)
    ids = torch.tensor([[1, 9, 9], [9, 2, 1]])
    (module_rows, module_grad), (rows, grad) = _both(table, ids, torch.ones(2, 3, 4))
    assert torch.equal(rows, module_rows) and torch.equal(grad, module_grad)
    assert torch.all(grad[9] == 0) and torch.all(grad[1] == 2)
