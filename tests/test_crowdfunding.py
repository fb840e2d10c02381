"""Crowdfunding appendix (dissertation Ch. 3): BIC, time-point leakage, learning, CSV loader."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from recsys_book.crowdfunding import (
    CrowdfundingData,
    load_crowdfunding_csv,
    planted_crowdfunding,
    save_crowdfunding_csv,
)
from recsys_book.crowdfunding.features import (
    FEATURE_GROUPS,
    TIME_POINTS,
    cutoffs,
    feature_group,
    feature_table,
    labels,
    select_groups,
)
from recsys_book.crowdfunding.predict import cv_classify, cv_regress
from recsys_book.crowdfunding.semantic import (
    bic,
    fit_reward_clusters,
    project_cluster_features,
    select_k,
    tokenize,
)
from recsys_book.data.interactions import DataError


@pytest.fixture(scope="module")
def planted():
    return planted_crowdfunding(n_projects=400, seed=3)


@pytest.fixture(scope="module")
def clusters(planted):
    data, _ = planted
    return fit_reward_clusters(
        data.rewards.description, dim=8, k_words=range(1, 11), k_rewards=range(1, 13), n_init=2
    )


# ---- Eq. (3.1) ---------------------------------------------------------------------------------


def test_bic_is_eq_3_1_by_hand():
    x = np.array([[0.0, 0.0], [3.0, 4.0], [10.0, 10.0], [10.0, 11.0]])
    labels_ = np.array([0, 0, 1, 1])
    centers = np.array([[0.0, 0.0], [10.0, 10.5]])
    # distances 0, 5, 0.5, 0.5; penalty log(n) * m * K with n = 100 rewards, m = 2, K = 2
    assert bic(x, labels_, centers, n=100) == pytest.approx(6.0 + math.log(100) * 2 * 2)
    assert bic(x, labels_, centers) == pytest.approx(6.0 + math.log(4) * 2 * 2)  # n = N


@pytest.mark.parametrize("k_true,seed", [(3, 0), (5, 1), (7, 2)])
def test_bic_recovers_the_planted_number_of_clusters(k_true, seed):
    rng = np.random.default_rng(seed)
    m = 5
    centers = rng.normal(0, 8, (k_true, m))
    x = np.concatenate([c + rng.normal(0, 1, (80, m)) for c in centers])
    best, table, km = select_k(x, range(1, 13), seed=seed, n_init=3)
    assert best == k_true, table
    assert adjusted_rand_score(np.repeat(np.arange(k_true), 80), km.labels_) > 0.99


def test_word_clusters_recover_planted_topics(planted, clusters):
    _, truth = planted
    topic = np.array([truth["word_topic"].get(w, "?") for w in clusters.vocab])
    assert "?" not in topic  # the vocabulary is the planted one
    words_only = topic != "filler"
    ari = adjusted_rand_score(topic[words_only], clusters.word_cluster[words_only])
    assert ari > 0.8, ari
    assert truth["n_topics"] <= clusters.k_words <= truth["n_topics"] + 2
    # semantic reward clusters carry the planted difficulty level
    ari_level = adjusted_rand_score(truth["reward_level"], clusters.reward_cluster)
    assert ari_level > 0.1, ari_level


def test_top_words_and_project_features(planted, clusters):
    data, _ = planted
    from recsys_book.crowdfunding.semantic import doc_word_matrix

    top = clusters.top_words(doc_word_matrix(list(data.rewards.description), clusters.vocab), 5)
    assert len(top) == clusters.k_words and top["size"].sum() == len(clusters.vocab)
    ids = data.projects["project_id"]
    f = project_cluster_features(data.rewards, clusters.reward_cluster, clusters.k_rewards, ids)
    assert (f.sum(axis=1).to_numpy() == data.rewards.groupby("project_id").size().to_numpy()).all()
    pledges = data.events[data.events["kind"] == "pledge"]
    g = project_cluster_features(
        data.rewards, clusters.reward_cluster, clusters.k_rewards, ids, pledges
    )
    assert g.to_numpy().sum() == len(pledges)


def test_tokenize_drops_stop_words_and_punctuation():
    assert tokenize("A signed COPY of the book, with your name!") == [
        "signed",
        "copy",
        "book",
        "name",
    ]


# ---- time points: nothing from later reaches a time point ----------------------------------------


def _perturb_after(data: CrowdfundingData, tp: str, seed: int = 0) -> CrowdfundingData:
    """Change everything that happens after each project's cutoff of ``tp``, and the labels."""
    rng = np.random.default_rng(seed)
    out = data.copy()
    ev = out.events
    cut = cutoffs(out.projects, tp).reindex(ev["project_id"]).to_numpy()
    late = ev["day"].to_numpy() > cut
    later = ev[late].copy()
    later = later.sample(frac=0.6, random_state=seed)  # drop 40 % of the later events
    later["day"] = later["day"] + rng.uniform(0.01, 30, len(later))  # move them later still
    later["kind"] = rng.choice(["pledge", "comment", "update"], len(later))
    later["author"] = rng.choice(["creator", "backer"], len(later))
    later["is_question"] = rng.random(len(later)) < 0.5
    later["text"] = "delay sorry refund when shipped"
    extra = later.copy()
    extra["day"] = extra["day"] + 1.0  # and add as many new later events
    out.events = (
        pd.concat([ev[~late], later, extra])
        .sort_values(["project_id", "day"])
        .reset_index(drop=True)
    )
    out.projects["on_time"] = 1 - out.projects["on_time"]
    out.projects["delivery_days"] = out.projects["delivery_days"] * 3
    return out


def _future_free(builder, data, tp, **kw) -> bool:
    a = builder(data, tp, **kw)
    b = builder(_perturb_after(data, tp), tp, **kw)
    return a.shape == b.shape and bool((a.columns == b.columns).all()) and a.equals(b)


@pytest.mark.parametrize("tp", TIME_POINTS)
def test_features_never_use_information_after_their_time_point(planted, clusters, tp):
    data, _ = planted
    assert _future_free(feature_table, data, tp, clusters=clusters), tp


def test_the_leakage_check_has_power(planted, clusters):
    data, _ = planted
    # later time points DO see what happens between TP1 and them: the perturbation is not idle
    for later in ("TP2", "TP3", "TP4"):
        a = feature_table(data, later, clusters)
        b = feature_table(_perturb_after(data, "TP1"), later, clusters)
        assert not a.equals(b), later

    # and a feature that slips in from the future is caught
    def leaky(d, tp, clusters=None):
        t = feature_table(d, tp, clusters)
        pledges = d.events[d.events["kind"] == "pledge"]
        t["final_backers"] = pledges.groupby("project_id").size().reindex(t.index, fill_value=0)
        return t

    assert not _future_free(leaky, data, "TP1", clusters=clusters)


def test_time_points_and_groups(planted, clusters):
    data, _ = planted
    pj = data.projects
    assert (cutoffs(pj, "TP1") == 0).all()
    assert np.allclose(cutoffs(pj, "TP2"), pj["fund_days"] / 2)
    assert np.allclose(cutoffs(pj, "TP4"), pj["fund_days"] + 0.05 * pj["ledd_days"])
    tabs = {tp: feature_table(data, tp, clusters) for tp in TIME_POINTS}
    for a, b in zip(TIME_POINTS, TIME_POINTS[1:]):  # previously available features are kept
        assert set(tabs[a].columns) - {c for c in tabs[a] if c.startswith("comments_slot_")} <= set(
            tabs[b].columns
        )
    for tp, tab in tabs.items():
        groups = {feature_group(c) for c in tab.columns}
        expected = {g for g, first in FEATURE_GROUPS.items() if first <= tp}
        assert groups == expected, (tp, groups)
    assert sum(c.startswith("comments_slot_") for c in tabs["TP2"]) == 10  # half the slots
    assert sum(c.startswith("comments_slot_") for c in tabs["TP3"]) == 20
    assert list(select_groups(tabs["TP4"], ["creator"]).columns) == [
        "dlv_creator_comments",
        "dlv_creator_updates",
        "avg_update_interval",
        "avg_response_time",
    ]
    with pytest.raises(ValueError, match="unknown feature group"):
        select_groups(tabs["TP1"], ["nope"])
    with pytest.raises(ValueError, match="time point"):
        feature_table(data, "TP5")


# ---- learning on planted data ------------------------------------------------------------------


def test_generator_is_seeded_and_plants_difficulty(planted):
    data, truth = planted
    again, _ = planted_crowdfunding(n_projects=400, seed=3)
    assert data.events.equals(again.events) and data.projects.equals(again.projects)
    late = 1 - data.projects["on_time"].to_numpy()
    hard = truth["difficulty"] > np.median(truth["difficulty"])
    assert late[hard].mean() > late[~hard].mean() + 0.1
    assert 0.3 < late.mean() < 0.7


def test_classifier_beats_majority_and_improves_over_time(planted, clusters):
    data, _ = planted
    y = labels(data)["late"].to_numpy()
    res = {}
    for tp in ("TP1", "TP4"):
        X = feature_table(data, tp, clusters)
        res[tp] = cv_classify(X, y, folds=5, seed=0)
        res[tp + "maj"] = cv_classify(X, y, model="majority", folds=5, seed=0)
    assert res["TP1"]["accuracy"] > res["TP1maj"]["accuracy"] + 0.05, res["TP1"]["accuracy"]
    assert res["TP4"]["accuracy"] > res["TP4maj"]["accuracy"] + 0.10, res["TP4"]["accuracy"]
    assert res["TP4"]["auc"] > res["TP1"]["auc"] + 0.03
    assert res["TP1maj"]["auc"] == 0.5


def test_regression_beats_mean_duration(planted, clusters):
    data, _ = planted
    lab = labels(data)
    X = feature_table(data, "TP4", clusters).drop(columns=["ledd_days"])
    ours = cv_regress(X, lab["delivery_days"], folds=5, strata=lab["late"])
    base = cv_regress(X, lab["delivery_days"], model="mean", folds=5, strata=lab["late"])
    assert ours["MAE"] < 0.85 * base["MAE"], (ours["MAE"], base["MAE"])
    assert ours["NRMSE@B"] == pytest.approx(ours["RMSE"] / lab["delivery_days"].mean())


# ---- the CSV loader ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    data, _ = planted_crowdfunding(n_projects=25, seed=1)
    folder = tmp_path_factory.mktemp("cf")
    return data, save_crowdfunding_csv(data, folder)


def test_csv_round_trip(small_csv):
    data, paths = small_csv
    back = load_crowdfunding_csv(paths["projects"], paths["rewards"], paths["events"])
    assert back.has_labels and back.meta["absent"] == []
    pd.testing.assert_frame_equal(
        feature_table(back, "TP4"), feature_table(data, "TP4"), check_dtype=False
    )


def _write(tmp_path, name, df):
    p = tmp_path / name
    df.to_csv(p, index=False)
    return p


def test_csv_missing_column(small_csv, tmp_path):
    data, paths = small_csv
    p = _write(tmp_path, "projects.csv", data.projects.drop(columns=["goal"]))
    with pytest.raises(DataError, match=r"lacks column\(s\) \['goal'\]"):
        load_crowdfunding_csv(p, paths["rewards"], paths["events"])
    e = _write(tmp_path, "events.csv", data.events.drop(columns=["kind"]))
    with pytest.raises(DataError, match=r"events file .* lacks column\(s\) \['kind'\]"):
        load_crowdfunding_csv(paths["projects"], paths["rewards"], e)


def test_csv_non_numeric_value(small_csv, tmp_path):
    data, paths = small_csv
    pj = data.projects.astype({"goal": object})
    pj.loc[3, "goal"] = "lots"
    p = _write(tmp_path, "projects.csv", pj)
    with pytest.raises(DataError, match=r"'goal' must be numeric but row 5 holds 'lots'"):
        load_crowdfunding_csv(p, paths["rewards"], paths["events"])
    ev = data.events.astype({"day": object})
    ev.loc[0, "day"] = "tuesday"
    e = _write(tmp_path, "events.csv", ev)
    with pytest.raises(DataError, match=r"'day' must be numeric"):
        load_crowdfunding_csv(paths["projects"], paths["rewards"], e)


def test_csv_empty_and_header_only(small_csv, tmp_path):
    _, paths = small_csv
    empty = tmp_path / "rewards.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="is empty"):
        load_crowdfunding_csv(paths["projects"], empty, paths["events"])
    header = tmp_path / "events.csv"
    header.write_text("project_id,day,kind,author\n")
    with pytest.raises(DataError, match="header but no rows"):
        load_crowdfunding_csv(paths["projects"], paths["rewards"], header)
    with pytest.raises(DataError, match="does not exist"):
        load_crowdfunding_csv(tmp_path / "nope.csv", paths["rewards"], paths["events"])


def test_csv_bad_categories_and_ids(small_csv, tmp_path):
    data, paths = small_csv
    ev = data.events.copy()
    ev.loc[2, "kind"] = "tweet"
    e = _write(tmp_path, "events.csv", ev)
    with pytest.raises(DataError, match=r"'kind' must be one of .* holds 'tweet'"):
        load_crowdfunding_csv(paths["projects"], paths["rewards"], e)
    rw = data.rewards.copy()
    rw.loc[0, "project_id"] = 999
    r = _write(tmp_path, "rewards.csv", rw)
    with pytest.raises(DataError, match="project_id 999 is not in the projects file"):
        load_crowdfunding_csv(paths["projects"], r, paths["events"])


def test_csv_without_optional_columns_leaves_their_features_out(small_csv, tmp_path):
    data, paths = small_csv
    p = _write(tmp_path, "projects.csv", data.projects.drop(columns=["n_faqs", "on_time"]))
    back = load_crowdfunding_csv(p, paths["rewards"], paths["events"])
    assert back.meta["absent"] == ["n_faqs", "on_time"] and not back.has_labels
    assert "n_faqs" not in feature_table(back, "TP1").columns
    with pytest.raises(DataError, match="no labels"):
        labels(back)


# ---- the experiment ------------------------------------------------------------------------------


def test_reproduce_crowdfunding_quick(tmp_path, capsys):
    from recsys_book.__main__ import main

    rc = main(
        [
            "reproduce",
            "crowdfunding",
            "--quick",
            "--projects",
            "120",
            "--folds",
            "3",
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 0
    md = (tmp_path / "crowdfunding_smoke.md").read_text()  # --quick: a smoke run's files
    assert not (tmp_path / "crowdfunding.md").exists()
    assert "not on Kickstarter" in md and "65.8 / 66.4 / 71.4 / 82.5" in md
    from recsys_book.results import read

    rows = read(tmp_path / "crowdfunding_smoke.csv")
    cls = rows[rows["model"].str.startswith("classify: ")]
    assert len(cls) == 3 * len(TIME_POINTS) and cls["test accuracy"].between(0, 1).all()
    assert set(rows["model"].str.split(":| TP4").str[0]) == {"classify", "regress"}
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically, nothing left over
