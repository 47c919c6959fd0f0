"""Tiny data sets and fast settings for the estimator tests."""

import numpy as np
import pandas as pd

from seqkit.estimators import SequenceClassifier, SequenceForecaster, SequenceTagger

FAST = {"units": 4, "epochs": 2, "batch_size": 8, "random_state": 0, "bidirectional": False,
        "validation_fraction": 0.1}
"""Parameters that keep a fit under a second or two."""


def ragged_classification(n=24, seed=0):
    """Sequences of 3 to 8 steps with 2 features; the label says whether feature 0 is positive."""
    rng = np.random.default_rng(seed)
    X = [rng.normal(size=(length, 2)) for length in rng.integers(3, 9, n)]
    y = np.array(["up" if x[:, 0].mean() > 0 else "down" for x in X])
    return X, y


SENTENCES = [
    (["Ada", "visited", "Paris"], ["B-PER", "O", "B-LOC"]),
    (["Alan", "Turing", "left", "London"], ["B-PER", "I-PER", "O", "B-LOC"]),
    (["Paris", "is", "big"], ["B-LOC", "O", "O"]),
    (["Grace", "saw", "Ada"], ["B-PER", "O", "B-PER"]),
    (["London", "and", "Paris"], ["B-LOC", "O", "B-LOC"]),
    (["Ada", "Lovelace", "wrote"], ["B-PER", "I-PER", "O"]),
]


def tagging_tokens(repeat=3):
    """Token sentences with IOB2 entity tags."""
    X = [list(tokens) for tokens, _ in SENTENCES] * repeat
    y = [list(tags) for _, tags in SENTENCES] * repeat
    return X, y


def numeric_tagging(lengths=(5, 9, 2, 7), seed=0):
    """Numeric sequences with 3 features; each step's label says whether feature 0 is positive."""
    rng = np.random.default_rng(seed)
    X = [rng.normal(size=(n, 3)) for n in lengths]
    return X, [(x[:, 0] > 0).astype(int) for x in X]


def monthly_series(n=60, seed=0):
    """A noisy seasonal monthly pandas Series."""
    rng = np.random.default_rng(seed)
    values = 10 + np.sin(np.arange(n) * 2 * np.pi / 12) + 0.1 * rng.normal(size=n)
    return pd.Series(values, index=pd.date_range("2001-01-01", periods=n, freq="MS"), name="sales")


def fast_classifier(**params):
    return SequenceClassifier(**{**FAST, **params})


def fast_tagger(**params):
    """A tagger with a softmax output and no sub-word features unless ``params`` say so
    (the defaults choose both from the data; tests/estimators/test_budget.py checks them)."""
    return SequenceTagger(**{**FAST, "crf": False, "subword_features": False, **params})


def fast_forecaster(**params):
    return SequenceForecaster(**{**FAST, "lookback": 6, "horizon": 3, **params})


def fitted_outputs(estimator, kind):
    """Fit ``estimator`` on the tiny data of ``kind`` and return its predictions as one array."""
    if kind == "classifier":
        X, y = ragged_classification()
        return estimator.fit(X, y).predict_proba(X)
    if kind == "tagger":
        X, y = tagging_tokens()
        return np.concatenate(estimator.fit(X, y).predict_proba(X))
    return estimator.fit(monthly_series()).predict().to_numpy()


FACTORIES = {"classifier": fast_classifier, "tagger": fast_tagger, "forecaster": fast_forecaster}
