"""`reproduce all`: runs each job once, resumes, reruns on --force, writes one report."""

from __future__ import annotations

import sys
import types

import pytest

from recsys_book.experiments import all as rall


@pytest.fixture()
def fake_jobs(monkeypatch):
    calls = []

    def main(argv):
        out = argv[argv.index("--out") + 1]
        calls.append(list(argv))
        from pathlib import Path

        name = "fake_smoke" if "--quick" in argv else "fake"  # as results.stem names them
        Path(out, f"{name}.md").write_text(
            "# Fake table\n\n| model | HR@10 |\n|---|---|\n| A | 0.5 |\n"
        )
        return 0

    mod = types.ModuleType("recsys_book.experiments._fake")
    mod.main = main
    monkeypatch.setitem(sys.modules, "recsys_book.experiments._fake", mod)
    monkeypatch.setattr(rall, "JOBS", (rall.Job("fake", "_fake", ("--x",), "99 fake"),))
    return calls


def test_runs_once_resumes_and_forces(tmp_path, fake_jobs):
    assert rall.main(["--out", str(tmp_path)]) == 0
    assert len(fake_jobs) == 1 and fake_jobs[0][:1] == ["--x"]
    report = (tmp_path / "REPORT.md").read_text()
    assert "## fake: 99 fake" in report and "| A | 0.5 |" in report
    assert "stricter" in report and "reproduce _fake --x" in report
    assert rall.main(["--out", str(tmp_path)]) == 0
    assert len(fake_jobs) == 1, "a finished table must not be recomputed"
    assert rall.main(["--out", str(tmp_path), "--force", "fake"]) == 0
    assert len(fake_jobs) == 2


def test_quick_is_passed_on_and_said_in_the_report(tmp_path, fake_jobs):
    assert rall.main(["--out", str(tmp_path), "--quick"]) == 0
    assert "--quick" in fake_jobs[0]
    assert "smoke run" in (tmp_path / "REPORT.md").read_text()


def test_unknown_job_is_a_usage_error(tmp_path, fake_jobs):
    with pytest.raises(SystemExit):
        rall.main(["--out", str(tmp_path), "--only", "nope"])


def test_every_job_names_an_existing_experiment():
    import importlib.util

    for job in rall.JOBS:
        spec = importlib.util.find_spec(f"recsys_book.experiments.{job.name}")
        assert spec is not None, f"reproduce all lists {job.name}, which does not exist"


def test_report_has_the_leaderboard_headlines_of_the_committed_tables():
    from pathlib import Path

    from recsys_book import leaderboard as L
    from recsys_book.experiments.all import leaderboard_section

    results = Path(__file__).resolve().parents[1] / "results"
    text = leaderboard_section(results)
    board = L.load(results)
    for key, proto in L.PROTOCOLS.items():  # each protocol's best model heads its rows
        best = L.table(board, key).index[0]
        assert f"| {key} | {best} | {proto.metric} |" in text, (key, best)
    assert "| loo | Popularity | HR@10 |" in text
    assert "smoke" in leaderboard_section(results, quick=True)
