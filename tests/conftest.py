"""Fixtures shared by the test files: small planted splits of each kind a model consumes.

Session-scoped and read-only: a test that changes a split must copy it first.

Suite-wide pytest options.

The real-browser test (tests/browser/, marker ``browser``) starts JupyterLab and Chromium and
runs whole chapters; it is deselected unless ``--browser`` is given, so a plain ``pytest``
never starts it. ``make browser-test`` runs it (``pytest --browser tests/browser``) and
``make test`` runs the unit/notebook suite first and the browser test after it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from recsys_book.data import (
    add_recent_context,
    leave_one_out,
    planted_implicit,
    planted_playlists,
    planted_sequences,
    playlist_holdout,
    random_split,
)


@pytest.fixture(scope="session")
def implicit_split():
    """60 users x 40 items in 4 planted clusters; leave-one-out, 20 sampled negatives."""
    inter, _ = planted_implicit(n_users=60, n_items=40, n_clusters=4, per_user=(8, 16), seed=0)
    return leave_one_out(inter, n_negatives=20, seed=0)


@pytest.fixture(scope="session")
def implicit_random_split():
    """300 users x 200 items, planted clusters; random per-user 60/20/20 (CoRML, EASE, GF-CF)."""
    inter, _ = planted_implicit(n_users=300, n_items=200, seed=0)
    return random_split(inter, seed=0)


@pytest.fixture(scope="session")
def small_implicit():
    """60 users x 40 items, 5-15 items each: Interactions for exact identities (no split)."""
    inter, _ = planted_implicit(n_users=60, n_items=40, per_user=(5, 15), seed=1)
    return inter


@pytest.fixture(scope="session")
def sequence_split():
    """Planted Markov sequences; leave-one-out with the 3 most recent items as context."""
    inter, _ = planted_sequences(n_users=60, n_items=40, n_clusters=4, length=(10, 20), seed=0)
    return add_recent_context(leave_one_out(inter, n_negatives=20, seed=0), 3)


@pytest.fixture(scope="session")
def long_short_split():
    """Planted Markov sequences with short (3) and long-term (8) contexts (chapter 07)."""
    from recsys_book.data.splits import add_long_short_context

    inter, _ = planted_sequences(n_users=60, n_items=40, n_clusters=4, length=(10, 20), seed=0)
    return add_long_short_context(leave_one_out(inter, n_negatives=20, seed=0), s=3, l=8)


@pytest.fixture(scope="session")
def playlist_split():
    """Planted playlists; one held-out track per playlist, member songs as context."""
    inter, _ = planted_playlists(n_users=30, n_songs=60, n_themes=4, seed=0)
    return playlist_holdout(inter, n_negatives=20, seed=0)


@pytest.fixture()
def cpu_threads_1():
    """Run a test single-threaded (small tensors: threads only add noise), then restore."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--browser",
        action="store_true",
        default=False,
        help="run the real-browser test (JupyterLab + headless Chromium): make browser-test",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--browser"):
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("browser") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def load_solutions():
    """``load_solutions("ch04")``: the module notebooks/solutions/ch04.py (not a package)."""
    import importlib.util

    folder = Path(__file__).resolve().parents[1] / "notebooks" / "solutions"

    def load(chapter: str):
        spec = importlib.util.spec_from_file_location(
            f"{chapter}_solutions", folder / f"{chapter}.py"
        )
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod

    return load


@pytest.fixture(scope="session")
def over_seeds():
    """``over_seeds(run, seeds=(0, 1, 2))``: ``run(seed) -> {name: metric}`` for each training
    seed, and the mean of each metric. A learning claim whose gap is within the spread of
    one seed is judged on the mean of several (a thread count or a device is another seed)."""
    from recsys_book.utils import seed_everything

    def mean(run, seeds=(0, 1, 2)) -> dict[str, float]:
        rows = []
        for s in seeds:
            seed_everything(s)  # the models' initial weights too
            rows.append(run(s))
        return {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}

    return mean
