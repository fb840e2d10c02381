"""What the attention learned, on trained checkpoints: ``python -m recsys_book reproduce pmi``.

PMI against attention (:mod:`recsys_book.analysis`) on ML-100k, five training seeds, each
model trained under the budget rule (early stopping on validation NDCG@10, patience 5; the
kept epoch per seed in the table), its correlation measured on the test rows of the
checkpoint kept:

* **SDMR Fig. 5**: SDM-1..4 on leave-one-out with s = 5 recent items (the recipe that
  ``reproduce sdmr`` chose on validation: 4 negatives, the hardest, N(0, 0.01) init, dropout
  0.2, weight decay 1e-3 / batch, lr 2e-3, batch 256, d 64, up to 50 epochs), the last hop's
  attention over the 5 context items against the raw PMI(target, item) over users (pairs
  never held together left out). The paper: r rises with the hops (Fig. 5).
* **Dissertation Fig. 4.13** on ML-100k sessions (the MASR chapter's playlists): MASS and its
  three other attention designs (d 32, lr 1e-2: the configuration ``reproduce masr`` chose
  for MASS there; 4 negatives, batch 256, up to 50 epochs), each design's attention over the
  member songs against the softmax of PMI(target, member) over playlists (smoothing 0.1).
  The paper: mem-metric (MASS) correlates most.
* **Dissertation Fig. 5.13** on the quaternion chapter's ML-100k split (temporal 70/10/20,
  s = 5, l = 50): QUALE vs AASVD (attention over the l long-term items) and QUASE (LSTM) vs
  ALSTM (over the s short-term hidden states), the four heads' weights averaged, against the
  softmax of PMI(target, item) over users (smoothing 0.1); d 64, lr 5e-3, batch 512, up to 100
  epochs (the configuration ``reproduce qualse`` chose). The paper (Apps for Android):
  rho QUALE > AASVD and QUASE > ALSTM (its numbers beside ours in the report).

SDM's steps are compiled (``fit(compile=True)``: the same training, about 1.5x faster on the
CPU). ``--quick``: planted data, two epochs, one seed (a smoke run).
"""

from __future__ import annotations

from types import SimpleNamespace

import torch

from recsys_book.analysis import attention_pmi_correlation, pmi_matrix
from recsys_book.claims import MASS_ATTENTION, PMI_R
from recsys_book.evaluate import evaluate
from recsys_book.experiments._runner import Candidate, Experiment, Outcome
from recsys_book.models.mahalanobis import MASS, n_playlists, pmi_attention_correlation
from recsys_book.models.qualse import AASVD, ALSTM, QUALE, QUASE
from recsys_book.models.sdmr import SDM
from recsys_book.train import fit

HOPS = (1, 2, 3, 4)
ATTENTION = ("mem-metric", *MASS_ATTENTION)  # MASS's own design first, then Fig. 4.13's others
PATIENCE, ROWS = 5, 2000  # early stopping; test rows the correlation is measured on


def data(args):
    """The three splits, built once (the training seeds move the models, not the data)."""
    from recsys_book.data import load_ml100k, planted_playlists, planted_sequences
    from recsys_book.data.sessions import ml100k_playlists
    from recsys_book.data.splits import add_recent_context, leave_one_out, playlist_holdout
    from recsys_book.experiments.qualse import make_split

    if args.quick:
        seq, _ = planted_sequences(n_users=60, n_items=150, length=(8, 14), seed=args.seed)
        pl, _ = planted_playlists(seed=args.seed)
        long_short = make_split("planted-tiny", args.seed, l_max=50, n_negatives=100)
        name = "planted (smoke)"
    else:
        seq = load_ml100k()
        pl = ml100k_playlists(min_rating=4)
        long_short = make_split("ml-100k", args.seed, l_max=50)
        name = "MovieLens-100k"
    loo = add_recent_context(leave_one_out(seq, n_negatives=100, seed=args.seed), 5)
    b = SimpleNamespace(
        loo=loo,
        sessions=playlist_holdout(pl, seed=args.seed),
        long_short=long_short,
        quick=args.quick,
        # PMI over users, once per split: raw for Fig. 5 (pairs never held together left out),
        # finite (smoothing 0.1) for the softmaxed "PMI attention" of Fig. 5.13
        loo_pmi=pmi_matrix(loo.train.df, loo.n_items, "user", n_groups=loo.n_users),
        long_short_pmi=pmi_matrix(long_short.train.df, long_short.n_items, "user", smoothing=0.1,
                                  n_groups=long_short.n_users),  # fmt: skip
    )
    return b, name


def _fit(model, split, seed, quick, cap, **kw):
    hist = fit(model, split, epochs=2 if quick else cap, patience=PATIENCE, n_negatives=4, seed=seed,
               progress=False, **kw)  # fmt: skip
    return int(hist.attrs["best_epoch"]), 2 if quick else cap


def _metrics(model, es, ks=(10,)):
    return evaluate(model, es, ks=ks)


def _sdm(hops):
    def run(b, cfg, seed, quick, parts) -> Outcome:
        split = b.loo
        model = SDM(split.n_users, split.n_items, 64, hops=hops, init_std=0.01, dropout=0.2)
        best, cap = _fit(model, split, seed, quick, 50, lr=2e-3, batch_size=256, neg_reduce="max",
                         weight_decay=1e-3 / 256, compile=not quick)  # fmt: skip
        es = split.test
        n = min(len(es), ROWS)
        tgt, ctx, mask = es.candidates[:n, 0], es.inputs["context"][:n], es.inputs["context_mask"][:n]
        a = model.attention(es.users[:n], tgt, ctx, mask)[-1].cpu()  # last hop, (n, s)
        test = _metrics(model, es) | {"PMI r": attention_pmi_correlation(a, tgt, ctx, mask, b.loo_pmi)}
        return Outcome(_metrics(model, split.valid), test, model, best, cap)

    return run


def _mass(attention):
    def run(b, cfg, seed, quick, parts) -> Outcome:
        split = b.sessions
        model = MASS(split.n_users, split.n_items, n_playlists(split), 32, attention=attention)
        best, cap = _fit(model, split, seed, quick, 50, lr=1e-2, batch_size=256)
        test = _metrics(model, split.test) | {"PMI r": pmi_attention_correlation(model, split, max_rows=ROWS)[0]}
        return Outcome(_metrics(model, split.valid), test, model, best, cap)

    return run


def _mass_name(attention: str) -> str:
    return "MASS" if attention == "mem-metric" else f"MASS {attention}"


def _sequence(cls, long: bool):
    def run(b, cfg, seed, quick, parts) -> Outcome:
        split = b.long_short
        model = cls(split.n_users, split.n_items, dim=64)
        best, cap = _fit(model, split, seed, quick, 100, lr=5e-3, batch_size=512)
        es = split.test
        n = min(len(es), ROWS)
        key = "long_context" if long else "context"
        inputs = {k: v[:n] for k, v in es.inputs.items()}
        dev = next(model.parameters()).device
        with torch.no_grad():
            enc = model.encode(es.users[:n].to(dev), **{k: v.to(dev) for k, v in inputs.items()})
        a = enc[1].mean(-1).cpu()  # (n, L): the heads' weights averaged (one head for the real models)
        tgt = es.candidates[:n, 0]
        r = attention_pmi_correlation(a, tgt, inputs[key], inputs[f"{key}_mask"], b.long_short_pmi, softmax=True)
        test = _metrics(model, es, ks=(10, 100)) | {"PMI r": r}
        return Outcome(_metrics(model, split.valid, ks=(10, 100)), test, model, best, cap)

    return run


CANDIDATES = (
    *(Candidate(f"SDM-{h}", run=_sdm(h), paper=str(h)) for h in HOPS),
    *(Candidate(_mass_name(a), run=_mass(a), paper=a) for a in ATTENTION),
    Candidate("QUALE", run=_sequence(QUALE, long=True), paper="QUALE"),
    Candidate("AASVD", run=_sequence(AASVD, long=True), paper="AASVD"),
    Candidate("QUASE (LSTM)", run=_sequence(QUASE, long=False), paper="QUASE"),
    Candidate("ALSTM", run=_sequence(ALSTM, long=False), paper="ALSTM"),
)
#: where each candidate's published r is
FIGURE = {**{f"SDM-{h}": ("SDMR", "Fig. 5") for h in HOPS},
          **{_mass_name(a): ("dissertation", "Fig. 4.13") for a in ATTENTION},
          **{m: ("dissertation", "Fig. 5.13") for m in ("QUALE", "AASVD", "QUASE (LSTM)", "ALSTM")}}  # fmt: skip


def sections(rows, ctx=None) -> list[str]:
    """Ours against the papers' r, per figure (they measured on other data except Fig. 5)."""
    from recsys_book import published
    from recsys_book.results import markdown_table, mean_std, selected

    sel = selected(rows) if len(rows) else rows
    out = []
    for c in CANDIDATES:
        g = sel[sel["model"] == c.name]
        if g.empty:
            continue
        paper, fig = FIGURE[c.name]
        out.append({"model": c.name, "ours: PMI r": mean_std(g["test PMI r"].tolist()), "seeds": len(g),
                    "paper r": f"{published.value(paper, fig, c.paper, 'r'):.3f}",
                    "paper": published.cite(paper, fig).split(":")[0]})  # fmt: skip
    if not out:
        return []
    import pandas as pd

    return ["## Pearson r, ours (the test rows of the kept checkpoints) and the papers'", "",
            markdown_table(pd.DataFrame(out), index=False), "",
            "The papers' data: SDMR Fig. 5 MovieLens-100k (ours too), Fig. 4.13 30Music playlists, "
            "Fig. 5.13 Apps for Android: compare orderings, not values."]  # fmt: skip

EXPERIMENT = Experiment(
    name="pmi",
    title="PMI against attention on trained checkpoints (SDMR Fig. 5, dissertation Figs. 4.13 and 5.13)",
    protocol="analysis",  # three splits: each model's chapter's (module doc)
    data=data,
    candidates=CANDIDATES,
    doc=__doc__,
    seeds=5,  # 3 left two verdicts within noise; 5 settled them
    quick_seeds=1,
    metrics=("test HR@10", "test NDCG@10", PMI_R),
    sections=sections,
)
