"""On-time vs late classification and delivery-duration regression, dissertation Sec. 3.4-3.5.

* :func:`cv_classify` -- k-fold cross-validated accuracy and AUC of a classifier on a feature
  table; optional permutation importance on the held-out folds.
* :func:`cv_regress` -- k-fold cross-validated MAE, RMSE, NRMSE@A = RMSE / (max y - min y)
  and NRMSE@B = RMSE / mean y (Sec. 3.5.1).
* :func:`time_point_table` -- Table 3.3 / 3.5 on one data set: every time point, our model
  beside the majority class / mean duration and Kim et al.'s features (baseline 2).

Readings we took:

* The paper's classifier is XGBoost (Sec. 3.4.1); scikit-learn's histogram gradient boosting
  is the same family (boosted trees on binned features) and needs no extra package.
  Feature selection by VIF and Boruta is left out: boosted trees cope with correlated and
  useless features, and every selection step would have to run inside each fold.
* The regression (Sec. 3.5.1) is the paper's: log(1 + x) features, Box-Cox target
  (scikit-learn's ``PowerTransformer`` picks lambda by maximum likelihood), elastic net
  (Eq. 3.2) with its strength chosen by an inner cross-validation, and without the longest
  reward delivery duration feature. Baselines: the mean duration, and a linear regression on
  Kim et al.'s features.
* The tables are small (thousands of projects): OpenMP threads cost more than they save, and
  on a busy machine much more, so fits run single-threaded (``threadpool_limits(1)``).
* Every model of a table is scored on the same folds (stratified by the label, seeded), so
  the differences between rows are paired.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import TransformedTargetRegressor
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.inspection import permutation_importance
from sklearn.linear_model import ElasticNetCV, LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, PowerTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from recsys_book.crowdfunding.data import CrowdfundingData
from recsys_book.crowdfunding.features import (
    TIME_POINTS,
    baseline_columns,
    feature_group,
    feature_table,
    labels,
    select_groups,
)
from recsys_book.crowdfunding.semantic import RewardClusters

CLASSIFIERS = ("boosting", "forest", "logistic", "majority")
REGRESSORS = ("elasticnet", "linear", "mean")


def make_classifier(name: str = "boosting", seed: int = 0):
    """A fresh scikit-learn classifier by name (``CLASSIFIERS``)."""
    if name == "boosting":  # the XGBoost of Sec. 3.4.1
        return HistGradientBoostingClassifier(
            learning_rate=0.1, max_iter=80, max_leaf_nodes=8, random_state=seed
        )
    if name == "forest":
        return RandomForestClassifier(n_estimators=200, min_samples_leaf=3, random_state=seed)
    if name == "logistic":
        return make_pipeline(
            FunctionTransformer(np.log1p), StandardScaler(), LogisticRegression(max_iter=2000)
        )
    if name == "majority":  # baseline 1: every project gets the majority class
        return DummyClassifier(strategy="most_frequent")
    raise ValueError(f"unknown classifier {name!r}; choose from {CLASSIFIERS}")


def make_regressor(name: str = "elasticnet", seed: int = 0):
    """A fresh scikit-learn regressor by name (``REGRESSORS``)."""
    if name == "elasticnet":  # Sec. 3.5.1: log(1 + x), Box-Cox target, Eq. (3.2)
        inner = make_pipeline(
            FunctionTransformer(np.log1p),
            StandardScaler(),
            ElasticNetCV(l1_ratio=0.5, alphas=12, eps=1e-2, cv=3, random_state=seed, max_iter=5000),
        )
        return TransformedTargetRegressor(regressor=inner, transformer=PowerTransformer("box-cox"))
    if name == "linear":  # Kim et al.'s multiple linear regression
        return make_pipeline(FunctionTransformer(np.log1p), LinearRegression())
    if name == "mean":
        return DummyRegressor(strategy="mean")
    raise ValueError(f"unknown regressor {name!r}; choose from {REGRESSORS}")


def _folds(y: np.ndarray, folds: int, seed: int):
    if folds < 2:
        raise ValueError(f"folds must be >= 2, got {folds}")
    if np.bincount(y.astype(int)).min() < folds:
        raise ValueError(f"each class needs at least folds={folds} projects")
    return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def _matrix(X: pd.DataFrame) -> np.ndarray:
    if X.shape[1] == 0:
        raise ValueError("the feature table has no columns: choose at least one feature group")
    return X.to_numpy(np.float64)


def cv_classify(
    X: pd.DataFrame,
    y,
    model: str = "boosting",
    folds: int = 10,
    seed: int = 0,
    importance: bool = False,
    n_repeats: int = 3,
    progress=None,
) -> dict:
    """Cross-validated accuracy and AUC of ``model`` on features ``X`` (late = 1).
    ``progress(done, folds)``, when given, is called after each fold (a widget's bar).

    Returns ``accuracy`` and ``auc`` (means over folds), ``accuracy_sd``, ``fold_accuracy``
    (per fold, for paired comparisons), ``proba`` (out-of-fold P(late)) and, with
    ``importance``, ``importance``: the mean drop of held-out AUC when a column is shuffled
    (permutation importance), a Series sorted from the most important column.
    """
    y = np.asarray(y).astype(int)
    xm = _matrix(X)
    proba = np.zeros(len(y))
    accs, aucs, imps = [], [], []
    with threadpool_limits(1):
        for k, (tr, te) in enumerate(_folds(y, folds, seed)):
            clf = make_classifier(model, seed + k).fit(xm[tr], y[tr])
            p = clf.predict_proba(xm[te])[:, 1]
            proba[te] = p
            accs.append(accuracy_score(y[te], clf.predict(xm[te])))
            aucs.append(roc_auc_score(y[te], p) if model != "majority" else 0.5)
            if importance:
                r = permutation_importance(
                    clf,
                    xm[te],
                    y[te],
                    scoring="roc_auc",
                    n_repeats=n_repeats,
                    random_state=seed + k,
                )
                imps.append(r.importances_mean)
            if progress is not None:
                progress(k + 1, folds)
    out = {
        "accuracy": float(np.mean(accs)),
        "accuracy_sd": float(np.std(accs)),
        "auc": float(np.mean(aucs)),
        "fold_accuracy": np.array(accs),
        "proba": proba,
    }
    if importance:
        out["importance"] = pd.Series(np.mean(imps, 0), index=X.columns).sort_values(
            ascending=False
        )
    return out


def group_importance(importance: pd.Series) -> pd.Series:
    """Permutation importances summed per Table 3.1 group."""
    return (
        importance.groupby(importance.index.map(feature_group)).sum().sort_values(ascending=False)
    )


def cv_regress(
    X: pd.DataFrame, y, model: str = "elasticnet", folds: int = 10, seed: int = 0, strata=None
) -> dict:
    """Cross-validated MAE, RMSE, NRMSE@A and NRMSE@B (Sec. 3.5.1) of ``model``, in days.

    ``strata``: labels to stratify the folds by (the late/on-time label: the same folds as the
    classification); None -> quartiles of y."""
    y = np.asarray(y, dtype=np.float64)
    if (y <= 0).any():
        raise ValueError("delivery durations must be > 0 days (Box-Cox needs positive values)")
    xm = _matrix(X)
    s = (
        np.asarray(strata)
        if strata is not None
        else np.digitize(y, np.quantile(y, [0.25, 0.5, 0.75]))
    )
    pred = np.zeros(len(y))
    with threadpool_limits(1):
        for k, (tr, te) in enumerate(_folds(s, folds, seed)):
            pred[te] = make_regressor(model, seed + k).fit(xm[tr], y[tr]).predict(xm[te])
    rmse = float(np.sqrt(np.mean((pred - y) ** 2)))
    return {
        "MAE": float(np.mean(np.abs(pred - y))),
        "RMSE": rmse,
        "NRMSE@A": rmse / float(y.max() - y.min()),
        "NRMSE@B": rmse / float(y.mean()),
        "pred": pred,
    }


def time_point_table(
    data: CrowdfundingData,
    clusters: RewardClusters | None,
    folds: int = 10,
    seed: int = 0,
    model: str = "boosting",
    time_points=TIME_POINTS,
    progress=None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tables 3.3 and 3.5 on ``data``: (classification, regression), one row per
    (time point, approach). ``progress``: a callable wrapping an iterable (e.g. tqdm)."""
    lab = labels(data)
    y, dur = lab["late"].to_numpy(), lab["delivery_days"].to_numpy()
    cls, reg = [], []
    tps = list(time_points)
    for tp in progress(tps) if progress else tps:
        X = feature_table(data, tp, clusters)
        kim = baseline_columns(X, tp)
        for name, feats, m in (
            ("majority class", X, "majority"),
            ("Kim et al. features", kim, model),
            ("all features (ours)", X, model),
        ):
            r = cv_classify(feats, y, model=m, folds=folds, seed=seed)
            cls.append(
                {
                    "time point": tp,
                    "approach": name,
                    "accuracy": r["accuracy"],
                    "accuracy_sd": r["accuracy_sd"],
                    "AUC": r["auc"],
                    "n_features": feats.shape[1],
                }
            )
        no_ledd = X.drop(columns=["ledd_days"])
        semantic = select_groups(no_ledd, ["semantic"])
        other = no_ledd[[c for c in no_ledd if c not in semantic.columns]]
        for name, feats, m in (
            ("mean duration", no_ledd, "mean"),
            ("Kim et al. features (linear)", kim, "linear"),
            ("semantic reward clusters", semantic, "elasticnet"),
            ("other features", other, "elasticnet"),
            ("all features (ours)", no_ledd, "elasticnet"),
        ):
            if feats.shape[1] == 0:
                continue
            r = cv_regress(feats, dur, model=m, folds=folds, seed=seed, strata=y)
            reg.append(
                {"time point": tp, "approach": name, **{k: v for k, v in r.items() if k != "pred"}}
            )
    return pd.DataFrame(cls), pd.DataFrame(reg)
