"""Fixtures of the real-browser test: a headless JupyterLab and a headless Chromium.

Every process is started here and stopped by a finalizer, also when a test fails:
JupyterLab runs in its own process group (its kernels are its children) and is stopped by
that group's id; Playwright closes the Chromium it launched.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("RECSYS_BOOK_CHROMIUM", "/usr/bin/chromium"))
INSTALL_HINT = (
    f"the browser test needs Debian's chromium at {CHROMIUM}: run `make browser-setup` "
    "(as root it runs `apt-get update && apt-get install -y chromium`), or install it yourself "
    "with `sudo apt-get update && sudo apt-get install -y chromium`"
)
#: latencies measured by the tests, printed at the end of the run and written to
#: results/browser/latency.md
LATENCIES: list[dict] = []


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop_group(proc: subprocess.Popen, grace_s: float = 15.0) -> None:
    """SIGTERM the process group we created for ``proc``; SIGKILL it after ``grace_s``."""
    if proc.poll() is not None:
        return
    pgid = os.getpgid(proc.pid)
    os.killpg(pgid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(pgid, signal.SIGKILL)
        proc.wait(timeout=10)
    try:  # kernels left in the group after the server exited
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Lab:
    """A running JupyterLab: ``url(path)`` gives an address with the token."""

    def __init__(self, port: int, token: str, root: Path, log: Path):
        self.port, self.token, self.root, self.log = port, token, root, log

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}?token={self.token}"


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory):
    """JupyterLab on 127.0.0.1, a free port, a random token, FAST mode in its environment.

    It serves a *copy* of notebooks/, so nothing the browser does (autosave) can write
    outputs into the committed notebooks; its settings and workspaces are private to the run.
    """
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    settings = base / "user-settings" / "@jupyterlab"
    for plugin, value in {
        # the "Jupyter news" toast, as the Makefile turns it off for `make lab`
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
        "docmanager-extension/plugin": {"autosave": False},
    }.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value), encoding="utf-8")
    port, token = _free_port(), secrets.token_hex(24)
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={base / 'user-settings'}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
    ]  # fmt: skip
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    env = {
        **os.environ,
        "RECSYS_BOOK_FAST": "1",
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        # the kernels import this checkout's recsys_book, as the notebooks under nbval do
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    env.pop("RECSYS_BOOK_BOOK", None)
    log = base / "jupyterlab.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Lab(port, token, root, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(server.url("api/status"), timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab not ready after 90 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        # a request without the token is refused: the server is not open to anyone on the box
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5)
            pytest.fail("JupyterLab answered /api/status without its token")
        except urllib.error.HTTPError as e:
            assert e.code == 403, e.code
        yield server
    finally:
        _stop_group(proc)


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (no `playwright install`, no download)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser test needs the playwright package: pip install -e '.[test]'")
    if not CHROMIUM.exists():
        pytest.fail(INSTALL_HINT)
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def latencies() -> list[dict]:
    """The list the tests append their measured latencies to (printed in the summary)."""
    return LATENCIES


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not LATENCIES:
        return
    terminalreporter.section("browser: slider -> figure latency")
    for row in LATENCIES:
        terminalreporter.write_line(
            f"{row['chapter']:>4} {row['slider']:<14} {row['move']:<22} "
            f"figure changed after {row['latency_s']:6.2f} s (bound {row['bound_s']:.0f} s), "
            f"kernel idle after {row['settled_s']:6.2f} s"
            + (f"; {row['progress']}" if row.get("progress") else "")
        )
    for row in LATENCIES:
        for d in row.get("diffs") or []:
            terminalreporter.write_line(f"page != kernel in {row['notebook']}: {d}")
