"""Semantic reward clustering, Tran dissertation Sec. 3.3.1 (Steps 1-6, Eq. 3.1).

1. Reward descriptions -> tokens (lower case, letters only, stop words removed).
2. Word vectors. The paper trains GloVe (50 dimensions) on 1.27M descriptions; we have no
   downloaded embeddings, so we factorise the SPPMI matrix of word co-occurrence within a
   description (the RME chapter's :func:`recsys_book.models.rme.sppmi`; Levy & Goldberg show
   SGNS and GloVe-like objectives factorise shifted PMI): v = U_m S_m^{1/2} of its top-m
   eigen-decomposition.
3. Word clusters by k-means, K1 chosen by the BIC of Eq. (3.1) (:func:`bic`, :func:`select_k`).
4-5. Each reward -> a K1-vector: how many of its words fall in each word cluster (divided by
   the reward's number of words, see below).
6. Rewards clustered the same way (K2 by BIC): the *semantic reward clusters*. A project's
   features: per reward cluster, the number of its backers (backer weighted, Sec. 3.3.1).

Readings we took:

* Eq. (3.1) uses the Euclidean distance (not squared) to the centre; k-means minimises the
  squared one. We fit k-means (scikit-learn) for each K and score the fit with Eq. (3.1) as
  written; n is the number of rewards (the paper's n = 1,273,617), m the vector dimension.
* Eq. (3.1) is not scale free: a distance in other units changes the balance between fit and
  penalty. The paper's GloVe vectors have components of order one; we rescale our word
  vectors so that their coordinates have unit variance on average (:func:`word_vectors`), a
  single constant for all words that leaves the clusters' shape unchanged.
* Step 6 on raw counts: on our data Eq. (3.1) then keeps splitting rewards by their *length*
  (a 7-word and a 3-word reward on one topic are far apart) and K2 runs to the end of the
  range. We cluster the *shares* of each reward's words per word cluster instead
  (``normalize=True``, default); ``normalize=False`` keeps the paper's counts.
* At launch no backer has pledged yet, so the backer-weighted features need pledges up to the
  time point (:func:`project_cluster_features`); the paper counted final backers, which at
  TP1 would leak the future. At TP1 we use the number of rewards per cluster instead.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

# The one import of the RME chapter's SPPMI (Eq. 4.2-4.3); keep it in this one place.
from recsys_book.models.rme import sppmi as _sppmi

STOP_WORDS = frozenset(
    "a an and are as at be by for from in into is it its of on or our the this to with you your "
    "we will all any each one two get gets plus also".split()
)


def tokenize(text: str) -> list[str]:
    """Step 1: lower case, letters only, stop words removed."""
    return [w for w in re.findall(r"[a-z]+", str(text).lower()) if w not in STOP_WORDS]


def vocabulary(descriptions, min_count: int = 5) -> list[str]:
    """Words that occur in at least ``min_count`` descriptions (the paper: min count 5), sorted."""
    df: dict[str, int] = {}
    for d in descriptions:
        for w in set(tokenize(d)):
            df[w] = df.get(w, 0) + 1
    return sorted(w for w, c in df.items() if c >= min_count)


def doc_word_matrix(descriptions, vocab: list[str]) -> np.ndarray:
    """(n_docs, |V|) word counts of each description over ``vocab``."""
    index = {w: j for j, w in enumerate(vocab)}
    m = np.zeros((len(descriptions), len(vocab)), dtype=np.float32)
    for i, d in enumerate(descriptions):
        for w in tokenize(d):
            j = index.get(w)
            if j is not None:
                m[i, j] += 1
    return m


def word_vectors(counts: np.ndarray, dim: int = 10, shift: float = 1.0) -> np.ndarray:
    """Step 2: word vectors (|V|, dim) from the SPPMI of co-occurrence within a description.

    ``counts``: (n_docs, |V|) from :func:`doc_word_matrix`. SPPMI (Eq. 4.2-4.3 of the RME
    chapter) is symmetric; its top-``dim`` eigenpairs give v = U S^{1/2} (negative
    eigenvalues clipped). Rescaled so that coordinates have unit variance on average (see
    "Readings we took"). The sign of each eigenvector is fixed (largest |entry| positive).
    """
    if counts.ndim != 2 or counts.shape[1] < 2:
        raise ValueError(f"counts must be (n_docs, |V| >= 2), got shape {counts.shape}")
    if not 1 <= dim <= counts.shape[1]:
        raise ValueError(f"dim must be in [1, |V| = {counts.shape[1]}], got {dim}")
    s = _sppmi(torch.as_tensor(counts > 0, dtype=torch.float32), shift=shift, dense=True)
    s = s.to_dense().double().numpy()  # (|V|, |V|)
    vals, vecs = np.linalg.eigh((s + s.T) / 2)
    order = np.argsort(vals)[::-1][:dim]
    vals, vecs = np.clip(vals[order], 0, None), vecs[:, order]
    sign = np.sign(vecs[np.abs(vecs).argmax(0), np.arange(dim)])
    v = vecs * sign * np.sqrt(vals)  # (|V|, dim)
    scale = np.sqrt(((v - v.mean(0)) ** 2).mean())
    return v / (scale if scale > 0 else 1.0)


def bic(x: np.ndarray, labels: np.ndarray, centers: np.ndarray, n: int | None = None) -> float:
    """Eq. (3.1): sum_k sum_{i in cluster k} ||v_i - c_k|| + log(n) * m * K.

    ``x`` (N, m) points, ``labels`` (N,) cluster of each point, ``centers`` (K, m);
    ``n``: the paper's n, the number of rewards (default N, the number of points).
    """
    x = np.asarray(x, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.float64)
    n = len(x) if n is None else int(n)
    dist = np.linalg.norm(x - centers[np.asarray(labels)], axis=1)  # (N,)
    return float(dist.sum() + math.log(n) * x.shape[1] * len(centers))


def kmeans(x: np.ndarray, k: int, seed: int = 0, n_init: int = 4) -> KMeans:
    """scikit-learn k-means, seeded (single-threaded: small inputs, see predict.py)."""
    with threadpool_limits(1):
        return KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(x)


def select_k(
    x: np.ndarray, ks=range(1, 31), n: int | None = None, seed: int = 0, n_init: int = 4
) -> tuple[int, pd.DataFrame, KMeans]:
    """Fit k-means for each K in ``ks`` and keep the K with the smallest BIC (Eq. 3.1).

    Returns (best K, a frame K -> bic, the fitted k-means of the best K). Values of K larger
    than the number of distinct points are skipped.
    """
    x = np.asarray(x, dtype=np.float64)
    distinct = len(np.unique(x, axis=0))
    rows, fits = [], {}
    for k in ks:
        if k > distinct:
            break
        km = kmeans(x, k, seed=seed, n_init=n_init)
        fits[k] = km
        rows.append({"K": k, "bic": bic(x, km.labels_, km.cluster_centers_, n)})
    if not rows:
        raise ValueError(f"no K in {list(ks)} fits {distinct} distinct points")
    table = pd.DataFrame(rows)
    best = int(table.loc[table["bic"].idxmin(), "K"])
    return best, table, fits[best]


@dataclass
class RewardClusters:
    """The fitted Steps 1-6: vocabulary, word vectors and clusters, reward clusters."""

    vocab: list[str]
    vectors: np.ndarray  # (|V|, m) word vectors
    word_cluster: np.ndarray  # (|V|,)
    k_words: int
    word_bic: pd.DataFrame
    reward_vectors: np.ndarray  # (n_rewards, K1) counts per word cluster
    reward_cluster: np.ndarray  # (n_rewards,)
    k_rewards: int
    reward_bic: pd.DataFrame
    reward_km: KMeans
    normalize: bool = True

    def top_words(self, counts: np.ndarray, n: int = 8) -> pd.DataFrame:
        """The most frequent words of each word cluster (``counts``: the doc-word matrix)."""
        freq = np.asarray(counts).sum(0)
        rows = []
        for k in range(self.k_words):
            idx = np.flatnonzero(self.word_cluster == k)
            idx = idx[np.argsort(-freq[idx], kind="stable")][:n]
            rows.append(
                {
                    "word cluster": k,
                    "size": int((self.word_cluster == k).sum()),
                    "top words": ", ".join(self.vocab[i] for i in idx),
                }
            )
        return pd.DataFrame(rows)

    def assign(self, descriptions) -> np.ndarray:
        """Reward cluster of new descriptions (words outside the vocabulary are ignored)."""
        c = doc_word_matrix(list(descriptions), self.vocab)
        rv = _reward_vectors(c, self.word_cluster, self.k_words, self.normalize)
        return self.reward_km.predict(rv)


def _reward_vectors(
    counts: np.ndarray, word_cluster: np.ndarray, k: int, normalize: bool = True
) -> np.ndarray:
    """Step 5: (n_rewards, K1) = counts (n_rewards, |V|) @ one-hot(word cluster) (|V|, K1);
    ``normalize``: divided by the reward's number of (in-vocabulary) words."""
    rv = counts @ np.eye(k)[word_cluster]
    if normalize:
        rv = rv / np.maximum(rv.sum(1, keepdims=True), 1.0)
    return rv


def fit_reward_clusters(
    descriptions,
    dim: int = 10,
    min_count: int = 5,
    k_words=range(1, 31),
    k_rewards=range(1, 31),
    seed: int = 0,
    n_init: int = 4,
    normalize: bool = True,
) -> RewardClusters:
    """Steps 1-6 of Sec. 3.3.1 on a list of reward descriptions (available at launch)."""
    descriptions = list(descriptions)
    vocab = vocabulary(descriptions, min_count)
    if len(vocab) < 2:
        raise ValueError(
            f"only {len(vocab)} word(s) occur in >= {min_count} descriptions; lower min_count "
            "or bring more rewards."
        )
    counts = doc_word_matrix(descriptions, vocab)
    vec = word_vectors(counts, dim=min(dim, len(vocab)))
    n = len(descriptions)  # Eq. (3.1): n = number of rewards
    k1, t1, km1 = select_k(vec, k_words, n=n, seed=seed, n_init=n_init)
    rv = _reward_vectors(counts, km1.labels_, k1, normalize)
    k2, t2, km2 = select_k(rv, k_rewards, n=n, seed=seed, n_init=n_init)
    return RewardClusters(vocab, vec, km1.labels_, k1, t1, rv, km2.labels_, k2, t2, km2, normalize)


def project_cluster_features(
    rewards: pd.DataFrame,
    reward_cluster: np.ndarray,
    k: int,
    projects,
    pledges: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per project and semantic reward cluster: rewards (no pledges) or backers (pledges).

    ``rewards``: the rewards table, in the order of ``reward_cluster``; ``projects``: the
    project ids, in output order. ``pledges``: pledge events (``project_id, reward_id``)
    observed up to a time point; None -> count rewards per cluster (what exists at launch).
    """
    cl = pd.Series(np.asarray(reward_cluster), index=rewards["reward_id"].to_numpy())
    if pledges is None:
        keys, prefix = rewards[["project_id"]].assign(c=cl.to_numpy()), "rewards_in_cluster_"
    else:
        keys = pledges[["project_id"]].assign(c=cl.reindex(pledges["reward_id"]).to_numpy())
        prefix = "backers_in_cluster_"
    tab = pd.crosstab(keys["project_id"], keys["c"]).reindex(
        index=list(projects), columns=range(k), fill_value=0
    )
    tab.columns = [f"{prefix}{c}" for c in range(k)]
    tab.index.name = "project_id"
    return tab.fillna(0).astype(np.int64)
