"""Packaging: environment.yml agrees with pyproject.toml; CI runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
tomllib = pytest.importorskip(
    "tomllib", reason="tomllib needs Python >= 3.11 (the course env uses 3.11)"
)


@pytest.fixture(scope="module")
def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def env():
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def _pyproject_reqs(pyproject) -> dict[str, Requirement]:
    extras = pyproject["project"]["optional-dependencies"]
    assert {"test", "book"} <= set(extras), "extras [test] and [book] expected"
    reqs = pyproject["project"]["dependencies"] + [r for group in extras.values() for r in group]
    out = {}
    for r in map(Requirement, reqs):
        out[r.name.lower()] = r
    return out


def _conda_spec(spec: str) -> tuple[str, SpecifierSet]:
    """A conda match spec 'name[ op version]' -> (name, PEP 440 specifier).

    conda's single '=' means 'this version or a sub-version' (python=3.11 -> ==3.11.*)."""
    m = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(.*)", spec.strip())
    assert m, f"unreadable conda spec {spec!r}"
    name, ver = m.group(1).lower(), m.group(2).replace(" ", "")
    if re.fullmatch(r"=[^=].*", ver):
        ver = f"=={ver[1:]}.*"
    return name, SpecifierSet(ver)


def test_environment_is_a_conda_env(env):
    assert isinstance(env, dict) and env.get("name") and isinstance(env.get("dependencies"), list)
    assert "conda-forge" in env.get("channels", [])
    specs = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = [d for d in env["dependencies"] if isinstance(d, dict)]
    assert len(pip) == 1 and list(pip[0]) == ["pip"], "one pip: section expected"
    names = dict(_conda_spec(s) for s in specs)
    assert "pip" in names, "a pip section needs pip itself among the conda packages"
    py = names["python"]
    assert Version("3.11.9") in py and Version("3.12.0") not in py and Version("3.10.0") not in py


def test_environment_agrees_with_pyproject(env, pyproject):
    reqs = _pyproject_reqs(pyproject)
    conda = dict(_conda_spec(s) for s in env["dependencies"] if isinstance(s, str))
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pip_reqs = {}
    for line in pip_section:
        if line.strip() in ("-e .", "."):
            continue
        r = Requirement(line)
        pip_reqs[r.name.lower()] = r
    assert any(line.strip() in ("-e .", ".") for line in pip_section), "the package itself (-e .)"
    env_names = (set(conda) - {"python", "pip"}) | set(pip_reqs)
    assert env_names == set(reqs), (
        f"only in environment.yml: {sorted(env_names - set(reqs))}; "
        f"only in pyproject.toml: {sorted(set(reqs) - env_names)}"
    )
    for name, spec in conda.items():
        if name in reqs:
            assert spec == reqs[name].specifier, (
                f"{name}: conda {spec} vs pyproject {reqs[name].specifier}"
            )
    # torch comes from pip with the exact pin, which must satisfy pyproject's range
    torch_pin = pip_reqs["torch"].specifier
    assert str(torch_pin) == "==2.13.0"
    assert reqs["torch"].specifier.contains(Version("2.13.0"))


def test_makefile_pins_the_same_torch():
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^TORCH\s*:=\s*torch==2\.13\.0\s*$", make, re.MULTILINE)
    # torch is installed before the package, so pip never resolves a looser torch spec
    assert make.index("$(PIP) install --quiet $(TORCH)") < make.index(
        "install --quiet -e '.[test]'"
    )
    for target in ("lab:", "test:", "setup:", "data:"):
        assert re.search(rf"^{target}", make, re.MULTILINE), target


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:bash|sh|shell)?\n(.*?)```", text, re.DOTALL)
    return [ln.strip() for b in blocks for ln in b.splitlines() if ln.strip().startswith("make ")]


def test_readme_names_both_commands():
    cmds = _readme_commands()
    assert "make lab" in cmds and "make test" in cmds


def test_ci_runs_the_readme_test_command():
    """CI runs what a newcomer runs: the README's test command first (before `make book`
    can install anything more), then its book command, and sets no environment of its own
    (a thread pin or a flag there would test another course than the one a learner gets)."""
    run = ROOT / ".ci" / "run"
    text = run.read_text(encoding="utf-8")
    lines = [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")
    ]
    makes = [ln for ln in lines if ln.startswith("make ")]
    assert makes == ["make test", "make book"], makes
    assert {"make test", "make book"} <= set(_readme_commands())
    assert not [ln for ln in lines if re.match(r"(export\s+)?[A-Z_]+=", ln) or " env " in ln]
    assert run.stat().st_mode & 0o111, ".ci/run must be executable"


def _imports(path: Path) -> set[str]:
    """Top-level names ``path`` imports, leaving out those inside ``try: ... except
    ImportError`` (optional: the code says what to install when they are missing)."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    optional: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
            for h in node.handlers
        ):
            optional |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    names = set()
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(
    "folder, extras",
    [("recsys_book", ()), ("benchmarks", ()), ("tests", ("test",))],
)
def test_every_import_is_a_declared_dependency(pyproject, folder, extras):
    """A package imported but not declared works only where something else pulled it in
    (`tabulate` came with jupyter-book, so `reproduce qualse` failed for a newcomer whose
    `make test` ran before `make book`). ``recsys_book/book.py`` may use the [book] extra."""
    import importlib.metadata as md
    import sys

    from packaging.utils import canonicalize_name

    dists = md.packages_distributions()
    project = pyproject["project"]
    declared = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    for extra in extras:
        declared |= {
            canonicalize_name(Requirement(r).name)
            for r in project["optional-dependencies"][extra]
        }
    book = {canonicalize_name(Requirement(r).name) for r in project["optional-dependencies"]["book"]}
    # the project's own packages, and the folder's own modules (a test helper module)
    local = {"recsys_book", "benchmarks", "tests", "conftest"} | {p.stem for p in (ROOT / folder).rglob("*.py")}
    problems = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        allowed = declared | (book if path.name == "book.py" else set())
        for name in sorted(_imports(path) - local - set(sys.stdlib_module_names)):
            owners = {canonicalize_name(d) for d in dists.get(name, [])}
            if not owners & allowed:
                problems.append(f"{path.relative_to(ROOT)} imports {name} ({sorted(owners)})")
    assert not problems, "undeclared imports (add them to pyproject.toml):\n" + "\n".join(problems)


def test_no_pandas_method_that_needs_an_undeclared_package():
    """``DataFrame.to_markdown`` imports `tabulate` at call time, ``to_parquet`` pyarrow,
    ``to_excel`` openpyxl: an import scan cannot see them. Use experiments'
    ``markdown_table`` (no extra dependency) or declare the package."""
    hits = [
        f"{p.relative_to(ROOT)}:{i}"
        for p in sorted((ROOT / "recsys_book").rglob("*.py"))
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\.to_(markdown|parquet|excel|feather)\(", line)
    ]
    assert not hits, hits


def test_models_import_nothing_from_the_loop_the_adversary_or_the_evaluator():
    """Models declare; the loops (train, als), the adversary (adversarial) and the evaluator
    (evaluate) use them, never the reverse: no import of any anywhere in recsys_book/models/,
    at the top or in a function."""
    import ast

    LOOPS = ("recsys_book.train", "recsys_book.als", "recsys_book.adversarial", "recsys_book.evaluate")
    bad = []
    for path in sorted((ROOT / "recsys_book" / "models").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if any(n in LOOPS for n in names) or (
                isinstance(node, ast.ImportFrom) and node.module == "recsys_book"
                and {f"recsys_book.{a.name}" for a in node.names} & set(LOOPS)
            ):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bad, f"models import a training loop, the adversary or the evaluator: {bad}"
