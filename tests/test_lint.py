"""The lint gate: ``ruff check`` over the library, tests, benchmarks and chapters, with the
rules of pyproject.toml ([tool.ruff]); ruff comes with the ``[test]`` extra."""

import subprocess
import sys

from recsys_book.utils import repo_root


def _ruff(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=cwd or repo_root(), capture_output=True, text=True
    )


def test_ruff_is_installed():
    r = _ruff("--version")
    assert r.returncode == 0, (
        "ruff is missing: it comes with the test extra (pip install -e '.[test]', as make test does)\n"
        + r.stderr
    )


def test_the_code_passes_ruff():
    r = _ruff("check", "--no-cache", "--output-format", "concise", ".")
    assert r.returncode == 0, "ruff check found problems (ruff check --fix fixes some):\n" + r.stdout + r.stderr


def test_the_gate_can_fail(tmp_path):
    """The same configuration flags an unused import and a redefinition (the gate is live)."""
    (tmp_path / "pyproject.toml").write_text(
        (repo_root() / "pyproject.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "bad.py").write_text("import json\nimport os\nimport json\n\nprint(os.sep)\n")
    r = _ruff("check", "--no-cache", "--output-format", "concise", ".", cwd=tmp_path)
    assert r.returncode == 1
    assert "F401" in r.stdout and "F811" in r.stdout
