"""Datasets, loaders and preprocessing: ML-100k counts, fetching, bad input."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys_book.data import (
    DataError,
    binarize,
    fetch_ml100k,
    from_dataframe,
    k_core,
    leave_one_out,
    load,
    load_atomic,
    load_csv,
    load_ml100k,
    load_movielens,
    split_likes,
)
from recsys_book.data.datasets import GENRES, ML100K_FILES, ML100K_WHEEL_DIR, sha256
from recsys_book.utils import data_dir

ML = data_dir() / "ml-100k"
needs_ml100k = pytest.mark.skipif(
    not (ML / "ml-100k.inter").exists(),
    reason="MovieLens-100k not fetched: run `make data` (`make test` fetches it first)",
)


@pytest.fixture(scope="module")
def ml():
    return load_ml100k()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---- MovieLens-100k -------------------------------------------------------------------


@needs_ml100k
def test_ml100k_counts_and_metadata(ml):
    assert (ml.n_users, ml.n_items, len(ml)) == (943, 1682, 100_000)
    assert ml.df["user"].nunique() == 943 and ml.df["item"].nunique() == 1682
    assert set(ml.df["rating"].unique()) == {1, 2, 3, 4, 5}
    assert ml.has_timestamps
    info = ml.item_info
    assert list(info.columns[:3]) == ["title", "year", "genres"] and len(info) == 1682
    # contiguous id -> original id -> title: GroupLens movie 1 is Toy Story (1995), Animation
    toy = int(np.flatnonzero(ml.item_ids.astype(str) == "1")[0])
    assert ml.titles([toy]) == ["Toy Story"]
    assert info["year"].iloc[toy] == 1995
    assert "Animation" in info["genres"].iloc[toy]
    assert all(g in GENRES for gs in info["genres"] for g in gs)
    # every user of ML-100k rated at least 20 movies
    assert ml.user_degree().min() >= 20


@needs_ml100k
def test_ml100k_ids_keep_original(ml):
    # row 0 of the raw file: user 196 rated item 242 with 3 at 881250949
    df = ml.df
    hit = df[
        (ml.user_ids[df["user"]].astype(str) == "196")
        & (ml.item_ids[df["item"]].astype(str) == "242")
    ]
    assert len(hit) == 1 and hit["rating"].iloc[0] == 3 and hit["timestamp"].iloc[0] == 881250949


def _fake_uitem(item_file: Path) -> bytes:
    """Invert RecBole's ml-100k.item into GroupLens' u.item layout (latin-1, | separated)."""
    lines = []
    for line in item_file.read_text("utf-8").splitlines()[1:]:
        iid, title, year, genres = line.split("\t")
        full = "unknown" if title == "unkonwn" else f"{title} ({year})"
        flags = ["1" if g in genres.split() else "0" for g in GENRES]
        lines.append("|".join([iid, full, "01-Jan-1995", "", "http://example"] + flags))
    return ("\n".join(lines) + "\n").encode("latin-1")


@needs_ml100k
def test_fetch_from_grouplens_folder_and_zip(tmp_path):
    inter = (ML / "ml-100k.inter").read_bytes()
    src = tmp_path / "ml-100k"
    src.mkdir()
    (src / "u.data").write_bytes(inter.split(b"\n", 1)[1])
    (src / "u.item").write_bytes(_fake_uitem(ML / "ml-100k.item"))
    dest = fetch_ml100k(source=src, dest=tmp_path / "out")
    for name, digest in ML100K_FILES.items():
        assert sha256((dest / name).read_bytes()) == digest
    assert _leftovers(dest) == sorted(ML100K_FILES)
    # the same from a GroupLens-style zip
    zpath = tmp_path / "ml-100k.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.write(src / "u.data", "ml-100k/u.data")
        z.write(src / "u.item", "ml-100k/u.item")
    dest2 = fetch_ml100k(source=zpath, dest=tmp_path / "out2")
    assert all(sha256((dest2 / n).read_bytes()) == d for n, d in ML100K_FILES.items())
    got = load_ml100k(dest2)
    assert (got.n_users, got.n_items, len(got)) == (943, 1682, 100_000)


@needs_ml100k
def test_fetch_from_wheel(tmp_path):
    wheel = tmp_path / "recbole-1.2.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for name in ML100K_FILES:
            z.write(ML / name, ML100K_WHEEL_DIR + name)
        z.writestr("recbole/__init__.py", "")
    dest = fetch_ml100k(source=wheel, dest=tmp_path / "out")
    assert all(sha256((dest / n).read_bytes()) == d for n, d in ML100K_FILES.items())
    # already there and verified: nothing to do, even with a source that does not exist
    assert fetch_ml100k(source=tmp_path / "nope", dest=dest) == dest


@needs_ml100k
def test_checksum_mismatch_leaves_nothing(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    data = (ML / "ml-100k.inter").read_bytes().split(b"\n", 1)[1]
    (src / "u.data").write_bytes(data.replace(b"881250949", b"881250948", 1))  # one timestamp off
    dest = tmp_path / "out"
    with pytest.raises(DataError, match="checksum mismatch for ml-100k.inter"):
        fetch_ml100k(source=src, dest=dest)
    assert _leftovers(dest) == []
    # a tampered wheel: same
    wheel = tmp_path / "recbole.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(ML100K_WHEEL_DIR + "ml-100k.inter", (ML / "ml-100k.inter").read_bytes()[:-10])
        z.writestr(ML100K_WHEEL_DIR + "ml-100k.item", (ML / "ml-100k.item").read_bytes())
    with pytest.raises(DataError, match="checksum mismatch"):
        fetch_ml100k(source=wheel, dest=dest)
    assert _leftovers(dest) == []


def test_fetch_bad_sources(tmp_path):
    dest = tmp_path / "out"
    with pytest.raises(DataError, match="does not exist"):
        fetch_ml100k(source=tmp_path / "missing.zip", dest=dest)
    bad_zip = tmp_path / "ml-100k.zip"
    bad_zip.write_bytes(b"this is not a zip")
    with pytest.raises(DataError, match="not a readable zip"):
        fetch_ml100k(source=bad_zip, dest=dest)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="u.data"):
        fetch_ml100k(source=empty, dest=dest)
    bad_wheel = tmp_path / "x.whl"
    with zipfile.ZipFile(bad_wheel, "w") as z:
        z.writestr("other/file.txt", "x")
    with pytest.raises(DataError, match="not a recbole 1.2.1 wheel"):
        fetch_ml100k(source=bad_wheel, dest=dest)
    assert _leftovers(dest) == []


def test_load_ml100k_missing_or_corrupt(tmp_path):
    with pytest.raises(DataError, match="data fetch ml-100k"):
        load_ml100k(tmp_path)
    (tmp_path / "ml-100k.inter").write_text("user_id:token\titem_id:token\n1\t2\n")
    with pytest.raises(DataError, match="checksum mismatch"):
        load_ml100k(tmp_path)


# ---- loaders for files users bring ----------------------------------------------------


def test_load_atomic(tmp_path):
    (tmp_path / "toy.inter").write_text(
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
        "a\tx\t5\t10\nb\tx\t3\t11\na\ty\t4\t12\nc\tz\t1\t13\n"
    )
    (tmp_path / "toy.item").write_text("item_id:token\tname:token_seq\nx\tExx\ny\tWhy\nz\tZed\n")
    inter = load_atomic(tmp_path / "toy.inter", tmp_path / "toy.item")
    assert (inter.n_users, inter.n_items, len(inter)) == (3, 3, 4)
    assert list(inter.user_ids) == ["a", "b", "c"] and list(inter.item_ids) == ["x", "y", "z"]
    assert inter.item_info["name"].tolist() == ["Exx", "Why", "Zed"]
    assert inter.df["rating"].dtype == np.float32
    # load() dispatches on the suffix and picks up the .item beside it
    assert len(load(str(tmp_path / "toy.inter"))) == 4
    (tmp_path / "bad.inter").write_text("user\titem\n1\t2\n")
    with pytest.raises(DataError, match="RecBole atomic file"):
        load_atomic(tmp_path / "bad.inter")
    (tmp_path / "noitem.inter").write_text("user_id:token\tthing:token\n1\t2\n")
    with pytest.raises(DataError, match="no 'item_id' column"):
        load_atomic(tmp_path / "noitem.inter")
    with pytest.raises(DataError, match="does not exist"):
        load_atomic(tmp_path / "absent.inter")


def test_load_atomic_sessions(tmp_path):
    (tmp_path / "b.inter").write_text(
        "user_id:token\titem_id:token\tbasket_id:token\ttimestamp:float\n"
        "u\t1\tb1\t1\nu\t2\tb1\t1\nu\t1\tb2\t2\n"
    )
    inter = load_atomic(tmp_path / "b.inter")
    assert "session" in inter.df and inter.df["session"].nunique() == 2 and len(inter) == 3


def test_load_movielens_dat_and_csv(tmp_path):
    d = tmp_path / "ml-1m"
    d.mkdir()
    (d / "ratings.dat").write_text(
        "1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n"
    )
    inter = load_movielens(d / "ratings.dat")
    assert (inter.n_users, inter.n_items, len(inter)) == (2, 2, 3)
    assert inter.name == "ml-1m" and inter.df["rating"].sum() == 12
    c = tmp_path / "ml-20m"
    c.mkdir()
    (c / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n1,2,3.5,1112486027\n1,29,3.5,1112484676\n"
    )
    inter = load(str(c / "ratings.csv"))
    assert (inter.n_users, inter.n_items) == (1, 2) and inter.df["rating"].tolist() == [3.5, 3.5]
    # sorted by time within the user
    assert inter.df["timestamp"].is_monotonic_increasing
    with pytest.raises(DataError, match="does not exist"):
        load_movielens(tmp_path / "ratings.dat")


def test_load_csv_and_dataframe(tmp_path):
    p = tmp_path / "mine.csv"
    p.write_text("who;what;when\nann;book;3\nbob;book;1\nann;pen;2\n")
    inter = load_csv(p, user="who", item="what", timestamp="when", sep=";")
    assert (inter.n_users, inter.n_items, len(inter)) == (2, 2, 3)
    # ann's items in time order: pen (t=2) then book (t=3)
    ann = int(np.flatnonzero(inter.user_ids == "ann")[0])
    seq = inter.df[inter.df["user"] == ann]["item"].tolist()
    assert list(inter.item_ids[seq]) == ["pen", "book"]
    with pytest.raises(DataError, match="missing column"):
        load_csv(p, user="user", item="what", sep=";")
    df = pd.DataFrame({"u": [10, 20, 10], "i": [(1, 2), (3, 4), (3, 4)], "s": [1, 1, 2]})
    inter = from_dataframe(df, user="u", item="i", session="s")  # tuples are hashable ids
    assert inter.n_items == 2 and "session" in inter.df and inter.item_ids[0] == (1, 2)


# ---- bad input --------------------------------------------------------------------------


def test_bad_frames():
    with pytest.raises(DataError, match=r"missing column\(s\) \['rating'\]"):
        from_dataframe(pd.DataFrame({"user": [1], "item": [2]}), rating="rating")
    with pytest.raises(DataError, match="must be numeric but holds 'five'"):
        from_dataframe(pd.DataFrame({"user": [1, 2], "item": [2, 2], "r": [4, "five"]}), rating="r")
    with pytest.raises(DataError, match="must be numeric"):
        from_dataframe(pd.DataFrame({"user": [1], "item": [2], "t": ["yesterday"]}), timestamp="t")
    with pytest.raises(DataError, match="1 duplicate"):
        from_dataframe(pd.DataFrame({"user": [1, 1, 2], "item": [2, 2, 2]}))
    with pytest.raises(DataError, match="cannot be used as ids"):
        from_dataframe(pd.DataFrame({"user": [[1], [2]], "item": [1, 2]}))
    with pytest.raises(DataError, match="cannot be used as ids"):
        from_dataframe(pd.DataFrame({"user": [1, 2], "item": [{"a": 1}, {"b": 2}]}))
    with pytest.raises(DataError, match="missing ids"):
        from_dataframe(pd.DataFrame({"user": [1, None], "item": [1, 2]}))
    with pytest.raises(DataError, match="empty"):
        from_dataframe(pd.DataFrame({"user": [], "item": []}))
    with pytest.raises(DataError, match="DataFrame"):
        from_dataframe([(1, 2)])


def test_unhashable_beyond_first_rows():
    users = list(range(1500)) + [[1, 2]]
    with pytest.raises(DataError, match="cannot be used as ids"):
        from_dataframe(pd.DataFrame({"user": users, "item": 0}), duplicates="keep")


def test_duplicates_policies():
    df = pd.DataFrame({"user": [1, 1, 2], "item": [5, 5, 5], "t": [20, 10, 5]})
    first = from_dataframe(df, timestamp="t", duplicates="first")
    assert len(first) == 2 and sorted(first.df["timestamp"]) == [5, 10]  # the earliest kept
    assert len(from_dataframe(df, timestamp="t", duplicates="keep")) == 3
    with pytest.raises(DataError, match="duplicates must be"):
        from_dataframe(df, duplicates="drop")


def test_bad_csv(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text('user,item\n1,"unterminated\n')
    with pytest.raises(DataError):
        load_csv(p)
    with pytest.raises(DataError, match="unknown dataset"):
        load("ml-1b")


# ---- preprocessing ----------------------------------------------------------------------


def _random_frame(seed=0, n=3000):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "user": rng.zipf(1.5, n) % 400,
            "item": [f"i{v}" for v in rng.zipf(1.3, n) % 300],
            "rating": rng.integers(1, 6, n),
            "timestamp": rng.integers(0, 10**6, n),
        }
    )
    return from_dataframe(df, rating="rating", timestamp="timestamp", duplicates="first")


@pytest.mark.parametrize("k", [2, 5])
def test_k_core_property(k):
    inter = _random_frame()
    core = k_core(inter, k)
    assert core.user_degree().min() >= k and core.item_degree().min() >= k
    assert core.df["user"].max() == core.n_users - 1 and core.df["item"].max() == core.n_items - 1
    assert core.n_users < inter.n_users
    # original ids kept: each (user, item, rating) row of the core is a row of the input
    orig = set(zip(inter.user_ids[inter.users], inter.item_ids[inter.items], inter.df["rating"]))
    got = set(zip(core.user_ids[core.users], core.item_ids[core.items], core.df["rating"]))
    assert got <= orig
    # maximal: every user/item of the input with enough partners inside the core is kept
    kept_u = set(core.user_ids)
    pairs = pd.DataFrame({"u": inter.user_ids[inter.users], "i": inter.item_ids[inter.items]})
    inside = pairs[pairs["i"].isin(set(core.item_ids))].drop_duplicates()
    deg = inside.groupby("u").size()
    assert set(deg[deg >= k].index) == kept_u


def test_k_core_left_empty():
    inter = from_dataframe(pd.DataFrame({"user": [1, 2, 3], "item": [1, 2, 3]}))
    with pytest.raises(DataError, match="left .* empty.*Lower k_user"):
        k_core(inter, 2)


def test_binarize_and_split_likes():
    inter = _random_frame(1)
    liked = binarize(inter, threshold=4)
    assert "rating" not in liked.df
    assert len(liked) == int((inter.df["rating"] >= 4).sum())
    assert len(binarize(inter)) == len(inter)
    like, dislike = split_likes(inter)
    assert (like.df["rating"] >= 4).all() and (dislike.df["rating"] <= 2).all()
    assert len(like) + len(dislike) == int((inter.df["rating"] != 3).sum())
    assert like.n_items == dislike.n_items == inter.n_items  # same id space
    implicit = binarize(inter)
    with pytest.raises(DataError, match="no ratings to threshold"):
        binarize(implicit, threshold=4)
    with pytest.raises(DataError, match="no rating column"):
        split_likes(implicit)
    with pytest.raises(DataError, match="must be below"):
        split_likes(inter, like=3, dislike=3)


def test_users_too_short_for_leave_one_out():
    df = pd.DataFrame({"user": [1, 1, 1, 2, 2, 3], "item": [1, 2, 3, 1, 2, 3], "t": range(6)})
    inter = from_dataframe(df, timestamp="t")
    with pytest.raises(
        DataError, match=r"2 users have fewer than 3 interactions.*k_core\(inter, 3\)"
    ):
        leave_one_out(inter, n_negatives=None)
    split = leave_one_out(inter, n_negatives=None, drop_short=True)
    assert len(split.test) == 1 and len(split.train) == 1


@needs_ml100k
def test_ml100k_info(ml):
    info = ml.info()
    assert info["users"] == 943 and info["interactions"] == 100_000
    assert info["from"] == "1997-09-20" and info["to"] == "1998-04-22"
    assert abs(info["density"] - 100_000 / (943 * 1682)) < 1e-5


@needs_ml100k
def test_grouplens_item_mismatch_keeps_verified_ratings(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "u.data").write_bytes((ML / "ml-100k.inter").read_bytes().split(b"\n", 1)[1])
    (src / "u.item").write_bytes(
        _fake_uitem(ML / "ml-100k.item").replace(b"Toy Story", b"Toy Storey")
    )
    with pytest.warns(UserWarning, match="no titles"):
        dest = fetch_ml100k(source=src, dest=tmp_path / "out")
    assert _leftovers(dest) == ["ml-100k.inter"]
    got = load_ml100k(dest)
    assert len(got) == 100_000 and got.item_info is None


# ---- no silent drops: conventional columns, cut-short files, ids as written ----------------


def test_load_csv_uses_conventional_columns_by_default(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("user,item,rating,timestamp\na,x,5,30\nb,x,3,10\na,y,4,20\n")
    inter = load_csv(p)
    assert inter.has_ratings and inter.has_timestamps
    assert sorted(inter.df["rating"].tolist()) == [3, 4, 5]
    assert inter.meta["columns"] == {
        "user": "user",
        "item": "item",
        "rating": "rating",
        "timestamp": "timestamp",
    }
    assert inter.meta["ignored_columns"] == []
    # a's items in time order: y (t=20) then x (t=30): the timestamp was used
    a = int(np.flatnonzero(inter.user_ids == "a")[0])
    assert list(inter.item_ids[inter.df[inter.df["user"] == a]["item"]]) == ["y", "x"]
    # other conventional spellings; unknown columns are reported as ignored, not dropped silently
    q = tmp_path / "q.csv"
    q.write_text("userId,item_id,Rating,time,comment\n1,10,2.5,7,meh\n2,10,4,8,ok\n")
    inter = load_csv(q)
    assert inter.meta["columns"] == {
        "user": "userId",
        "item": "item_id",
        "rating": "Rating",
        "timestamp": "time",
    }
    assert inter.meta["ignored_columns"] == ["comment"]
    assert inter.info()["columns"] == "user=userId, item=item_id, rating=Rating, timestamp=time"
    assert inter.info()["ignored"] == "comment"
    # None leaves a conventional column out on purpose
    plain = load_csv(p, rating=None, timestamp=None)
    assert not plain.has_ratings and not plain.has_timestamps
    assert plain.meta["ignored_columns"] == ["rating", "timestamp"]
    # the session column of a basket file is picked up too (repeats across baskets are fine)
    b = tmp_path / "b.csv"
    b.write_text("user,item,basket_id\nu,1,b1\nu,1,b2\n")
    assert load_csv(b).df["session"].nunique() == 2


def test_load_csv_conventional_column_must_be_numeric(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("user,item,rating,timestamp\n1,2,4,10\n1,3,five,11\n")
    with pytest.raises(DataError, match=r"column 'rating' must be numeric but holds 'five'.*None"):
        load_csv(p)
    assert len(load_csv(p, rating=None)) == 2  # an explicit choice to leave it out
    with pytest.raises(DataError, match="more than one user column"):
        load_csv(_write(tmp_path / "two.csv", "user,user_id,item\n1,1,2\n"))
    with pytest.raises(DataError, match="no item column.*item="):
        load_csv(_write(tmp_path / "noitem.csv", "user,thing\n1,2\n"))
    # an explicit name still wins, and that column is not taken for another role
    inter = load_csv(_write(tmp_path / "ex.csv", "user,item,time\n1,2,3\n"), item="time")
    assert inter.meta["columns"] == {"user": "user", "item": "time"}
    assert inter.meta["ignored_columns"] == ["item"]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


_CUT = {  # (file name, text whose last line was cut mid-timestamp and has no newline)
    "atomic": (
        "cut.inter",
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
        "1\t10\t4\t881250949\n2\t10\t3\t881251949\n3\t11\t5\t88125",
    ),
    "csv": ("cut.csv", "user,item,rating,timestamp\n1,10,4,881250949\n2,10,3,881251949\n3,11,5,88"),
    "dat": ("ratings.dat", "1::10::4::881250949\n2::10::3::881251949\n3::11::5::8812"),
}


@pytest.mark.parametrize("kind", sorted(_CUT))
def test_cut_short_last_line_is_an_error_naming_the_line(tmp_path, kind):
    name, text = _CUT[kind]
    path = _write(tmp_path / name, text)
    line = text.splitlines()[-1]
    with pytest.raises(DataError) as exc:
        load(str(path))
    msg = str(exc.value)
    assert f"line {len(text.splitlines())}" in msg and repr(line) in msg and "newline" in msg
    assert "cut short" in msg and "delete that line" in msg
    # the same last row with its newline, or a last row that is no outlier: loaded, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load(str(_write(path, text + "\n")))) == 3
        fine = text.rsplit("\n", 1)[0]
        load(str(_write(path, fine)))
        # the earliest timestamp last, written in full, is no outlier
        early = fine.replace("881251949", "881240000")
        assert early != fine and len(load(str(_write(path, early)))) == 2


def test_cut_short_last_line_missing_fields_is_an_error(tmp_path):
    p = _write(
        tmp_path / "cut.inter",
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t10\t4\t881250949\n3\t1",
    )
    with pytest.raises(DataError, match=r"line 3 .*'3\\t1'.*cut short"):
        load_atomic(p)


def test_messages_show_ids_as_written():
    with pytest.raises(DataError) as exc:
        from_dataframe(pd.DataFrame({"user": [1, 1, 2], "item": [7, 7, 7]}))
    assert "user 1, item 7" in str(exc.value) and "np." not in str(exc.value)
    with pytest.raises(DataError) as exc:
        from_dataframe(pd.DataFrame({"user": ["a", "a"], "item": [7.5, 7.5]}))
    assert "user 'a', item 7.5" in str(exc.value)
    df = pd.DataFrame({"user": [5, 5, 5, 6], "item": [1, 2, 3, 1], "t": range(4)})
    with pytest.raises(DataError) as exc:
        leave_one_out(from_dataframe(df, timestamp="t"), n_negatives=None)
    assert "user 6 with 1" in str(exc.value) and "np." not in str(exc.value)
    with pytest.raises(DataError, match=r"column 'r' has 1 empty value"):
        from_dataframe(pd.DataFrame({"user": [1, 2], "item": [2, 2], "r": [4.0, None]}), rating="r")
