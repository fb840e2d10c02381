"""recsys_book.analysis (PMI against attention) and `reproduce pmi` as a smoke run."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pandas as pd
import pytest
import torch

from recsys_book.analysis import attention_pmi_correlation, pmi_matrix
from recsys_book.experiments._runner import reproduce


def test_pmi_matrix_by_hand():
    """3 users: u0 holds items 0, 1; u1 holds 0, 1, 2; u2 holds 2. P(0) = P(1) = P(2) = 2/3,
    P(0, 1) = 2/3, P(0, 2) = 1/3: PMI(0, 1) = log 1.5, PMI(0, 2) = log .75; with no smoothing
    a pair never held together is -inf."""
    df = pd.DataFrame({"user": [0, 0, 1, 1, 1, 2], "item": [0, 1, 0, 1, 2, 2]})
    pmi = pmi_matrix(df, n_items=4)
    assert pmi[0, 1] == pytest.approx(math.log(1.5)) and pmi[1, 0] == pytest.approx(math.log(1.5))
    assert pmi[0, 2] == pytest.approx(math.log(0.75))
    assert pmi[0, 0] == pytest.approx(math.log(1.5))  # P(0, 0) = P(0)
    smooth = pmi_matrix(df, n_items=4, smoothing=0.1)
    assert torch.isfinite(smooth).all() and smooth[0, 1] == pytest.approx(math.log(2.1 * 3 / 4))
    assert torch.isneginf(pmi[0, 3])  # item 3 is held by nobody
    # playlists as the groups, with more groups than ids seen (an empty playlist still counts)
    by_pl = pmi_matrix(df.rename(columns={"user": "playlist"}), 4, group="playlist", n_groups=6)
    assert by_pl[0, 1] == pytest.approx(math.log(2 / 6 / (2 / 6) ** 2))
    with pytest.raises(ValueError, match="smoothing must be >= 0"):
        pmi_matrix(df, 4, smoothing=-1)


def test_correlation_is_pearson_over_the_real_finite_pairs():
    g = torch.Generator().manual_seed(0)
    n, L, n_items = 40, 6, 30
    pmi = torch.randn(n_items, n_items, generator=g)
    pmi[0, :] = float("-inf")  # a target never held with anything: its pairs are left out
    ctx = torch.randint(0, n_items, (n, L), generator=g)
    mask = torch.rand(n, L, generator=g) > 0.3
    tgt = torch.randint(0, n_items, (n,), generator=g)
    att = torch.rand(n, L, generator=g)
    r = attention_pmi_correlation(att, tgt, ctx, mask, pmi)
    p = pmi[tgt[:, None], ctx]
    keep = mask & torch.isfinite(p)
    assert r == pytest.approx(np.corrcoef(p[keep].numpy(), att[keep].numpy())[0, 1])
    # attention that IS the (softmaxed) PMI correlates perfectly; its negation at -1
    from recsys_book.nn import masked_softmax

    sm = masked_softmax(p[:, None, :], mask)[:, 0, :]
    assert attention_pmi_correlation(sm, tgt, ctx, mask, pmi, softmax=True) == pytest.approx(1.0)
    assert attention_pmi_correlation(-sm, tgt, ctx, mask, pmi, softmax=True) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="must all be"):
        attention_pmi_correlation(att[:, :3], tgt, ctx, mask, pmi)


def test_reproduce_pmi_smoke_writes_only_the_smoke_table(tmp_path):
    from recsys_book.experiments.pmi import EXPERIMENT

    main = partial(reproduce, "pmi")
    from recsys_book.results import read

    assert main(["--quick", "--out", str(tmp_path)]) == 0
    rows = read(tmp_path / "pmi_smoke.csv")
    assert list(rows["model"]) == [c.name for c in EXPERIMENT.candidates] and rows["smoke"].all()
    assert rows["test PMI r"].between(-1, 1).all()
    md = (tmp_path / "pmi_smoke.md").read_text()
    assert "## Pearson r, ours" in md and "QUASE (LSTM) > ALSTM" in md
    assert not (tmp_path / "pmi.csv").exists()
