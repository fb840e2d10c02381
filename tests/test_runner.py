"""The one runner and the one results schema: selection on validation only, rows written as
they finish, a rerun resumes, and a smoke run cannot touch a real table, for every experiment."""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

import pandas as pd
import pytest

from recsys_book.claims import Claim, table
from recsys_book.experiments import _runner as runner
from recsys_book.experiments._runner import Candidate, Experiment, Outcome
from recsys_book.results import ResultsFile, Row, read, selected, stem, still_improving

EXPERIMENTS = Path(runner.__file__).parent
NAMES = sorted(p.stem for p in EXPERIMENTS.glob("*.py") if not p.stem.startswith("_") and p.stem != "all")


class _Const:
    """A fake model whose validation and test metrics come from its configuration."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.fits = 0

    def fit(self, split):
        self.fits += 1
        return self


def _evaluate(model, split, part):
    v = model.cfg["q"]
    return {"NDCG@10": v if part == "valid" else 1.0 - v, "HR@10": v}


def _experiment(calls, **kw):
    def build(split, cfg, parts):
        calls.append(dict(cfg))
        return _Const(cfg)

    return Experiment(
        name="toy",
        title="Toy",
        protocol="toy",
        data=lambda args: (None, "toy data"),
        evaluate=_evaluate,
        candidates=(Candidate("A", build, {"q": [0.2, 0.7, 0.5]}),),
        **kw,
    )


def test_selection_is_on_validation_and_test_is_never_looked_at(tmp_path):
    calls = []
    exp = _experiment(calls)
    assert runner.main(exp, ["--out", str(tmp_path)], log=lambda *a: None) == 0
    rows = read(tmp_path / "toy.csv")
    assert len(rows) == 3 and calls == [{"q": 0.2}, {"q": 0.7}, {"q": 0.5}]
    # test = 1 - valid here: a selection that looked at test would pick q = 0.2
    assert json.loads(selected(rows)["config"].iloc[0]) == {"q": 0.7}
    md = (tmp_path / "toy.md").read_text()
    assert "| A | q=0.7 |" in md and "commit" in md


def test_rows_land_as_they_finish_and_a_rerun_resumes(tmp_path):
    calls = []

    def build(split, cfg, parts):
        calls.append(cfg["q"])
        if cfg["q"] == 0.5 and len(calls) == 3:
            raise KeyboardInterrupt  # interrupted during the third configuration
        return _Const(cfg)

    exp = Experiment(
        "toy", "Toy", "toy", lambda a: (None, "toy"), (Candidate("A", build, {"q": [0.2, 0.7, 0.5]}),),
        evaluate=_evaluate,
    )
    with pytest.raises(KeyboardInterrupt):
        runner.main(exp, ["--out", str(tmp_path)], log=lambda *a: None)
    assert len(read(tmp_path / "toy.csv")) == 2  # the finished rows were kept
    assert not (tmp_path / "toy.md").exists()
    runner.main(exp, ["--out", str(tmp_path)], log=lambda *a: None)
    assert calls == [0.2, 0.7, 0.5, 0.5]  # only the missing row was trained again
    assert len(read(tmp_path / "toy.csv")) == 3
    runner.main(exp, ["--out", str(tmp_path), "--force"], log=lambda *a: None)
    assert calls[4:] == [0.2, 0.7, 0.5] and len(read(tmp_path / "toy.csv")) == 3


def test_other_seeds_train_the_chosen_configuration_only(tmp_path):
    calls = []
    exp = _experiment(calls)
    runner.main(exp, ["--out", str(tmp_path), "--seeds", "3"], log=lambda *a: None)
    assert calls == [{"q": 0.2}, {"q": 0.7}, {"q": 0.5}, {"q": 0.7}, {"q": 0.7}]
    rows = read(tmp_path / "toy.csv")
    assert sorted(selected(rows)["seed"]) == [0, 1, 2]


def test_coordinate_search_and_dependencies(tmp_path):
    seen = []

    def build(split, cfg, parts):
        return _Const({"q": 0.1 * cfg["a"] + 0.01 * cfg["b"]})

    def fused(split, cfg, parts):
        seen.append(parts["A"].cfg)
        return _Const({"q": 0.05})

    exp = Experiment(
        "toy", "Toy", "toy", lambda a: (None, "toy"),
        (
            Candidate("A", build, {"a": [1, 3, 2], "b": [1, 5]}, search="coordinate"),
            Candidate("B", fused, depends_on=("A",)),
        ),
        evaluate=_evaluate,
    )
    runner.main(exp, ["--out", str(tmp_path)], log=lambda *a: None)
    rows = read(tmp_path / "toy.csv")
    a = rows[rows["model"] == "A"]
    # a searched first (b at its first value), then b at the chosen a: 3 + 2 trials, one repeated
    assert [json.loads(c) for c in a["config"]] == [
        {"a": 1, "b": 1}, {"a": 3, "b": 1}, {"a": 2, "b": 1}, {"a": 3, "b": 5},
    ]
    assert seen == [{"q": pytest.approx(0.35)}]  # B was built from A's chosen, trained model


def test_a_dependant_at_seed_s_is_built_from_its_part_trained_at_seed_s(tmp_path):
    """NeuMF++ at seed 2 starts from GMF and MLP trained at seed 2 (not seed 0's), and a
    resumed run retrains the parts it needs at every seed, unrecorded."""

    def seeded(model, split, cfg, seed, quick):
        model.seed = seed
        return runner.Trained()

    built = []

    def fused(split, cfg, parts):
        built.append((parts["A"].seed, parts["P"].seed))
        return _Const({"q": 0.05})

    exp = Experiment(
        "toy", "Toy", "toy", lambda a: (None, "toy"),
        (
            Candidate("A", lambda s, c, p: _Const(c), {"q": [0.2, 0.4]}, train=seeded),
            Candidate("P", lambda s, c, p: _Const({"q": 0.1}), train=seeded, seeds=False),
            Candidate("B", fused, depends_on=("A", "P")),
        ),
        evaluate=_evaluate,
    )
    runner.main(exp, ["--out", str(tmp_path), "--seeds", "3"], log=lambda *a: None)
    assert built == [(0, 0), (1, 0), (2, 0)]  # P is trained once: its seed-0 model for all
    built.clear()
    (tmp_path / "toy.csv").write_text("".join((tmp_path / "toy.csv").read_text().splitlines(True)[:-1]))
    runner.main(exp, ["--out", str(tmp_path), "--seeds", "3"], log=lambda *a: None)
    assert built == [(2, 0)]  # only B's lost row was redone, from A retrained at seed 2


def test_a_choice_at_the_edge_of_its_grid_is_said_in_the_table(tmp_path):
    cand = Candidate("A", None, {"lr": [1e-3, 5e-3, 2e-3], "n": [4], "name": ["x", "y"]})
    assert runner.grid_edges(cand, {"lr": 5e-3, "n": 4, "name": "y"}) == ["lr=0.005 (tried 0.001..0.005)"]
    assert runner.grid_edges(cand, {"lr": 2e-3, "n": 4, "name": "x"}) == []  # inside; one-value knob
    calls = []
    runner.main(_experiment(calls), ["--out", str(tmp_path)], log=lambda *a: None)
    md = (tmp_path / "toy.md").read_text()
    assert "edge of its grid" in md and "A: q=0.7 (tried 0.2..0.7)" in md


def test_quick_seeds_apply_only_when_seeds_is_not_given(tmp_path):
    calls = []
    exp = _experiment(calls, seeds=3, quick_seeds=1)
    runner.main(exp, ["--quick", "--out", str(tmp_path / "a")], log=lambda *a: None)
    assert sorted(read(tmp_path / "a" / "toy_smoke.csv")["seed"]) == [0]
    runner.main(exp, ["--quick", "--seeds", "2", "--out", str(tmp_path / "b")], log=lambda *a: None)
    assert sorted(read(tmp_path / "b" / "toy_smoke.csv")["seed"]) == [0, 1]  # asked for: kept
    runner.main(exp, ["--out", str(tmp_path / "c")], log=lambda *a: None)
    assert sorted(read(tmp_path / "c" / "toy.csv")["seed"].unique()) == [0, 1, 2]


def test_a_smoke_row_cannot_enter_a_real_table(tmp_path):
    real = ResultsFile(tmp_path, "x", smoke=False)
    with pytest.raises(ValueError, match="x_smoke.csv"):
        real.add(Row("x", "p", "d", "m", {}, 0, smoke=True))
    assert stem("x", True) == "x_smoke" and ResultsFile(tmp_path, "x", True).path.name == "x_smoke.csv"


def test_still_improving_and_the_claims_say_no_verdict(tmp_path):
    def run(split, cfg, seed, quick, parts):
        return Outcome({"NDCG@10": 0.5}, {"HR@10": cfg["v"]}, best_epoch=cfg["e"], max_epochs=10)

    exp = Experiment(
        "toy", "Toy", "toy", lambda a: (None, "toy"),
        (Candidate("W", run=run, grid={"v": [0.9], "e": [10]}), Candidate("L", run=run, grid={"v": [0.1], "e": [4]})),
        claims=(Claim("W", "L", "test HR@10", "W beats L"),),
        metrics=("test HR@10",),
    )
    runner.main(exp, ["--out", str(tmp_path)], log=lambda *a: None)
    rows = read(tmp_path / "toy.csv")
    assert list(still_improving(rows)) == [True, False]
    md = (tmp_path / "toy.md").read_text()
    assert "10* of 10" in md and "no verdict: a run was still improving" in md


@pytest.mark.parametrize("name", NAMES)
def test_every_experiment_is_a_declaration_run_by_the_runner(name):
    mod = importlib.import_module(f"recsys_book.experiments.{name}")
    exps = [v for v in vars(mod).values() if isinstance(v, Experiment)]
    assert exps, f"experiments/{name}.py declares no Experiment"
    src = (EXPERIMENTS / f"{name}.py").read_text()
    tree = ast.parse(src)
    called = {
        n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
    }
    # files are written by the runner only: an experiment cannot name its own outputs
    for writer in ("write_text_atomic", "to_csv", "write_text", "open", "write_results"):
        assert writer not in called, f"experiments/{name}.py calls {writer}: only the runner writes"


@pytest.mark.parametrize("name", NAMES)
def test_every_claim_names_models_its_experiment_trains(name):
    """An experiment judges the claims recsys_book.claims holds under its name, and each
    claim's two models are candidates of it: a misspelt model would be "not run" forever."""
    from recsys_book.claims import CLAIMS, select_on

    mod = importlib.import_module(f"recsys_book.experiments.{name}")
    for exp in [v for v in vars(mod).values() if isinstance(v, Experiment)]:
        assert exp.claims == CLAIMS.get(exp.name, ()) and exp.select_on == select_on(exp.name)
        names = {c.name for c in exp.candidates}
        if exp.name == "qualse" and not names:
            continue
        for c in exp.claims:
            if exp.name == "qualse" and {c.winner, c.loser} - names:  # the smoke run lacks some
                assert exp is not mod.ML100K, c
                continue
            assert {c.winner, c.loser} <= names, f"{exp.name}: {c} names a model it never trains"


def test_chapters_and_the_leaderboard_import_no_experiment():
    """A chapter reads committed verdicts through recsys_book.claims; importing an experiment
    would pull its whole training stack into the chapter (and into the leaderboard)."""
    import json

    root = EXPERIMENTS.parents[1]
    texts = {p.name: "".join("".join(c["source"]) for c in json.loads(p.read_text())["cells"] if c["cell_type"] == "code")
             for p in (root / "notebooks").glob("*.ipynb")}  # fmt: skip
    for p in [root / "recsys_book" / "leaderboard.py", *(root / "notebooks" / "solutions").glob("*.py"),
              *(root / "recsys_book" / "exercises").glob("*.py")]:  # fmt: skip
        texts[p.name] = p.read_text()
    assert len(texts) > 20
    bad = [name for name, text in texts.items() if "recsys_book.experiments" in text]
    assert not bad, f"these import an experiment module (use recsys_book.claims): {bad}"


@pytest.mark.parametrize("name", NAMES)
def test_quick_never_touches_a_real_table(name, tmp_path, monkeypatch):
    """Every experiment's --quick goes through the runner's naming: the real files of a
    folder (sentinels here) are left byte for byte; only <name>_smoke.* are written."""
    mod = importlib.import_module(f"recsys_book.experiments.{name}")
    exps = [v for v in vars(mod).values() if isinstance(v, Experiment)]

    def fake_run(exp, ctx, store, log=print):  # no training: one row through the store
        store.add(Row(exp.name, exp.protocol, "d", "m", {"q": 1}, 0, valid={"NDCG@10": 0.1}, smoke=store.smoke))
        return store.rows

    monkeypatch.setattr(runner, "run", fake_run)
    # no data behind the fake rows: the report's sections (which read the data) are not the point
    monkeypatch.setattr(runner, "markdown", lambda exp, rows, ctx: f"# {exp.title}\n")
    sentinels = {}
    for exp in exps:
        for ext in ("csv", "md"):
            p = tmp_path / f"{exp.name}.{ext}"
            p.write_text(f"real {exp.name} table\n")
            sentinels[p] = p.read_text()
    for exp in exps:
        object.__setattr__(exp, "data", lambda args: (None, "fake"))  # frozen dataclass: test only
    try:
        assert runner.reproduce(name, ["--quick", "--out", str(tmp_path)]) == 0
    finally:
        importlib.reload(mod)  # restore the declarations' data
    for p, text in sentinels.items():
        assert p.read_text() == text, f"{name} --quick overwrote {p.name}"
    written = {p.name for p in tmp_path.iterdir()} - {p.name for p in sentinels}
    assert written and all("_smoke." in w for w in written), written


def test_a_table_in_an_older_layout_is_replaced_only_when_forced(tmp_path, capsys):
    calls = []
    old = tmp_path / "toy.csv"
    old.write_text("model,HR@10\nA,0.5\n")
    with pytest.raises(SystemExit):
        runner.main(_experiment(calls), ["--out", str(tmp_path)], log=lambda *a: None)
    assert "--force" in capsys.readouterr().err and old.read_text() == "model,HR@10\nA,0.5\n"
    runner.main(_experiment(calls), ["--out", str(tmp_path), "--force"], log=lambda *a: None)
    assert len(read(old)) == 3


def test_a_legacy_table_becomes_rows_marked_with_the_commit_that_wrote_it(tmp_path):
    from recsys_book.results import write_legacy

    (tmp_path / "old.csv").write_text("model,HR@10\nA,0.5\n")
    rows = [Row("old", "loo", "d", "A", {"k": 1}, 0, test={"HR@10": 0.5}, best_epoch=3, max_epochs=3)]
    path = write_legacy(tmp_path, "old", rows, "abc1234")
    df = read(path)
    assert list(df["code"]) == ["legacy"] and list(df["commit"]) == ["abc1234"] and list(df["test HR@10"]) == [0.5]
    assert list(still_improving(df)) == [True]
    store = ResultsFile(tmp_path, "old", smoke=False)  # a rerun never skips a legacy row
    assert not store.has(Row("old", "loo", "d", "A", {"k": 1}, 0))
    with pytest.raises(ValueError, match="commit"):
        write_legacy(tmp_path, "old", rows, "HEAD")


def test_a_verdict_needs_the_paired_test_over_seeds(tmp_path):
    """Three seeds: W's lead of about 0.2 on every seed holds (p < .05); a lead of 0.001 in the mean
    with seeds on both sides is within noise, not 'holds'; one seed says it is untested."""
    lead = {"W": [0.7, 0.85, 0.88], "L": [0.5, 0.6, 0.7], "N": [0.55, 0.65, 0.603]}

    def run(split, cfg, seed, quick, parts):
        return Outcome({"NDCG@10": 0.5}, {"HR@10": lead[cfg["m"]][seed]}, best_epoch=2, max_epochs=10)

    claims = (Claim("W", "L", "test HR@10", "W beats L"), Claim("N", "L", "test HR@10", "N beats L"))
    exp = Experiment(
        "toy", "Toy", "toy", lambda a: (None, "toy"),
        tuple(Candidate(m, run=run, grid={"m": [m]}) for m in lead),
        claims=claims, metrics=("test HR@10",), seeds=3,
    )
    runner.main(exp, ["--out", str(tmp_path)], log=lambda *a: None)
    v = {j["claim"].winner: j for j in runner.judge(exp, read(tmp_path / "toy.csv"))}
    assert v["W"]["verdict"] == "holds" and v["W"]["p"] < 0.05 and v["W"]["n"] == 3
    assert v["N"]["verdict"].startswith("within noise") and v["N"]["p"] >= 0.05
    runner.main(exp, ["--out", str(tmp_path / "one"), "--seeds", "1"], log=lambda *a: None)
    one = runner.judge(exp, read(tmp_path / "one" / "toy.csv"))
    assert all("untested" in j["verdict"] for j in one)
    tab = table(runner.judge(exp, read(tmp_path / "toy.csv"))).set_index("winner")
    assert tab.at["W", "verdict"] == "holds" and tab.at["W", "seeds"] == 3
    assert tab.at["W", "winner mean"] == pytest.approx(sum(lead["W"]) / 3)
    assert tab.at["N", "p"] == pytest.approx(v["N"]["p"])


def test_models_that_run_once_are_judged_by_a_per_user_sign_test(tmp_path, monkeypatch):
    """Deterministic models on one split have no seeds to pair: the runner stores their
    per-user test values beside the rows (each row's mean is its recorded metric), the judge
    pairs them user by user (the exact sign test), and a rerun finds them written."""
    from recsys_book.data import leave_one_out, planted_implicit
    from recsys_book.models import Popularity
    from recsys_book.models.baselines import ItemKNN
    from recsys_book.results import per_user_values, read_per_user, sign_test

    inter, _ = planted_implicit(n_users=150, n_items=100, seed=0)
    split = leave_one_out(inter, n_negatives=50, seed=0)
    exp = Experiment(
        "toy", "Toy", "loo", lambda a: (split, "planted"),
        (Candidate("Pop", lambda s, c, p: Popularity(s.n_users, s.n_items), seeds=False),
         Candidate("KNN", lambda s, c, p: ItemKNN(s.n_users, s.n_items), seeds=False)),
        claims=(Claim("KNN", "Pop", "test NDCG@10", "KNN beats Pop"), Claim("Pop", "KNN", "test HR@10", "Pop beats KNN")),
    )  # fmt: skip
    runner.main(exp, ["--out", str(tmp_path)], log=lambda *a: None)
    rows, users = read(tmp_path / "toy.csv"), read_per_user(tmp_path / "toy.csv")
    vals = {}
    for _, r in rows.iterrows():
        for m in ("test NDCG@10", "test HR@10"):
            v = vals[(r["model"], m)] = per_user_values(users, r, m)
            assert len(v) == len(split.test) and v.mean() == pytest.approx(r[m], abs=1e-5)
    verdicts = {j["claim"].metric: j for j in runner.judge(exp, rows, users)}
    knn = verdicts["test NDCG@10"]
    assert knn["test"].startswith("per-user sign test") and knn["n"] == 1
    assert knn["p"] == pytest.approx(sign_test(vals[("KNN", "test NDCG@10")], vals[("Pop", "test NDCG@10")])[2])
    assert knn["verdict"] == "holds" and verdicts["test HR@10"]["verdict"] == "does NOT hold"
    assert runner.judge(exp, rows)[0]["verdict"].endswith("untested)")  # without the values
    assert "per-user sign test" in (tmp_path / "toy.md").read_text()
    said = []
    runner.main(exp, ["--out", str(tmp_path)], log=said.append)
    assert sum("already written, skipped" in line for line in said) == 2
    # rerun by other code: each row's values are replaced, not piled beside the old ones
    import recsys_book.results as results

    monkeypatch.setattr(results, "code_hash", lambda: "other code")
    runner.main(exp, ["--out", str(tmp_path)], log=lambda *a: None)
    again = read_per_user(tmp_path / "toy.csv")
    assert len(again) == len(users) and all('"other code"' in k for k in again["key"])


def test_the_sign_test_decides_the_direction_and_pairs_only_the_same_seed():
    """A per-user sign test says which model more users prefer, whatever the means say (NDCG
    can have a higher mean with fewer users higher); rows of different seeds (another split)
    are never paired user by user."""
    import json

    import numpy as np

    from recsys_book.claims import judge
    from recsys_book.results import _user_key

    a_vals = np.r_[np.full(10, 1.0), np.zeros(40)]                 # mean .20: 10 users higher
    b_vals = np.r_[np.zeros(10), np.full(40, 0.1)]                 # mean .08: 40 users higher
    rec = {"dataset": "d", "config": "{}", "code": "c", "best_epoch": np.nan, "max_epochs": np.nan,
           "valid NDCG@10": 0.5}  # fmt: skip
    rows = pd.DataFrame([{**rec, "model": "A", "seed": 0, "test NDCG@10": a_vals.mean()},
                         {**rec, "model": "B", "seed": 0, "test NDCG@10": b_vals.mean()}])  # fmt: skip
    users = pd.DataFrame([{"key": _user_key("d", m, "{}", 0, "c"), "metric": "test NDCG@10",
                           "values": " ".join(map(str, v))} for m, v in (("A", a_vals), ("B", b_vals))])  # fmt: skip
    claim = (Claim("A", "B", "test NDCG@10", "A beats B"),)
    v = judge(claim, rows, None, users)[0]
    assert v["test"].startswith("per-user sign test (10 users higher, 40 lower)") and v["p"] < 0.001
    assert v["a"] > v["b"] and v["verdict"] == "does NOT hold"
    rows.loc[1, "seed"] = 1  # B at another seed: another split's users, nothing to pair
    users.loc[1, "key"] = _user_key("d", "B", "{}", 1, "c")
    assert json.loads(users.loc[1, "key"])[3] == 1
    assert judge(claim, rows, None, users)[0]["verdict"].endswith("untested)")


def test_rows_of_several_datasets_get_a_section_each_and_are_judged_apart(tmp_path):
    """One file, two datasets (qualse's layout): W leads on dataset a and trails on b; each
    section judges its own rows (a mixed judgement would see seeds of both)."""
    lead = {"a": {"W": [0.7, 0.8, 0.9], "L": [0.5, 0.6, 0.7]}, "b": {"W": [0.5, 0.6, 0.7], "L": [0.7, 0.8, 0.9]}}

    def make(ds):
        def run(split, cfg, seed, quick, parts):
            return Outcome({"NDCG@10": 0.5}, {"HR@10": lead[ds][cfg["m"]][seed]}, best_epoch=2, max_epochs=10)

        return Experiment(
            "two", "Two", "toy", lambda a: (None, f"data {ds}"),
            tuple(Candidate(m, run=run, grid={"m": [m]}) for m in ("W", "L")),
            claims=(Claim("W", "L", "test HR@10", "W beats L"),), metrics=("test HR@10",), seeds=3,
        )

    for ds in "ab":
        runner.main(make(ds), ["--out", str(tmp_path)], log=lambda *a: None)
    md = (tmp_path / "two.md").read_text()
    a, b = md.split("## data a")[1].split("## data b")
    assert "| W beats L: W > L | HR@10 0.800 vs 0.600 | holds |" in a
    assert "| W beats L: W > L | HR@10 0.600 vs 0.800 | does NOT hold |" in b


def test_rerun_refreshes_the_named_models_rows_and_keeps_the_rest(tmp_path):
    """--rerun NAME: after a fix to one model, its rows of the real table are trained again
    (the others are kept, not retrained) and the table shows every model."""
    calls = []
    score = {"A": 0.5, "B": 0.6}

    def run(split, cfg, seed, quick, parts):
        calls.append(cfg["m"])
        return Outcome({"NDCG@10": score[cfg["m"]]}, {"HR@10": score[cfg["m"]]}, best_epoch=1, max_epochs=5)

    exp = Experiment("re", "Re", "toy", lambda a: (None, "toy"),
                     tuple(Candidate(m, run=run, grid={"m": [m]}) for m in score), seeds=2)  # fmt: skip
    runner.main(exp, ["--out", str(tmp_path)], log=lambda *a: None)
    assert sorted(calls) == ["A", "A", "B", "B"]
    calls.clear()
    score["B"] = 0.9  # the fix
    runner.main(exp, ["--out", str(tmp_path), "--rerun", "B"], log=lambda *a: None)
    assert calls == ["B", "B"]
    rows = read(tmp_path / "re.csv").set_index(["model", "seed"])
    assert len(rows) == 4 and (rows.loc["B", "test HR@10"] == 0.9).all() and (rows.loc["A", "test HR@10"] == 0.5).all()
    md = (tmp_path / "re.md").read_text()
    assert "| A |" in md and "| B |" in md and "Rows of B rerun" in md and not (tmp_path / "re_smoke.csv").exists()
    for bad in (["--rerun", "C"], ["--rerun", "B", "--quick"]):
        with pytest.raises(SystemExit):
            runner.main(exp, ["--out", str(tmp_path), *bad], log=lambda *a: None)


def test_paired_t_test_is_scipys_with_the_no_spread_cases_said():
    import numpy as np
    from scipy.stats import ttest_rel

    from recsys_book.results import paired_t_test

    rng = np.random.default_rng(3)
    for n in (2, 3, 5, 30):
        a, b = rng.normal(0.4, 0.02, n), rng.normal(0.39, 0.02, n)
        ref = ttest_rel(a, b)
        assert paired_t_test(a, b) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-9)
    assert paired_t_test([0.3, 0.4], [0.3, 0.4]) == (0.0, 1.0)
    assert paired_t_test([0.5, 0.6], [0.25, 0.35]) == (float("inf"), 0.0)
    with pytest.raises(ValueError, match="at least 2"):
        paired_t_test([0.5], [0.4])


@pytest.mark.parametrize("name,seeds", [("masr", 3), ("qualse", 5), ("lrml", 5), ("sdmr", 5), ("baselines", 3), ("pmi", 5)])
def test_committed_tables_obey_the_budget_rule(name, seeds):
    """The tables regenerated under the budget rule (issue 24): written by the runner (no
    legacy rows), no selected run stopped at its epoch cap, the chosen configuration of every
    trained model at the table's number of seeds (per dataset), a paired test per claim."""
    from recsys_book.claims import SWEEPS
    from recsys_book.results import read, selected, still_improving
    from recsys_book.utils import repo_root

    rows = read(repo_root() / "results" / f"{name}.csv")
    assert "legacy" not in set(rows["code"]) and not rows["smoke"].any()
    for ds, g in rows.groupby("dataset"):
        chosen = selected(g)
        assert not still_improving(chosen).any(), chosen[still_improving(chosen)][["model", "seed", "best_epoch"]]
        n = chosen[chosen["best_epoch"].notna()].groupby("model").size()
        once = n[n < seeds].index  # check rows of the l cap, a figure's sweep: run once by design
        assert n.max() == seeds and all("no l cap" in m or m in SWEEPS.get(name, ()) for m in once), (ds, n)
    assert "paired t-test p" in (repo_root() / "results" / f"{name}.md").read_text() or name == "qualse"
