"""Real datasets: MovieLens-100k (fetched from PyPI), and loaders for files users bring.

MovieLens-100k ships inside the ``recbole==1.2.1`` wheel on PyPI (RecBole's atomic files
``ml-100k.inter`` and ``ml-100k.item``). :func:`fetch_ml100k` downloads that wheel with
``pip download --no-deps`` (2 MB, none of RecBole's dependencies), checks each file's
SHA-256 and writes it atomically to ``data/ml-100k/``. A GroupLens ``ml-100k.zip`` or
``u.data`` you already have works too (``fetch_ml100k(source=path)``).

Files users bring (RecBole atomic files, MovieLens ``ratings.dat``/``.csv``, any CSV) go
through two shared checks: columns with conventional names are used, never dropped
silently (:func:`load_csv`), and a file cut mid-line is reported (:func:`_check_last_line`).
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

import pandas as pd

from recsys_book.data.interactions import (
    DataError,
    Interactions,
    as_written,
    from_dataframe,
)
from recsys_book.utils import atomic_path, data_dir

ML100K_FILES = {
    "ml-100k.inter": "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff",
    "ml-100k.item": "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532",
}
ML100K_WHEEL = "recbole==1.2.1"
ML100K_WHEEL_DIR = "recbole/dataset_example/ml-100k/"
_INTER_HEADER = b"user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
GENRES = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _verify(name: str, data: bytes) -> None:
    got = sha256(data)
    want = ML100K_FILES[name]
    if got != want:
        raise DataError(
            f"checksum mismatch for {name}: SHA-256 {got[:16]}... but expected {want[:16]}.... "
            "The file is corrupt or not the MovieLens-100k release; delete it and fetch again "
            "with `python -m recsys_book data fetch ml-100k`."
        )


def _write_verified(dest: Path, files: dict[str, bytes], optional: tuple[str, ...] = ()) -> Path:
    """Verify every file first, then write each atomically (all or nothing).

    A file named in ``optional`` (item metadata converted from GroupLens' ``u.item``) that
    fails verification is skipped with a warning instead of failing the fetch: the ratings,
    verified exactly, are what the course needs; titles are a nicety.
    """
    files = dict(files)
    for name in list(files):
        try:
            _verify(name, files[name])
        except DataError as exc:
            if name not in optional:
                raise
            warnings.warn(f"{exc} Skipping {name}: items will have no titles/genres.", stacklevel=3)
            del files[name]
    dest.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        with atomic_path(dest / name) as tmp:
            tmp.write_bytes(data)
    return dest


def _from_wheel(wheel: Path) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(wheel) as z:
            return {n: z.read(ML100K_WHEEL_DIR + n) for n in ML100K_FILES}
    except (zipfile.BadZipFile, KeyError) as exc:
        raise DataError(f"{wheel} is not a recbole 1.2.1 wheel holding ml-100k ({exc}).") from exc


def _from_grouplens(udata: bytes, uitem: bytes | None) -> dict[str, bytes]:
    """GroupLens ``u.data`` (+ ``u.item``) -> the same bytes as RecBole's atomic files.

    RecBole's ``ml-100k.inter`` is exactly ``u.data`` under a header line, so the SHA-256
    check applies to a GroupLens copy as well. ``u.item`` is converted to the ``.item``
    layout (title without the year, release year, genres).
    """
    files = {"ml-100k.inter": _INTER_HEADER + udata}
    if uitem is not None:
        files["ml-100k.item"] = _convert_uitem(uitem)
    return files


def _convert_uitem(uitem: bytes) -> bytes:
    """GroupLens ``u.item`` (latin-1, ``|``-separated, 19 genre flags) -> RecBole's ``.item``.

    RecBole took the year from the title's last parenthesised group, e.g.
    ``Land Before Time III ... (1995) (V)`` -> title ``... (1995)``, year ``V``, and wrote
    ``unkonwn`` (sic) as title and year of the one movie without either (id 267).
    """
    rows = [b"item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"]
    for line in uitem.decode("latin-1").splitlines():
        f = line.split("|")
        if len(f) < 24:
            continue
        m = re.fullmatch(r"(.*) \((.*)\)", f[1])
        title, year = (m.group(1), m.group(2)) if m else ("unkonwn", "unkonwn")
        genres = " ".join(g for g, flag in zip(GENRES, f[5:24]) if flag == "1")
        rows.append(f"{f[0]}\t{title}\t{year}\t{genres}\n".encode("utf-8"))
    return b"".join(rows)


def fetch_ml100k(
    source: str | Path | None = None, dest: str | Path | None = None, force: bool = False
) -> Path:
    """Fetch MovieLens-100k into ``data/ml-100k/`` (verified by SHA-256, written atomically).

    ``source``: None downloads the recbole 1.2.1 wheel from PyPI with pip; otherwise a path
    to that wheel, a GroupLens ``ml-100k.zip``, a folder with ``u.data`` (and ``u.item``),
    or a folder with RecBole's ``ml-100k.inter``/``.item``. Returns the folder.
    Nothing is done when the verified files are already there (unless ``force``).
    """
    dest = Path(dest) if dest is not None else data_dir() / "ml-100k"
    if not force and all((dest / n).exists() for n in ML100K_FILES):
        try:
            for n in ML100K_FILES:
                _verify(n, (dest / n).read_bytes())
            return dest
        except DataError:
            pass  # a corrupt cache is replaced below
    if source is None:
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--quiet",
                "-d",
                tmp,
                ML100K_WHEEL,
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            wheels = list(Path(tmp).glob("recbole-*.whl"))
            if proc.returncode != 0 or not wheels:
                raise DataError(
                    "could not download the recbole 1.2.1 wheel from PyPI (it carries MovieLens-100k):\n"
                    f"{proc.stderr.strip()[-800:]}\nCheck that pip can reach PyPI, or pass a file you "
                    "already have: `python -m recsys_book data fetch ml-100k --source PATH` "
                    "(the wheel, a GroupLens ml-100k.zip or a folder with u.data)."
                )
            return _write_verified(dest, _from_wheel(wheels[0]))
    src = Path(source).expanduser()
    if not src.exists():
        raise DataError(f"source {src} does not exist.")
    if src.is_file() and src.suffix == ".whl":
        return _write_verified(dest, _from_wheel(src))
    if src.is_file() and src.suffix == ".zip":
        try:
            with zipfile.ZipFile(src) as z:
                names = {Path(n).name: n for n in z.namelist()}
                if "u.data" not in names:
                    raise DataError(f"{src} has no u.data; is it GroupLens' ml-100k.zip?")
                udata = z.read(names["u.data"])
                uitem = z.read(names["u.item"]) if "u.item" in names else None
        except zipfile.BadZipFile as exc:
            raise DataError(
                f"{src} is not a readable zip file ({exc}); download it again."
            ) from exc
        return _write_verified(dest, _from_grouplens(udata, uitem), optional=("ml-100k.item",))
    folder = src if src.is_dir() else src.parent
    if (folder / "ml-100k.inter").exists():
        files = {n: (folder / n).read_bytes() for n in ML100K_FILES if (folder / n).exists()}
        return _write_verified(dest, files)
    if (folder / "u.data").exists():
        uitem = (folder / "u.item").read_bytes() if (folder / "u.item").exists() else None
        return _write_verified(
            dest,
            _from_grouplens((folder / "u.data").read_bytes(), uitem),
            optional=("ml-100k.item",),
        )
    raise DataError(
        f"{src} is neither the recbole wheel, a GroupLens ml-100k.zip, nor a folder with u.data "
        "or ml-100k.inter."
    )


def load_ml100k(path: str | Path | None = None, min_rating: float | None = None) -> Interactions:
    """MovieLens-100k: 943 users, 1,682 items, 100,000 ratings (1-5) with timestamps, and
    ``item_info`` with ``title``, ``year`` and ``genres`` (a list of genre names).

    ``min_rating``: keep only ratings >= this (e.g. 4 for "liked"); None keeps all.
    Raises a :class:`DataError` naming the fix when the data has not been fetched.
    """
    folder = Path(path) if path is not None else data_dir() / "ml-100k"
    if not (folder / "ml-100k.inter").exists():
        raise DataError(
            f"MovieLens-100k is not in {folder}. Fetch it once with "
            "`python -m recsys_book data fetch ml-100k` (or `make data`)."
        )
    for n in ML100K_FILES:
        if (folder / n).exists():
            _verify(n, (folder / n).read_bytes())
    inter = load_atomic(folder / "ml-100k.inter", folder / "ml-100k.item", name="ml-100k")
    if inter.item_info is not None:
        info = inter.item_info.rename(
            columns={"movie_title": "title", "release_year": "year", "class": "genres"}
        )
        info["genres"] = info["genres"].fillna("").map(lambda s: s.split() if s else [])
        info["year"] = pd.to_numeric(info["year"], errors="coerce").astype("Int64")
        inter.item_info = info
    if min_rating is not None:
        from recsys_book.data.interactions import binarize

        inter = binarize(inter, threshold=min_rating)
    return inter


# ---- loaders for files users bring ---------------------------------------------------


def _read_atomic(path: Path) -> pd.DataFrame:
    """Read a RecBole atomic file (tab-separated, header ``name:type``)."""
    if not path.exists():
        raise DataError(f"{path} does not exist.")
    try:
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=3)
    except Exception as exc:  # pandas raises several types
        raise DataError(f"could not read {path} as a RecBole atomic file ({exc}).") from exc
    if len(df.columns) < 2 or not all(":" in c for c in df.columns):
        raise DataError(
            f"{path} does not look like a RecBole atomic file: its header {list(df.columns)} "
            "should read like 'user_id:token<TAB>item_id:token<TAB>rating:float ...'."
        )
    df.columns = [c.split(":")[0] for c in df.columns]
    for col in ("user_id", "item_id"):  # numeric ids sort as numbers (item "2" before "10")
        if col in df:
            num = pd.to_numeric(df[col], errors="coerce")
            if len(df) and num.notna().all() and (num % 1 == 0).all():
                df[col] = num.astype("int64")
    return df


def load_atomic(
    inter_path, item_path=None, name: str | None = None, duplicates: str = "first"
) -> Interactions:
    """Load RecBole atomic files (``.inter`` and optionally ``.item``).

    Recognised ``.inter`` columns: ``user_id``, ``item_id``, optional ``rating``,
    ``timestamp`` and a session-like column (``session_id`` or ``basket_id``).
    """
    inter_path = Path(inter_path)
    df = _read_atomic(inter_path)
    for col in ("user_id", "item_id"):
        if col not in df:
            raise DataError(f"{inter_path} has no {col!r} column (columns: {list(df.columns)}).")
    session = next((c for c in ("session_id", "basket_id", "playlist_id") if c in df), None)
    columns = {
        "user": "user_id",
        "item": "item_id",
        "rating": "rating" if "rating" in df else None,
        "timestamp": "timestamp" if "timestamp" in df else None,
        "session": session,
    }
    _check_last_line(inter_path, df, columns)
    info = None
    if item_path is not None and Path(item_path).exists():
        info = _read_atomic(Path(item_path)).set_index("item_id")
    return from_dataframe(
        df, **columns, item_info=info, name=name or inter_path.stem, duplicates=duplicates
    )


def load_movielens(path, name: str | None = None) -> Interactions:
    """MovieLens 1M / 10M (``ratings.dat``, ``::``-separated) or 20M/25M (``ratings.csv``)."""
    path = Path(path)
    if not path.exists():
        raise DataError(
            f"{path} does not exist; pass the ratings.dat or ratings.csv of a MovieLens release."
        )
    try:
        if path.suffix == ".dat":
            df = pd.read_csv(
                path,
                sep="::",
                engine="python",
                header=None,
                names=["user", "item", "rating", "timestamp"],
            )
            columns = {"user": "user", "item": "item"}
        else:
            df = pd.read_csv(path)
            columns = {"user": "userId", "item": "movieId"}
    except (UnicodeDecodeError, pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise DataError(
            f"could not read {path} as a MovieLens ratings file ({type(exc).__name__}: {exc}); "
            "it is empty or not text: get the release again."
        ) from exc
    columns.update(rating="rating", timestamp="timestamp")
    _check_last_line(path, df, columns)
    return from_dataframe(df, **columns, name=name or path.parent.name)


AUTO = "auto"
CONVENTIONAL_COLUMNS = {  # role -> accepted names, compared lower-case without "_", "-", " "
    "user": ("user", "userid"),
    "item": ("item", "itemid", "movieid"),
    "rating": ("rating",),
    "timestamp": ("timestamp", "time"),
    "session": ("session", "sessionid", "basketid", "playlistid"),
}


def _norm(column: object) -> str:
    return "".join(ch for ch in str(column).lower() if ch not in "_- ")


def _resolve_columns(columns: list, chosen: dict[str, str | None], path: Path) -> dict:
    """Role -> source column: explicit names kept, ``None`` left out, ``AUTO`` looked up
    among :data:`CONVENTIONAL_COLUMNS` (a column named for one role is not taken for another).
    Ambiguity is an error, as is a missing user or item column."""
    taken = {v for v in chosen.values() if v not in (None, AUTO)}
    out = {}
    for role, arg in chosen.items():
        if arg != AUTO:
            out[role] = arg
            continue
        names = CONVENTIONAL_COLUMNS[role]
        hits = [c for c in columns if _norm(c) in names and c not in taken]
        if len(hits) > 1:
            raise DataError(
                f"{path} has more than one {role} column ({', '.join(map(str, hits))}); pick "
                f"one, e.g. load_csv(path, {role}={str(hits[0])!r})."
            )
        if not hits and role in ("user", "item"):
            sep = next((c for c in (";", "\t", "|") if len(columns) == 1 and c in str(columns[0])), None)
            hint = (
                f" The header is one column holding {sep!r}: the file is separated by {sep!r}, "
                f"not ','; read it with load_csv(path, sep={sep!r}) (data info: --sep {sep!r})."
                if sep
                else f" Name yours: load_csv(path, {role}='...')."
            )
            raise DataError(
                f"{path} has no {role} column: its header is {[str(c) for c in columns]}, and "
                f"a {role} column is recognised by the names {', '.join(names)} (any case, "
                f"with or without '_').{hint}"
            )
        out[role] = hits[0] if hits else None
        if hits:
            taken.add(hits[0])
    return out


def load_csv(
    path,
    user: str | None = AUTO,
    item: str | None = AUTO,
    rating: str | None = AUTO,
    timestamp: str | None = AUTO,
    session: str | None = AUTO,
    sep: str = ",",
    name: str | None = None,
    duplicates: str = "error",
) -> Interactions:
    """Any CSV (with a header) of user-item interactions.

    Each column argument is the name of a column, ``None`` to leave that role out, or
    ``"auto"`` (the default): the column with a conventional name is used when there is
    one. Names are compared lower-case without ``_``, ``-`` and spaces: user ``user`` /
    ``user_id`` / ``userId``; item ``item`` / ``item_id`` / ``movieId``; rating ``rating``;
    timestamp ``timestamp`` / ``time``; session ``session`` / ``session_id`` /
    ``basket_id`` / ``playlist_id``. So ``user,item,rating,timestamp`` loads all four,
    and a rating or timestamp that is not a number is a :class:`DataError` (pass
    ``rating=None`` to load the file without it). Two candidates for one role, or no user
    or item column, is an error too. The columns used and those left out are in
    ``meta["columns"]`` / ``meta["ignored_columns"]`` and shown by ``data info``.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist.")
    try:
        df = pd.read_csv(path, sep=sep)
    except Exception as exc:
        raise DataError(f"could not read {path} as CSV ({exc}).") from exc
    chosen = {"user": user, "item": item, "rating": rating, "timestamp": timestamp}
    columns = _resolve_columns(list(df.columns), {**chosen, "session": session}, path)
    if all(c in df.columns for c in columns.values() if c is not None):
        _check_last_line(path, df, columns)  # (a missing column: from_dataframe says so)
    return from_dataframe(df, **columns, name=name or path.stem, duplicates=duplicates)


# ---- the one check for files cut mid-line ---------------------------------------------


def _check_last_line(path: Path, df: pd.DataFrame, columns: dict[str, str | None]) -> None:
    """Report a text file that looks cut short (a download or export stopped mid-line).

    Every loader of text files calls this after parsing, before :func:`from_dataframe`.
    Only a file that does not end with a newline is suspect, and then only its last row:
    cutting a line shortens the field it stops in and drops those after it. So

    * a used column empty in that row (fields missing) is a :class:`DataError`;
    * a number in the row's last field with fewer digits than, and below, every other
      row's in that column (a timestamp ``881250949`` cut to ``88125``: a date in 1970) is a
      :class:`DataError` too: loading it would put a wrong row among the data (a date range
      from 1970 in ``data info``), and the fix, a new copy or a deleted line, is the user's.

    Both name the line number and its content. A cut that leaves a plausible value
    (a rating ``4.5`` cut to ``4``, an id ``242`` cut to ``24``) cannot be told apart and
    passes; files with checksums (MovieLens-100k) are verified exactly instead.
    """
    with path.open("rb") as f:
        f.seek(0, 2)
        if f.tell() == 0 or len(df) == 0:
            return
        f.seek(-1, 2)
        if f.read(1) == b"\n":
            return
    data = path.read_bytes()
    line_no = data.count(b"\n") + 1
    text = data.rsplit(b"\n", 1)[-1].decode("utf-8", errors="replace")
    where = f"line {line_no} of {path}, the last, has no newline at its end"
    row = df.iloc[-1]

    def blank(v) -> bool:
        return bool(pd.isna(v)) or str(v).strip() == ""

    used = {role: col for role, col in columns.items() if col is not None}
    empty = [col for col in used.values() if blank(row[col])]
    if empty:
        raise DataError(
            f"{where} and no value for {', '.join(map(str, empty))}: {text!r}. The file looks "
            "cut short; get it again (or delete that line)."
        )
    filled = [c for c in df.columns if not blank(row[c])]
    role = next((r for r, c in used.items() if filled and c == filled[-1]), None)
    if role is None or role == "session" or len(df) < 2:
        return
    values = pd.to_numeric(df[used[role]], errors="coerce")
    if values.isna().any():  # not a numeric column: nothing to compare
        return
    last, others = values.iloc[-1], values.iloc[:-1]

    def digits(v) -> int:
        return len(str(int(abs(v))))

    if last < others.min() and digits(last) < digits(others.abs().min()):
        low = others.min()
        raise DataError(
            f"{where} and its last field, the {role} {_number(last)}, is shorter than and "
            f"below every other row's (lowest {_number(low)}): {text!r} looks cut short. Get "
            "the file again, or delete that line (or end it with a newline if it is whole)."
        )


def _number(v) -> str:
    v = v.item() if hasattr(v, "item") else v
    return as_written(int(v) if float(v).is_integer() else float(v))


DATASETS = {"ml-100k": (fetch_ml100k, load_ml100k)}


def load(name: str, **kwargs) -> Interactions:
    """Load a dataset by name (``ml-100k``), or a path to a ``.inter`` / ``.csv`` / ``ratings.dat``."""
    if name in DATASETS:
        return DATASETS[name][1](**kwargs)
    p = Path(name)
    if p.suffix == ".inter":
        item = p.with_suffix(".item")
        return load_atomic(p, item if item.exists() else None, **kwargs)
    if p.name in ("ratings.dat", "ratings.csv"):
        return load_movielens(p, **kwargs)
    if p.suffix == ".csv":
        return load_csv(p, **kwargs)
    raise DataError(
        f"unknown dataset {name!r}: use one of {sorted(DATASETS)} or a path to a .inter, .csv "
        "or MovieLens ratings.dat/ratings.csv file."
    )
