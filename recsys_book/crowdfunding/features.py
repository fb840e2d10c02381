"""Time points TP1-TP4 and the feature table of each, Tran dissertation Sec. 3.3-3.4, Table 3.1.

A time point is a day per project (days since launch, Fig. 3.1):

* TP1 = 0 (launch), TP2 = fund_days / 2 (middle of fundraising), TP3 = fund_days (end of
  fundraising), TP4 = fund_days + 0.05 * ledd_days (the first 5 % of the longest estimated
  delivery duration).

:func:`feature_table` first keeps only the events a project had by its cutoff and then
computes every feature from those: nothing observed later can reach a time point's table
(tests/test_crowdfunding.py perturbs every later event and checks the table is unchanged).
"Previously available features are added to following time points" (Sec. 3.4.1).

Feature groups (Table 3.1; ``FEATURE_GROUPS`` maps a group to the first time point it has):

* ``project`` (TP1): goal, category (one-hot), |rewards|, |reward words|, mean reward price,
  fundraising duration, longest reward delivery duration, and the page features the data has
  (|images|, |faqs|, |bio sentences|, SMOG scores of description and bio).
* ``semantic`` (TP1): rewards per semantic reward cluster; from TP2 also backers per cluster
  (pledges so far, Sec. 3.3.1).
* ``fundraising`` (TP2): |backers|, pledged, percent raised, |comments|, |updates|,
  |creator's comments|, |creator's updates| in the fundraising phase so far.
* ``temporal`` (TP2): |comments| in each of 20 slots of the fundraising phase; at TP2 only
  the 10 slots already past exist.
* ``creator`` (TP4): |creator's comments|, |creator's updates| in the delivery phase so far,
  average update interval, average response time to a backer's question.
* ``backer`` (TP4): |backers' comments|, |backers who commented|, |backers' questions| in the
  delivery phase so far.
* ``linguistic`` (TP4): shares of our delay / progress words in the creator's delivery-phase
  updates and of worry words in the backers' comments (stand-ins for LIWC, data.LEXICONS).

Readings we took: average update interval = observed time / (|updates| + 1) (defined with no
update at all); a question not answered by the cutoff counts with its wait so far (censored),
and no question at all gives 0 (|backers' questions| tells the model which case it is).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_book.crowdfunding.data import LEXICONS, PROJECT_OPTIONAL, CrowdfundingData
from recsys_book.crowdfunding.semantic import RewardClusters, project_cluster_features, tokenize
from recsys_book.data.interactions import DataError

TIME_POINTS = ("TP1", "TP2", "TP3", "TP4")
FEATURE_GROUPS = {
    "project": "TP1",
    "semantic": "TP1",
    "fundraising": "TP2",
    "temporal": "TP2",
    "creator": "TP4",
    "backer": "TP4",
    "linguistic": "TP4",
}
N_SLOTS = 20
TP4_SHARE = 0.05


def _check_tp(tp: str) -> str:
    if tp not in TIME_POINTS:
        raise ValueError(f"time point must be one of {TIME_POINTS}, got {tp!r}")
    return tp


def cutoffs(projects: pd.DataFrame, tp: str) -> pd.Series:
    """The cutoff day (since launch) of time point ``tp`` for every project (Fig. 3.1)."""
    _check_tp(tp)
    f = projects["fund_days"].astype(float)
    out = {
        "TP1": 0.0 * f,
        "TP2": f / 2,
        "TP3": f,
        "TP4": f + TP4_SHARE * projects["ledd_days"].astype(float),
    }[tp]
    return pd.Series(out.to_numpy(), index=projects["project_id"].to_numpy(), name=tp)


def observed_events(data: CrowdfundingData, tp: str) -> pd.DataFrame:
    """The events each project had by its cutoff of ``tp`` (day <= cutoff)."""
    cut = cutoffs(data.projects, tp)
    ev = data.events
    return ev[ev["day"].to_numpy() <= cut.reindex(ev["project_id"]).to_numpy()]


def feature_group(column: str) -> str:
    """The Table 3.1 group of a feature column."""
    for prefix, group in (
        ("rewards_in_cluster_", "semantic"),
        ("backers_in_cluster_", "semantic"),
        ("comments_slot_", "temporal"),
        ("ling_", "linguistic"),
        ("dlv_creator_", "creator"),
        ("dlv_backer", "backer"),
        ("fr_", "fundraising"),
    ):
        if column.startswith(prefix):
            return group
    if column in ("avg_update_interval", "avg_response_time"):
        return "creator"
    return "project"


def _count(df: pd.DataFrame, index) -> pd.Series:
    return df.groupby("project_id").size().reindex(index, fill_value=0).astype(np.int64)


def _word_share(texts: pd.DataFrame, words: list[str], index) -> pd.Series:
    """Share of tokens in ``words`` over all tokens of a project's texts (0 with no text)."""
    if len(texts) == 0:
        return pd.Series(0.0, index=index)
    ws = set(words)
    toks = texts["text"].map(tokenize)
    hit = toks.map(lambda t: sum(w in ws for w in t))
    g = pd.DataFrame({"p": texts["project_id"], "hit": hit, "n": toks.map(len)}).groupby("p")
    s = g["hit"].sum() / g["n"].sum().clip(lower=1)
    return s.reindex(index, fill_value=0.0).astype(float)


def feature_table(
    data: CrowdfundingData, tp: str, clusters: RewardClusters | None = None
) -> pd.DataFrame:
    """The features of every project available at time point ``tp`` (index project_id).

    ``clusters``: fitted semantic reward clusters (:func:`semantic.fit_reward_clusters` on
    ``data.rewards.description``, same row order); None leaves the semantic group out.
    """
    _check_tp(tp)
    level = TIME_POINTS.index(tp)
    pj = data.projects
    idx = pd.Index(pj["project_id"].to_numpy(), name="project_id")
    fund = pd.Series(pj["fund_days"].to_numpy(float), index=idx)
    cut = cutoffs(pj, tp)
    ev = observed_events(data, tp)
    # -- TP1: the project page (known at launch) ------------------------------------------------
    rw = data.rewards
    words = rw["description"].map(lambda d: len(tokenize(d)))
    out = pd.DataFrame(index=idx)
    out["goal"] = pj["goal"].to_numpy(float)
    out["fund_days"] = fund.to_numpy()
    out["ledd_days"] = pj["ledd_days"].to_numpy(float)
    out["n_rewards"] = _count(rw, idx)
    out["n_reward_words"] = words.groupby(rw["project_id"]).sum().reindex(idx, fill_value=0)
    out["mean_price"] = rw.groupby("project_id")["price"].mean().reindex(idx, fill_value=0.0)
    for c in PROJECT_OPTIONAL:
        if c in pj:
            out[c] = pj[c].to_numpy(float)
    for c in sorted(pj["category"].astype(str).unique()):
        out[f"category_{c}"] = (pj["category"].astype(str) == c).to_numpy(np.int64)
    if clusters is not None:
        if len(clusters.reward_cluster) != len(rw):
            raise DataError(
                f"clusters were fitted on {len(clusters.reward_cluster)} rewards but the data has "
                f"{len(rw)}; fit them on data.rewards.description."
            )
        out = out.join(
            project_cluster_features(rw, clusters.reward_cluster, clusters.k_rewards, idx)
        )
    if level == 0:
        return out
    # -- TP2, TP3: the fundraising phase so far ---------------------------------------------
    fr = ev[ev["day"].to_numpy() <= fund.reindex(ev["project_id"]).to_numpy()]
    pledges = fr[fr["kind"] == "pledge"]
    comments = fr[fr["kind"] == "comment"]
    updates = fr[fr["kind"] == "update"]
    price = pd.Series(rw["price"].to_numpy(float), index=rw["reward_id"].to_numpy())
    out["fr_backers"] = _count(pledges, idx)
    pledged = pd.Series(price.reindex(pledges["reward_id"]).to_numpy(), index=pledges.index)
    out["fr_pledged"] = (
        pledged.groupby(pledges["project_id"]).sum().reindex(idx, fill_value=0.0).astype(float)
    )
    out["fr_percent_raised"] = 100 * out["fr_pledged"] / out["goal"].clip(lower=1)
    out["fr_comments"] = _count(comments, idx)
    out["fr_updates"] = _count(updates, idx)
    out["fr_creator_comments"] = _count(comments[comments["author"] == "creator"], idx)
    out["fr_creator_updates"] = _count(updates[updates["author"] == "creator"], idx)
    if clusters is not None:
        out = out.join(
            project_cluster_features(rw, clusters.reward_cluster, clusters.k_rewards, idx, pledges)
        )
    n_slots = N_SLOTS // 2 if tp == "TP2" else N_SLOTS
    slot = np.floor(
        N_SLOTS * comments["day"].to_numpy() / fund.reindex(comments["project_id"]).to_numpy()
    )
    slot = np.clip(slot, 0, N_SLOTS - 1).astype(int)
    tab = pd.crosstab(comments["project_id"], slot).reindex(
        index=idx, columns=range(n_slots), fill_value=0
    )
    for j in range(n_slots):
        out[f"comments_slot_{j + 1:02d}"] = tab[j].to_numpy(np.int64)
    if level < 3:
        return out
    # -- TP4: the first 5 % of the delivery phase ---------------------------------------------
    dl = ev[ev["day"].to_numpy() > fund.reindex(ev["project_id"]).to_numpy()]
    d_com, d_upd = dl[dl["kind"] == "comment"], dl[dl["kind"] == "update"]
    b_com = d_com[d_com["author"] == "backer"]
    out["dlv_creator_comments"] = _count(d_com[d_com["author"] == "creator"], idx)
    out["dlv_creator_updates"] = _count(d_upd[d_upd["author"] == "creator"], idx)
    all_upd = ev[(ev["kind"] == "update") & (ev["author"] == "creator")]
    out["avg_update_interval"] = cut.reindex(idx).to_numpy() / (_count(all_upd, idx) + 1)
    out["avg_response_time"] = _response_times(ev, cut).reindex(idx, fill_value=0.0)
    out["dlv_backer_comments"] = _count(b_com, idx)
    out["dlv_backers_commenting"] = (
        b_com.groupby("project_id")["backer_id"].nunique().reindex(idx, fill_value=0)
    )
    out["dlv_backer_questions"] = _count(b_com[b_com["is_question"]], idx)
    out["ling_updates_delay"] = _word_share(d_upd, LEXICONS["delay"], idx)
    out["ling_updates_progress"] = _word_share(d_upd, LEXICONS["progress"], idx)
    out["ling_comments_worry"] = _word_share(b_com, LEXICONS["worry"], idx)
    return out


def _response_times(ev: pd.DataFrame, cut: pd.Series) -> pd.Series:
    """Mean time from a backer's question to the creator's next comment, per project.

    Only events up to the cutoff are given; an unanswered question counts its wait so far."""
    com = ev[ev["kind"] == "comment"]
    q = com[(com["author"] == "backer") & com["is_question"]]
    if len(q) == 0:
        return pd.Series(dtype=float)
    rep = com[com["author"] == "creator"].sort_values("day")
    qs = q.sort_values("day")
    m = pd.merge_asof(
        qs[["project_id", "day"]].reset_index(drop=True),
        rep[["project_id", "day"]].rename(columns={"day": "reply"}).reset_index(drop=True),
        left_on="day",
        right_on="reply",
        by="project_id",
        direction="forward",
        allow_exact_matches=False,
    )
    end = cut.reindex(m["project_id"]).to_numpy()
    wait = np.where(m["reply"].isna(), end - m["day"], m["reply"] - m["day"])
    return pd.Series(wait, index=m["project_id"]).groupby(level=0).mean()


def select_groups(table: pd.DataFrame, groups) -> pd.DataFrame:
    """The columns of ``table`` whose group (:func:`feature_group`) is in ``groups``."""
    groups = set(groups)
    unknown = groups - set(FEATURE_GROUPS)
    if unknown:
        raise ValueError(
            f"unknown feature group(s) {sorted(unknown)}; choose from {list(FEATURE_GROUPS)}"
        )
    return table[[c for c in table.columns if feature_group(c) in groups]]


def baseline_columns(table: pd.DataFrame, tp: str) -> pd.DataFrame:
    """Kim et al.'s features (Sec. 3.4.1, baseline 2) that our data has: |rewards|, goal,
    project duration, category, and from TP3 on |backers| and percent raised (the paper:
    "available only at TP3 and TP4"). |backed| / |created projects| of the creator: absent."""
    cols = ["n_rewards", "goal", "fund_days"] + [c for c in table if c.startswith("category_")]
    if TIME_POINTS.index(_check_tp(tp)) >= 2:
        cols += ["fr_backers", "fr_percent_raised"]
    return table[cols]


def labels(data: CrowdfundingData) -> pd.DataFrame:
    """``late`` (1 = late, the positive class) and ``delivery_days``, indexed by project_id."""
    if not data.has_labels:
        raise DataError(
            "the projects have no labels: add columns on_time (0/1) and delivery_days to "
            "the projects file to train and evaluate."
        )
    pj = data.projects
    return pd.DataFrame(
        {
            "late": 1 - pj["on_time"].to_numpy(np.int64),
            "delivery_days": pj["delivery_days"].to_numpy(float),
        },
        index=pd.Index(pj["project_id"].to_numpy(), name="project_id"),
    )
