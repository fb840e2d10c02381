"""Bad input that the library already refuses with a clear message: kept that way.

Each test pins one case of the bad-input issue that no other test file covered: NaN ids and
ratings in a loaded file, a semicolon CSV read with the default separator, random bytes,
a missing .csv path, more sampled negatives than the catalogue has, split fractions not
summing to 1, bad ``fit``/``evaluate`` arguments, ``device="cuda"`` without CUDA,
``recommend(k=0)``, empty files, and a fake GroupLens ``ml-100k.zip`` refused by its
SHA-256. The cases already covered elsewhere (k-core left empty, duplicates, missing
columns, non-numeric ratings, a MovieLens ``ratings.dat``, ...) are tested where they were.

The last section holds the cases this audit found wrong and that are now refused: a
MovieLens file of random bytes or an empty one, a semicolon file's fix (``sep=';'``),
``n_negatives`` of 0 or below, fractions outside [0, 1], fractional or infinite ``fit``
arguments, ``valid_metric`` at K = 0, and ``evaluate``'s ``batch_size``/``ks``/``metrics``.
"""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest
import torch

from recsys_book.__main__ import main
from recsys_book.data import (
    DataError,
    fetch_ml100k,
    from_dataframe,
    leave_one_out,
    load,
    load_csv,
    planted_implicit,
    random_split,
)
from recsys_book.evaluate import evaluate
from recsys_book.models.baselines import MFBPR
from recsys_book.train import fit


@pytest.fixture(scope="module")
def tiny():
    """20 users x 30 items of planted data (5-10 items each)."""
    inter, _ = planted_implicit(n_users=20, n_items=30, per_user=(5, 10), seed=0)
    return inter


@pytest.fixture(scope="module")
def tiny_split(tiny):
    return leave_one_out(tiny, n_negatives=10, seed=0)


# ---- 1. NaN ids and ratings ---------------------------------------------------------------


@pytest.mark.parametrize(
    "rows, message",
    [
        ("1,1,4\n,2,3\n3,3,5\n", r"column 'user' has 1 missing ids; drop those rows"),
        ("1,1,4\n2,,3\n3,3,5\n", r"column 'item' has 1 missing ids; drop those rows"),
        ("1,1,4\n2,2,\n3,3,5\n", r"column 'rating' has 1 empty value .*rating=None"),
        ("1,1,4\n2,2,NaN\n3,3,5\n", r"column 'rating' has 1 empty value .*rating=None"),
    ],
    ids=["user", "item", "rating", "NaN-rating"],
)
def test_nan_ids_and_ratings_in_a_csv_file(tmp_path, rows, message):
    path = tmp_path / "r.csv"
    path.write_text("user,item,rating\n" + rows)
    with pytest.raises(DataError, match=message):
        load_csv(path)


def test_nan_item_and_timestamp_in_a_dataframe():
    with pytest.raises(DataError, match=r"column 'item' has 1 missing ids"):
        from_dataframe(pd.DataFrame({"user": [1, 2], "item": [1.0, np.nan]}))
    df = pd.DataFrame({"user": [1, 2], "item": [1, 2], "t": [1.0, np.nan]})
    with pytest.raises(DataError, match=r"column 't' has 1 empty value .*timestamp=None"):
        from_dataframe(df, timestamp="t")


# ---- 2. a semicolon CSV read with the default separator -----------------------------------


def test_semicolon_csv_read_with_the_default_separator(tmp_path, capsys):
    path = tmp_path / "semi.csv"
    path.write_text("user;item;rating\n1;1;4\n2;2;3\n")
    header = r"has no user column: its header is \['user;item;rating'\]"
    with pytest.raises(DataError, match=header):
        load_csv(path)
    assert main(["data", "info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "its header is ['user;item;rating']" in err
    # the separator named: loaded
    assert len(load_csv(path, sep=";")) == 2
    assert main(["data", "info", str(path), "--sep", ";"]) == 0
    assert "interactions: 2" in capsys.readouterr().out


# ---- 3. random bytes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, message",
    [
        ("rand.csv", r"could not read .*rand\.csv as CSV"),
        ("rand.inter", r"could not read .*rand\.inter as a RecBole atomic file"),
    ],
)
def test_random_bytes_given_to_a_loader(tmp_path, name, message):
    path = tmp_path / name
    path.write_bytes(np.random.default_rng(0).bytes(2048))
    with pytest.raises(DataError, match=message):
        load(str(path))


# ---- 4. missing paths -----------------------------------------------------------------------


def test_missing_csv_path(tmp_path, capsys):
    path = tmp_path / "absent.csv"
    with pytest.raises(DataError, match=r"absent\.csv does not exist"):
        load_csv(path)
    with pytest.raises(DataError, match=r"absent\.csv does not exist"):
        load(str(path))
    assert main(["data", "info", str(path)]) == 2
    assert "does not exist" in capsys.readouterr().err


# ---- 6. more sampled negatives than the catalogue has ----------------------------------------


def test_leave_one_out_with_more_negatives_than_items():
    # 4 items; each user has 3 of them, so one item is left to sample per user
    df = pd.DataFrame({"user": [1, 1, 1, 2, 2, 2], "item": [1, 2, 3, 2, 3, 4], "t": range(6)})
    inter = from_dataframe(df, timestamp="t")
    with pytest.raises(
        DataError,
        match=r"cannot sample 5 negatives: .*only 1 items .*\(of 4\)\. .*n_negatives < 2",
    ):
        leave_one_out(inter, n_negatives=5)
    assert leave_one_out(inter, n_negatives=1).test.candidates.shape == (2, 2)


# ---- 7. split fractions not summing to 1 -----------------------------------------------------


@pytest.mark.parametrize("fractions", [(0.6, 0.2, 0.3), (0.8, 0.2)])
def test_random_split_fractions_must_sum_to_one(tiny, fractions):
    with pytest.raises(DataError, match=r"fractions must be three shares \(train, validation, test\) in \[0, 1\] summing to 1"):
        random_split(tiny, fractions=fractions)


# ---- 8. bad fit / evaluate arguments ---------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"epochs": -1}, r"epochs must be >= 1, got -1"),
        ({"batch_size": 0}, r"batch_size must be >= 1, got 0"),
        ({"lr": -1.0}, r"lr must be a positive finite number, got -1\.0"),
        ({"loss": "BPR"}, r"loss must be 'bpr', 'hinge' or a callable"),
        ({"valid_metric": "AUC@10"}, r"valid_metric: a metric name must look like 'NDCG@10'"),
    ],
    ids=["epochs", "batch_size", "lr", "loss", "valid_metric"],
)
def test_bad_fit_arguments(tiny_split, kwargs, message):
    model = MFBPR(tiny_split.n_users, tiny_split.n_items, 4)
    args = {"epochs": 1, "valid_metric": None, "progress": False, **kwargs}
    with pytest.raises(ValueError, match=message):
        fit(model, tiny_split, **args)


def test_a_misspelt_fit_setting_is_an_error_that_lists_the_settings(tiny_split):
    """fit's keywords are TrainingOptions' fields and the run's own: a typo is not swallowed."""
    from recsys_book.train import TrainingOptions

    model = MFBPR(tiny_split.n_users, tiny_split.n_items, 4)
    with pytest.raises(TypeError, match=r"unknown setting\(s\) \['epoch'\]\. Training settings: \['batch_size'"):
        fit(model, tiny_split, epoch=3, progress=False)
    with pytest.raises(TypeError, match="options must be a TrainingOptions, got dict"):
        fit(model, tiny_split, {"epochs": 1}, progress=False)
    with pytest.raises(ValueError, match="n_negatives must be >= 1, got 0"):
        TrainingOptions(n_negatives=0)


def test_evaluate_metric_with_a_cutoff_in_metrics(tiny_split):
    model = MFBPR(tiny_split.n_users, tiny_split.n_items, 4)
    with pytest.raises(ValueError, match=r"unknown metric\(s\) \['ndcg@10'\]; choose from"):
        evaluate(model, tiny_split.test, metrics=("NDCG@10",))


# ---- 9. device="cuda" without CUDA -----------------------------------------------------------


def test_cuda_requested_without_cuda(tiny_split):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    model = MFBPR(tiny_split.n_users, tiny_split.n_items, 4)
    message = r"device='cuda' was requested but CUDA is not available.*device='cpu'"
    with pytest.raises(RuntimeError, match=message):
        fit(model, tiny_split, epochs=1, device="cuda", progress=False)
    with pytest.raises(RuntimeError, match=message):
        evaluate(model, tiny_split.test, device="cuda")


# ---- 10. recommend(k=0) ----------------------------------------------------------------------


def test_recommend_k_zero():
    model = MFBPR(3, 5, 4)
    with pytest.raises(ValueError, match=r"k must be between 1 and the number of columns 5, got 0"):
        model.recommend(torch.tensor([0, 1]), k=0)


# ---- 12. empty files -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("empty.csv", "", r"could not read .*empty\.csv as CSV"),
        ("empty.inter", "", r"could not read .*empty\.inter as a RecBole atomic file"),
        ("header.csv", "user,item\n", r"the frame is empty: there are no interactions"),
        ("header.inter", "user_id:token\titem_id:token\n", r"the frame is empty"),
        ("ratings.dat", "", r"the frame is empty: there are no interactions"),
    ],
)
def test_empty_files(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        load(str(path))


# ---- 15. a GroupLens ml-100k.zip that is not the real one -----------------------------------


def _fake_grouplens_zip(tmp_path):
    path = tmp_path / "ml-100k.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("ml-100k/u.data", "1\t2\t3\t881250949\n2\t3\t4\t881250950\n")
    return path


def test_fake_grouplens_zip_is_refused_by_its_checksum(tmp_path, monkeypatch, capsys):
    source = _fake_grouplens_zip(tmp_path)
    dest = tmp_path / "out"
    with pytest.raises(
        DataError,
        match=r"checksum mismatch for ml-100k\.inter: SHA-256 .*not the MovieLens-100k release",
    ):
        fetch_ml100k(source=source, dest=dest)
    assert not dest.exists()  # nothing written
    # the command line, with its data folder in tmp_path (never the real cache)
    monkeypatch.setenv("RECSYS_BOOK_DATA", str(tmp_path / "data"))
    assert main(["data", "fetch", "ml-100k", "--source", str(source)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: checksum mismatch for ml-100k.inter")
    assert not (tmp_path / "data" / "ml-100k" / "ml-100k.inter").exists()


# ---- found by the audit, refused now ----------------------------------------------------------


@pytest.mark.parametrize("name, content", [("ratings.dat", None), ("ratings.csv", None), ("ratings.csv", b"")])
def test_movielens_file_of_random_bytes_or_empty(tmp_path, name, content):
    from recsys_book.data import load_movielens

    p = tmp_path / name
    p.write_bytes(np.random.default_rng(0).bytes(4000) if content is None else content)
    with pytest.raises(DataError, match=r"could not read .* as a MovieLens ratings file"):
        load_movielens(p)
    assert main(["data", "info", str(p)]) == 2


def test_semicolon_csv_error_names_the_separator(tmp_path):
    p = tmp_path / "semi.csv"
    p.write_text("user;item;rating\n1;1;4\n2;2;3\n")
    with pytest.raises(DataError, match=r"separated by ';'.*load_csv\(path, sep=';'\).*--sep ';'"):
        load_csv(p)


@pytest.mark.parametrize("n", [0, -1, 2.5])
def test_n_negatives_must_be_a_positive_whole_number(tiny, n):
    with pytest.raises(DataError, match=r"n_negatives must be a positive whole number.*None\) ranks all items"):
        leave_one_out(tiny, n_negatives=n)


@pytest.mark.parametrize("fractions", [(1.2, -0.1, -0.1), (0.0, 0.5, 0.5)])
def test_fractions_outside_zero_one_are_refused(tiny, fractions):
    with pytest.raises(DataError, match=r"fractions must be three shares"):
        random_split(tiny, fractions=fractions)


def test_temporal_holdout_shares_are_checked(tiny):
    from recsys_book.data.splits import temporal_holdout

    for kw in ({"test_frac": 1.5}, {"test_frac": -0.2}, {"valid_frac": 2.0}):
        with pytest.raises(DataError, match=r"fractions must be three shares"):
            temporal_holdout(tiny, **kw)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"epochs": 1.5}, TypeError, r"epochs must be a whole number, got 1\.5"),
        ({"batch_size": 2.5}, TypeError, r"batch_size must be a whole number, got 2\.5"),
        ({"epochs": "3"}, TypeError, r"epochs must be a whole number, got '3'"),
        ({"lr": "0.01"}, ValueError, r"lr must be a positive finite number, got '0\.01'"),
        ({"lr": float("inf")}, ValueError, r"lr must be a positive finite number, got inf"),
        ({"valid_metric": "NDCG@0"}, ValueError, r"valid_metric: .*K >= 1.*'NDCG@0'"),
    ],
)
def test_fit_arguments_of_the_wrong_kind(tiny_split, kwargs, error, message):
    m = MFBPR(tiny_split.n_users, tiny_split.n_items, 4)
    with pytest.raises(error, match=message):
        fit(m, tiny_split, progress=False, **{"epochs": 1, **kwargs})


def test_evaluate_batch_size_ks_and_metrics(tiny_split):
    m = MFBPR(tiny_split.n_users, tiny_split.n_items, 4)
    for bad in (0, -1):
        with pytest.raises(ValueError, match=r"batch_size must be a positive whole number"):
            evaluate(m, tiny_split.test, batch_size=bad)
    # a single K or a single metric name means what it says
    assert set(evaluate(m, tiny_split.test, ks=10, metrics="ndcg")) == {"NDCG@10"}
