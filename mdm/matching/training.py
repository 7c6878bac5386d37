"""Estimating a match rule's parameters with recordlinkage.

* :func:`fit_ecm`: unsupervised. recordlinkage's ECM (expectation–conditional maximisation
  of a Fellegi–Sunter model) on the comparison levels of candidate pairs gives, for each
  comparison, m (P(level | match)) and u (P(level | non-match)) per level, and the share
  of matches among candidate pairs (the prior).
* :func:`fit_logistic`: supervised, from stewards' decisions, once there are enough of
  both kinds; recordlinkage's logistic regression on one-hot levels.

Pure: takes level vectors, returns parameters; no database access.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import recordlinkage
from recordlinkage.algorithms.nb_sklearn import ECM

MISSING = -1  # a missing value is its own level while fitting; it never adds weight
MIN_LABELS_PER_CLASS = 20


class _MultiLevelECM(ECM):
    """recordlinkage's ECM, initialised for agreement levels 0…n instead of only 0/1: at
    the start, matches mostly agree at the top level and non-matches at level 0 (the
    'jaro' start of the binary case, generalised). Missing stays uninformative."""

    def _init_parameters_jaro(self, X_bin: Any) -> tuple[np.ndarray, np.ndarray]:
        feature_prob = []
        for binarizer in self._binarizers:
            classes = list(binarizer.classes_)
            levels = [c for c in classes if c != MISSING]
            top = max(levels) if levels else 0
            for value in classes:
                if value == MISSING:
                    feature_prob.append([0.1, 0.1])
                else:
                    rank = (value / top) if top else 1.0
                    feature_prob.append([0.05 + 0.9 * (1 - rank), 0.05 + 0.9 * rank])
        probabilities = np.array(feature_prob).T
        return np.log([0.9, 0.1]), np.log(probabilities)


def fit_ecm(vectors: list[dict[str, int | None]], levels: dict[str, int],
            random_vectors: list[dict[str, int | None]] | None = None,
            max_iter: int = 200) -> dict[str, Any]:
    """Fellegi–Sunter parameters from the comparison levels of candidate pairs.

    ECM gives m, u and the share of matches among candidate pairs. When well-blocked
    candidates are mostly matches, ECM's u is poorly determined, so ``random_vectors``
    (levels of random record pairs, nearly all non-matches) give u by counting instead.
    A comparison ECM could not estimate (too few pairs) keeps no m; the caller keeps its
    previous values.
    """
    classifier = recordlinkage.ECMClassifier(max_iter=max_iter)
    classifier.kernel = _MultiLevelECM(init="jaro", max_iter=max_iter, atol=1e-5,
                                       binarize=None)
    with np.errstate(divide="ignore", invalid="ignore"):
        classifier.fit(_frame(vectors, levels))
        m_probs, u_probs, share = classifier.m_probs, classifier.u_probs, float(classifier.p)
    m, u = {}, {}
    for name, count in levels.items():
        if _estimated(m_probs.get(name, {})):
            m[name] = _per_level(m_probs[name], count)
        if random_vectors:
            u[name] = _counted(random_vectors, name, count)
        elif _estimated(u_probs.get(name, {})):
            u[name] = _per_level(u_probs[name], count)
    prior = share if np.isfinite(share) else None
    return {"prior": None if prior is None else min(max(prior, 1e-6), 0.999), "m": m, "u": u}


def _estimated(probabilities: dict[Any, float]) -> bool:
    return bool(probabilities) and all(np.isfinite(v) for v in probabilities.values())


def _counted(vectors: list[dict[str, int | None]], name: str, count: int) -> list[float]:
    """Level frequencies among compared (non-missing) pairs, add-one smoothed."""
    seen = [1.0] * count
    for vector in vectors:
        level = vector.get(name)
        if level is not None:
            seen[level] += 1
    total = sum(seen)
    return [round(v / total, 8) for v in seen]


def fit_logistic(vectors: list[dict[str, int | None]], labels: list[bool],
                 levels: dict[str, int]) -> dict[str, Any]:
    """Logistic-regression parameters from labelled pairs (one-hot levels, missing = 0)."""
    if min(sum(labels), len(labels) - sum(labels)) < MIN_LABELS_PER_CLASS:
        raise ValueError(f"need at least {MIN_LABELS_PER_CLASS} match and "
                         f"{MIN_LABELS_PER_CLASS} non-match decisions")
    columns = [(name, level) for name, count in levels.items() for level in range(count)]
    rows = [[1.0 if vector.get(name) == level else 0.0 for name, level in columns]
            for vector in vectors]
    index = pd.MultiIndex.from_tuples([(i, i) for i in range(len(rows))])
    features = pd.DataFrame(rows, index=index, columns=[f"{n}={lv}" for n, lv in columns])
    matches = index[[i for i, label in enumerate(labels) if label]]
    classifier = recordlinkage.LogisticRegressionClassifier()
    classifier.fit(features, matches)
    coefficients: dict[str, list[float]] = {name: [0.0] * count for name, count in levels.items()}
    for (name, level), value in zip(columns, classifier.coefficients, strict=False):
        coefficients[name][level] = float(value)
    return {"intercept": float(np.ravel(classifier.intercept)[0]), "coefficients": coefficients}


def _frame(vectors: list[dict[str, int | None]], levels: dict[str, int]) -> pd.DataFrame:
    data = {name: [MISSING if v.get(name) is None else int(v[name]) for v in vectors]
            for name in levels}
    return pd.DataFrame(data, columns=list(levels))


def _per_level(probabilities: dict[Any, float], count: int) -> list[float]:
    """P(level) for levels 0…count-1, renormalised without the missing level; a level
    never seen gets a small probability rather than zero."""
    values = [max(float(probabilities.get(level, 0.0)), 1e-6) for level in range(count)]
    total = sum(values)
    return [round(v / total, 8) for v in values]
