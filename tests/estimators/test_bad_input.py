"""Every bad input named in the estimators' contract, with the error it raises.

Each case gives the error type and a pattern the message must match: the
message names what is wrong and what was received.
"""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from seqkit.estimators import SequenceClassifier, SequenceForecaster, SequenceTagger
from seqkit.exceptions import InputTypeError, InvalidInputError, InvalidParameterError
from tests.estimators.data import (
    fast_classifier,
    fast_forecaster,
    fast_tagger,
    monthly_series,
    ragged_classification,
    tagging_tokens,
)

X, Y = ragged_classification()
TOKENS, TAGS = tagging_tokens()
SERIES = monthly_series()


@pytest.fixture(scope="module")
def fitted():
    """One fitted estimator of each kind (fit once for the whole module)."""
    return {
        "classifier": fast_classifier().fit(X, Y),
        "tagger": fast_tagger().fit(TOKENS, TAGS),
        "numeric_tagger": fast_tagger().fit([np.ones((len(t), 2)) for t in TAGS], TAGS),
        "forecaster": fast_forecaster().fit(SERIES),
        "covariate_forecaster": fast_forecaster().fit(SERIES, X=np.arange(60.0)),
    }


def _with(sequences, index, step, value):
    """A copy of ``sequences`` with ``value`` at ``[index][step, 0]``."""
    copy = [np.array(s, dtype=float) for s in sequences]
    copy[index][step, 0] = value
    return copy


# (case, estimator kind or None for unfitted, call, error, message pattern)
FIT_CASES = [
    ("nan in X", lambda: fast_classifier().fit(_with(X, 3, 2, np.nan), Y),
     InvalidInputError, r"X contains NaN or inf in sequence 3 at step 2\."),
    ("inf in X", lambda: fast_classifier().fit(_with(X, 0, 1, np.inf), Y),
     InvalidInputError, r"X contains NaN or inf in sequence 0 at step 1\."),
    ("nan in classifier y", lambda: fast_classifier().fit(X, np.r_[np.nan, np.ones(23)]),
     ValueError, r"Input y contains NaN"),
    ("inf in forecaster y", lambda: fast_forecaster().fit(np.r_[np.ones(20), np.inf]),
     InvalidInputError, r"y contains NaN or inf in sequence 0 at step 20\."),
    ("nan in tagger labels", lambda: fast_tagger().fit([[1.0, 2.0]], [[0.0, np.nan]]),
     ValueError, r"Input y contains NaN"),
    ("empty sequence", lambda: fast_classifier().fit([X[0], np.zeros((0, 2))], ["a", "b"]),
     InvalidInputError, r"X must not contain empty sequences\. Sequence 1 has 0 steps\."),
    ("empty token sequence", lambda: fast_tagger().fit([["a"], []], [["O"], []]),
     InvalidInputError, r"Sequence 1 has 0 steps"),
    ("empty series", lambda: fast_forecaster().fit([]),
     InvalidInputError, r"y must not contain empty sequences\. Sequence 0 has 0 steps"),
    ("no sequences", lambda: fast_classifier().fit(np.zeros((0, 5, 2)), []),
     InvalidInputError, r"X must hold at least one sequence\. Got 0"),
    ("series shorter than lookback + horizon",
     lambda: fast_forecaster(lookback=6, horizon=3).fit(np.arange(8.0)),
     InvalidInputError, r"y has 8 steps, fewer than lookback \+ horizon = 9"),
    ("one of many series too short",
     lambda: fast_forecaster(lookback=6, horizon=3).fit([np.arange(20.0), np.arange(5.0)]),
     InvalidInputError, r"Series 1 of y has 5 steps"),
    ("X and y lengths disagree", lambda: fast_classifier().fit(X, Y[:-1]),
     InvalidInputError, r"X and y must hold the same number of sequences\. Got 24 in X and 23"),
    ("tagger labels per step disagree",
     lambda: fast_tagger().fit(TOKENS, [TAGS[0][:-1]] + TAGS[1:]),
     InvalidInputError, r"y\[0\] has 2 labels but sequence 0 of X has 3 steps"),
    ("covariate rows disagree", lambda: fast_forecaster().fit(SERIES, X=np.arange(59.0)),
     InvalidInputError, r"X must have 60 rows \(one per step of y\)\. Got 59\."),
    ("X not 3-D", lambda: fast_classifier().fit(np.zeros(10), np.zeros(10)),
     InvalidInputError, r"X must be a 3-D array .* Got shape \(10,\)"),
    ("one class", lambda: fast_classifier().fit(X, ["a"] * 24),
     InvalidInputError, r"y must hold at least 2 classes .* Got 1 class: \['a'\]"),
    ("continuous labels", lambda: fast_classifier().fit(X, np.linspace(0, 1, 24)),
     ValueError, r"Unknown label type: continuous"),
    ("missing y", lambda: fast_classifier().fit(X, None),
     InvalidInputError, r"SequenceClassifier requires y to be passed"),
    ("mixed token and numeric steps", lambda: fast_tagger().fit([["a", 1.0]], [["O", "O"]]),
     InputTypeError, r"X\[0\] must hold only str tokens\. Got 1\.0"),
]

PARAMETER_CASES = [
    (SequenceClassifier, {"units": 0}, r"'units' parameter of SequenceClassifier must be an int "
     r">= 1\. Got 0"),
    (SequenceClassifier, {"epochs": -1}, r"'epochs' .* must be an int >= 1\. Got -1"),
    (SequenceClassifier, {"batch_size": 0}, r"'batch_size' .* Got 0"),
    (SequenceClassifier, {"num_layers": 0}, r"'num_layers' .* Got 0"),
    (SequenceClassifier, {"learning_rate": 0.0}, r"'learning_rate' .* a float > 0\.0\. Got 0\.0"),
    (SequenceClassifier, {"learning_rate": -1e-3}, r"'learning_rate' .* Got -0\.001"),
    (SequenceClassifier, {"clipnorm": 0.0}, r"'clipnorm' .* Got 0\.0"),
    (SequenceClassifier, {"dropout": 1.0}, r"'dropout' .* in \[0\.0, 1\.0\)\. Got 1\.0"),
    (SequenceClassifier, {"validation_fraction": -0.1}, r"'validation_fraction' .* Got -0\.1"),
    (SequenceClassifier, {"n_iter_no_change": 0}, r"'n_iter_no_change' .* Got 0"),
    (SequenceClassifier, {"tbptt_steps": 0}, r"'tbptt_steps' .* >= 1 or None\. Got 0"),
    (SequenceClassifier, {"cell": "rnn"}, r"'cell' .* one of 'elman', .* Got 'rnn'"),
    (SequenceClassifier, {"early_stopping": True, "validation_fraction": 0.0},
     r"'early_stopping' .* needs validation_fraction > 0"),
    (SequenceTagger, {"embedding_dim": 0}, r"'embedding_dim' parameter of SequenceTagger .* Got 0"),
    (SequenceTagger, {"min_frequency": 0}, r"'min_frequency' .* Got 0"),
    (SequenceForecaster, {"lookback": 0}, r"'lookback' parameter of SequenceForecaster .* Got 0"),
    (SequenceForecaster, {"horizon": -2}, r"'horizon' .* Got -2"),
    (SequenceForecaster, {"seasonal_period": 0}, r"'seasonal_period' .* Got 0"),
    (SequenceForecaster, {"calibration_fraction": 1.0}, r"'calibration_fraction' .* Got 1\.0"),
    (SequenceForecaster, {"scaling": "minmax"}, r"'scaling' .* Got 'minmax'"),
]


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [case[1:] for case in FIT_CASES],
    ids=[case[0] for case in FIT_CASES],
)
def test_bad_training_data_is_refused_with_a_message(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


@pytest.mark.parametrize(
    ("cls", "params", "pattern"),
    PARAMETER_CASES,
    ids=[f"{case[0].__name__}-{next(iter(case[1]))}" for case in PARAMETER_CASES],
)
def test_zero_negative_or_unknown_hyper_parameters_are_refused_in_fit(cls, params, pattern):
    estimator = cls(**params)  # __init__ only stores
    assert estimator.get_params()[next(iter(params))] == params[next(iter(params))]
    data = {SequenceClassifier: (X, Y), SequenceTagger: (TOKENS, TAGS),
            SequenceForecaster: (SERIES,)}[cls]
    with pytest.raises((InvalidParameterError, InputTypeError), match=pattern):
        estimator.fit(*data)


PREDICT_CASES = [
    ("nan in X at predict", "classifier", lambda e: e.predict(_with(X, 1, 0, np.nan)),
     InvalidInputError, r"X contains NaN or inf in sequence 1 at step 0\."),
    ("wrong number of features", "classifier", lambda e: e.predict(np.zeros((2, 5, 3))),
     InvalidInputError, r"X has 3 features, but SequenceClassifier is expecting 2 features"),
    ("wrong number of features, tagger", "numeric_tagger",
     lambda e: e.predict([np.zeros((4, 1))]),
     InvalidInputError, r"X has 1 features, but SequenceTagger is expecting 2 features"),
    ("unseen label in score", "classifier", lambda e: e.score(X, ["sideways"] + list(Y[1:])),
     InvalidInputError, r"y contains labels that SequenceClassifier never saw in fit: "
     r"\['sideways'\]"),
    ("unseen tag in score", "tagger",
     lambda e: e.score(TOKENS, [["B-ORG", "O", "O"]] + TAGS[1:]),
     InvalidInputError, r"never saw in fit: \['B-ORG'\]"),
    ("numbers for a token tagger", "tagger", lambda e: e.predict([np.zeros((3, 2))]),
     InputTypeError, r"was fit on token sequences, so X must hold them too\. Got numeric"),
    ("history shorter than lookback", "forecaster", lambda e: e.predict(y=np.arange(4.0)),
     InvalidInputError, r"y has 4 steps, fewer than lookback = 6"),
    ("horizon beyond the fitted one", "forecaster", lambda e: e.predict(horizon=4),
     InvalidParameterError, r"'horizon' parameter of SequenceForecaster.predict must be an int "
     r"in \[1, 3\]\. Got 4"),
    ("covariates missing", "covariate_forecaster", lambda e: e.predict(),
     InvalidInputError, r"fit with 1 covariates, so X must give them .* Got X=None"),
    ("future covariates too short", "covariate_forecaster",
     lambda e: e.predict(X=np.zeros(2)),
     InvalidInputError, r"X must have 3 rows \(the 3 steps after the training data\)\. Got 2"),
    ("too many covariates", "covariate_forecaster",
     lambda e: e.predict(X=np.zeros((3, 2))),
     InvalidInputError, r"X has 2 covariates per step, but the model was fit with 1"),
    ("too many targets", "forecaster", lambda e: e.predict(y=np.zeros((10, 2))),
     InvalidInputError, r"y has 2 targets per step, but the model was fit with 1"),
    ("coverage out of range", "forecaster", lambda e: e.predict_interval(coverage=1.0),
     InvalidParameterError, r"'coverage' .* Got 1\.0"),
]


@pytest.mark.parametrize(
    ("kind", "call", "error", "pattern"),
    [case[1:] for case in PREDICT_CASES],
    ids=[case[0] for case in PREDICT_CASES],
)
def test_bad_prediction_data_is_refused_with_a_message(fitted, kind, call, error, pattern):
    with pytest.raises(error, match=pattern):
        call(fitted[kind])


UNFITTED_CALLS = [
    (SequenceClassifier, "predict", (X,)),
    (SequenceClassifier, "predict_proba", (X,)),
    (SequenceClassifier, "score", (X, Y)),
    (SequenceTagger, "predict", (TOKENS,)),
    (SequenceTagger, "score", (TOKENS, TAGS)),
    (SequenceForecaster, "predict", ()),
    (SequenceForecaster, "predict_interval", ()),
    (SequenceForecaster, "score", (SERIES,)),
]


@pytest.mark.parametrize(
    ("cls", "method", "args"),
    UNFITTED_CALLS,
    ids=[f"{c.__name__}.{m}" for c, m, _ in UNFITTED_CALLS],
)
def test_calling_predict_before_fit_raises_not_fitted_error(cls, method, args):
    with pytest.raises(NotFittedError, match=f"This {cls.__name__} instance is not fitted yet"):
        getattr(cls(), method)(*args)
