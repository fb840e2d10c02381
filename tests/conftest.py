"""Suite-wide pytest options.

The real-browser test (tests/browser/, marker ``browser``) starts JupyterLab and Chromium and
runs whole chapters; it is deselected unless ``--browser`` is given, so a plain ``pytest``
never starts it. ``make browser-test`` runs it (``pytest --browser tests/browser``) and
``make test`` runs the unit/notebook suite first and the browser test after it.
"""

from __future__ import annotations

import pytest


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
