"""Small helpers shared by every module: seeding, devices, FAST mode, atomic writes."""

from __future__ import annotations

import os
import random
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

#: True when the environment variable RECSYS_BOOK_FAST is set to 1 (CI, quick previews):
#: notebooks shrink data and epochs.
FAST: bool = os.environ.get("RECSYS_BOOK_FAST", "0") not in ("", "0", "false", "False")


#: ``RECSYS_BOOK_SEED_SHIFT=k`` adds k to every seed that :func:`seed_everything` and
#: :func:`torch_generator` receive (and so to every ``fit(seed=...)``): the chapters then run
#: on another random stream, as they do on another device or thread count.
#: ``python -m recsys_book.check chapters --shifts 0 1 2 3 4`` uses it to show that a
#: chapter's claims hold over 5 streams. Planted data keeps its own seeds (the data stays
#: the same; training draws differ). Unset (0) everywhere else.
SEED_SHIFT_ENV = "RECSYS_BOOK_SEED_SHIFT"


def seed_shift() -> int:
    """The stream shift of :data:`SEED_SHIFT_ENV` (0 when unset); a malformed value is an error."""
    raw = os.environ.get(SEED_SHIFT_ENV, "").strip()
    if not raw:
        return 0
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{SEED_SHIFT_ENV}={raw!r}: set it to an integer or unset it.") from None


def is_whole_number(value) -> bool:
    """An int (Python or numpy), not a bool: what a count or a size must be."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch (CPU and CUDA) and return a torch generator.

    The same seed gives the same numbers on the same machine, device and thread count
    (plus :data:`SEED_SHIFT_ENV`, when set).
    """
    if not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {seed!r}")
    seed = int(seed) + seed_shift()
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    torch.manual_seed(int(seed))
    gen = torch.Generator()
    gen.manual_seed(int(seed))
    return gen


def get_device(device: str | torch.device | None = "auto") -> torch.device:
    """Resolve ``"auto"`` (CUDA when present, else CPU) or pass a device through."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device={device!r} was requested but CUDA is not available on this machine; "
            "use device='auto' or device='cpu'."
        )
    return dev


def torch_generator(seed: int | None, device: torch.device | str = "cpu") -> torch.Generator:
    """A generator on ``device`` seeded with ``seed`` (random seed when None)."""
    gen = torch.Generator(device=device)
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(seed) + seed_shift())
    return gen


@contextmanager
def atomic_path(path: str | Path, mode: int = 0o644):
    """Yield a temporary path next to ``path``; rename it onto ``path`` only on success.

    Nothing half-written is ever left at ``path``: on an exception the temporary file is
    removed and ``path`` keeps its previous content (or stays absent).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temp file in the same folder, then rename)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def repo_root() -> Path | None:
    """The repository root when running from a checkout, else None."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").exists() else None


def data_dir() -> Path:
    """Where datasets are cached: $RECSYS_BOOK_DATA, else <repo>/data, else ~/.cache."""
    env = os.environ.get("RECSYS_BOOK_DATA")
    if env:
        return Path(env).expanduser()
    root = repo_root()
    if root is not None:
        return root / "data"
    return Path.home() / ".cache" / "recsys_book"


_TRUSTED = threading.local()


@contextmanager
def trusted_ids():
    """Within this block a model's entry points skip their id check (ids within the
    catalogue): ``fit`` and ``evaluate`` check the sizes once, up front, so that no step pays
    a reduction and a host synchronisation for it (see ``recsys_book.models.base``)."""
    before = getattr(_TRUSTED, "on", False)
    _TRUSTED.on = True
    try:
        yield
    finally:
        _TRUSTED.on = before


def ids_trusted() -> bool:
    return getattr(_TRUSTED, "on", False)
