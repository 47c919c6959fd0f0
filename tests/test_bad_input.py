"""The bad-input catalogue: what seqkit refuses, at each of its doors, and how.

Doors: the Python API (estimators, layers, data files, model files), the command
lines (``python -m pipelines.<task>`` and ``seqkit``), ``mlflow run``
parameters, and the serving endpoint (``seqkit serve``). Every case checks:

- the exact error type, exit status or HTTP status, and a message naming the
  problem and what was received;
- no traceback from inside TensorFlow or Keras (not even as the cause);
- nothing written (the folders involved are unchanged), no MLflow run left
  FINISHED;
- at the serving door, the server still answers afterwards.

``catalogue_size()`` counts the cases; the README states the number.
"""

import hashlib
import inspect
import json
import pickle
import re
import shutil
import socket
import subprocess
import sys
import traceback
from functools import partial
from http.client import HTTPConnection
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from pipelines import __main__ as main_job
from pipelines import classification, forecasting, tagging, tune
from pipelines._job import entry_points
from seqkit import datasets, export
from seqkit.cells import ElmanRNN, PeepholeLSTM
from seqkit.cli import main as seqkit_main
from seqkit.estimators import SequenceClassifier, SequenceForecaster, SequenceTagger
from seqkit.exceptions import (
    DataIntegrityError,
    InputTypeError,
    InvalidInputError,
    InvalidParameterError,
)
from seqkit.metrics import entity_f1
from seqkit.model_selection import BacktestSplit, backtest
from tests.estimators.data import (
    fast_classifier,
    fast_forecaster,
    fast_tagger,
    monthly_series,
    ragged_classification,
    tagging_tokens,
)
from tests.helpers.datasets import accept_current_checksum, copy_data_files
from tests.helpers.exports import SUBPROCESS_ENV, fake_export, fitted
from tests.helpers.pipelines import diverging_fit, mlflow_run
from tests.helpers.servers import free_port, http, running

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ROOT = Path(__file__).resolve().parents[1]
SEQKIT = str(Path(sys.executable).with_name("seqkit"))
X, Y = ragged_classification()
TOKENS, TAGS = tagging_tokens()
SERIES = monthly_series()


def _deep_frames(error):
    """Frames inside TensorFlow or Keras in the traceback Python would print for ``error``."""
    deep = []
    while error is not None:
        for frame in traceback.extract_tb(error.__traceback__):
            if re.search(r"[/\\](tensorflow|keras|tf_keras)[/\\]", frame.filename):
                deep.append(f"{frame.filename}:{frame.lineno}")
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    return deep


def _snapshot(folder, *, tracking=False):
    """Every file under ``folder`` with its content's digest; ``tracking`` leaves out the
    MLflow store (``mlflow.db``, ``mlruns/``), where a failed run is recorded."""
    files = {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(Path(folder).rglob("*")) if p.is_file()}
    return {name: digest for name, digest in files.items()
            if not (tracking and (name == "mlflow.db" or name.startswith("mlruns/")))}


def assert_refused(call, error, pattern, folder):
    """``call()`` raises exactly ``error`` matching ``pattern``, from seqkit, writing nothing."""
    before = _snapshot(folder)
    with pytest.raises(error, match=pattern) as caught:
        call()
    assert type(caught.value) is error, f"{type(caught.value).__name__}: {caught.value}"
    assert not _deep_frames(caught.value), _deep_frames(caught.value)
    assert _snapshot(folder) == before


# ======================================================================= the Python API


@pytest.fixture(scope="module")
def estimators():
    """One fitted estimator of each kind (fit once for the whole module)."""
    return {
        "classifier": fast_classifier().fit(X, Y),
        "tagger": fast_tagger().fit(TOKENS, TAGS),
        "numeric_tagger": fast_tagger().fit(_frames([np.ones((len(t), 2)) for t in TAGS]), TAGS),
        "forecaster": fast_forecaster().fit(SERIES),
        "covariate_forecaster": fast_forecaster().fit(SERIES, X=np.arange(60.0)),
    }


def _frames(sequences, columns=("speed", "heading")):
    """``sequences`` as DataFrames with the named feature columns."""
    return [pd.DataFrame(x, columns=list(columns)) for x in sequences]


def _with(sequences, index, step, value):
    """A copy of ``sequences`` with ``value`` at ``[index][step, 0]``."""
    copy = [np.array(s, dtype=float) for s in sequences]
    copy[index][step, 0] = value
    return copy


def _on(index, series=SERIES):
    """The first ``len(index)`` values of ``series`` on another ``index``."""
    return pd.Series(series.to_numpy()[: len(index)], index=index)


# (case, call, error, message pattern)
FIT_CASES = [
    ("DataFrames with different columns",
     lambda: fast_classifier().fit(_frames(X[:12]) + _frames(X[12:], ("heading", "speed")), Y),
     InvalidInputError, r"The DataFrames of X must have the same columns, in the same order: "
     r"they are the features\. X\[0\] has \['speed', 'heading'\]; X\[12\] has \['heading', "
     r"'speed'\]\."),
    ("nan in X", lambda: fast_classifier().fit(_with(X, 3, 2, np.nan), Y),
     InvalidInputError, r"X contains NaN or inf in sequence 3 at step 2\."),
    ("inf in X", lambda: fast_classifier().fit(_with(X, 0, 1, np.inf), Y),
     InvalidInputError, r"X contains NaN or inf in sequence 0 at step 1\."),
    ("classifier X beyond float32", lambda: fast_classifier().fit(_with(X, 2, 1, -1e39), Y),
     InvalidInputError, r"X\[2\] must hold values within float32's range \(magnitude up to "
     r"3\.4e38\).* Got -1e\+39 at step 1\."),
    ("1-D X beyond float32", lambda: fast_classifier().fit(np.array([1e39, 1.0]), ["a"]),
     InvalidInputError, r"X must be .* Got shape \(2,\)\. Reshape your data"),
    ("classifier 3-D X beyond float32",
     lambda: fast_classifier().fit(np.full((2, 3, 2), 1e39), ["a", "b"]),
     InvalidInputError, r"X must hold .* Got 1e\+39 in sequence 0 at step 0\."),
    ("nan in classifier y", lambda: fast_classifier().fit(X, np.r_[np.nan, np.ones(23)]),
     ValueError, r"Input y contains NaN"),
    ("inf in forecaster y", lambda: fast_forecaster().fit(np.r_[np.ones(20), np.inf]),
     InvalidInputError, r"y contains NaN or inf in sequence 0 at step 20\."),
    # Read in float32 as the exports read it: inf, where the estimator had forecast.
    ("forecaster y beyond float32", lambda: fast_forecaster().fit(np.r_[np.ones(20), 1e39]),
     InvalidInputError, r"y must hold values within float32's range \(magnitude up to "
     r"3\.4e38\).* Got 1e\+39 in sequence 0 at step 20\."),
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
    ("series of one step",
     lambda: fast_forecaster(lookback=6, horizon=3).fit(np.arange(1.0)),
     InvalidInputError, r"y must have at least 2 steps: a training window needs one step of "
                        r"history and one target\. Got 1 step\."),
    ("one of many series too short",
     lambda: fast_forecaster(lookback=6, horizon=3).fit([np.arange(20.0), np.arange(1.0)]),
     InvalidInputError, r"Series 1 of y must have at least 2 steps"),
    ("X and y lengths disagree", lambda: fast_classifier().fit(X, Y[:-1]),
     InvalidInputError, r"X and y must hold the same number of sequences\. Got 24 in X and 23"),
    ("tagger labels per step disagree",
     lambda: fast_tagger().fit(TOKENS, [TAGS[0][:-1]] + TAGS[1:]),
     InvalidInputError, r"y\[0\] has 2 labels but sequence 0 of X has 3 steps"),
    ("covariate rows disagree", lambda: fast_forecaster().fit(SERIES, X=np.arange(59.0)),
     InvalidInputError, r"X must have 60 rows \(one per step of y\)\. Got 59\."),
    ("newest-first series index", lambda: fast_forecaster().fit(SERIES.iloc[::-1]),
     InvalidInputError, r"The index of y must increase with time \(oldest first\)\. Got a "
     r"newest-first index, from 2005-12-01 down to 2001-01-01 .*y = y\.sort_index\(\)\."),
    ("duplicate timestamp in a series index",
     lambda: fast_forecaster().fit(_on(SERIES.index.delete(7).insert(7, SERIES.index[6]))),
     InvalidInputError, r"The index of y must not hold duplicate dates\. Got the duplicate "
     r"2001-07-01 at positions 6 and 7"),
    ("NaT in a series index",
     lambda: fast_forecaster().fit(_on(SERIES.index.insert(3, pd.NaT)[:60])),
     InvalidInputError, r"The index of y must not contain NaT \(a missing date\)\. Got NaT at "
     r"position 3"),
    ("tz-aware series, naive covariates",
     lambda: fast_forecaster().fit(SERIES.tz_localize("UTC"), X=_on(SERIES.index)),
     InvalidInputError, r"The index of X must be time-zone aware like the index of y \(UTC\)\. "
     r"Got a naive index; .*X = X\.tz_localize\('UTC'\)"),
    ("X not 3-D", lambda: fast_classifier().fit(np.zeros(10), np.zeros(10)),
     InvalidInputError, r"X must be a 3-D array .* Got shape \(10,\)"),
    ("string dtype X", lambda: fast_classifier().fit(np.full((4, 3, 2), "a"), Y[:4]),
     InputTypeError, r"X must hold numbers"),
    ("one class", lambda: fast_classifier().fit(X, ["a"] * 24),
     InvalidInputError, r"y must hold at least 2 classes .* Got 1 class: \['a'\]"),
    ("continuous labels", lambda: fast_classifier().fit(X, np.linspace(0, 1, 24)),
     ValueError, r"Unknown label type: continuous"),
    ("missing y", lambda: fast_classifier().fit(X, None),
     InvalidInputError, r"SequenceClassifier requires y to be passed"),
    ("mixed token and numeric steps", lambda: fast_tagger().fit([["a", 1.0]], [["O", "O"]]),
     InputTypeError, r"X\[0\] must hold only str tokens\. Got 1\.0"),
    ("None as a class label", lambda: fast_classifier().fit(X, ["a", None] * 12),
     InputTypeError, r"y must not hold None as a label\. Got None at position 1\."),
    ("str and int class labels", lambda: fast_classifier().fit(X, np.array(["a", 1] * 12,
                                                                          dtype=object)),
     InputTypeError, r"y must hold labels of one type: all str, or all numbers or bools\. "
     r"Got 'a' at position 0 and 1 of type int at position 1\."),
    ("None as a tag", lambda: fast_tagger().fit([["a", "b"]] * 2, [["B-PER", "O"], ["O", None]]),
     InputTypeError, r"y must not hold None as a label\. Got None at sequence 1, step 1\."),
    ("one tag", lambda: fast_tagger().fit([["a", "b"], ["c"]], [["O", "O"], ["O"]]),
     InvalidInputError, r"y must hold at least 2 labels for SequenceTagger: with one, every "
     r"step of every sequence gets it\. Got 1 label: \['O'\]\."),
    ("None as a token", lambda: fast_tagger().fit([["John", None]], [["B-PER", "O"]]),
     InputTypeError, r"X\[0\] must hold only str tokens\. Got None of type NoneType\."),
    ("a token that is not Unicode text", lambda: fast_tagger().fit([["John", "\ud800"]],
                                                                    [["B-PER", "O"]]),
     InvalidInputError, r"X\[0\] must hold tokens that are valid Unicode text \(UTF-8\)\. Got "
     r"'\\ud800': surrogates not allowed\."),
    # NumPy's str arrays drop it: the network got the padding id at a step counted as real.
    ("a str array for a token tagger", lambda: fast_tagger().fit(TOKENS, TAGS).predict(
        np.array([["John", "left"]])),
     InputTypeError, r"SequenceTagger was fit on token sequences, so X must hold them too\. Got "
     r"an array of dtype <U4; token sequences are a list of lists of str"),
    ("unsplit sentences to fit", lambda: fast_tagger().fit(["John left", "Ada came"],
                                                            [["B-PER", "O"]] * 2),
     InputTypeError, r"X\[0\] must be a sequence of str tokens, such as \['John', 'left'\]\. Got "
     r"one str, 'John left': split each sentence into its tokens\."),
    ("an empty str for a sentence", lambda: fast_tagger().fit(TOKENS, TAGS).predict([" "]),
     InputTypeError, r"X\[0\] must be a sequence of str tokens, such as \['Ada', 'left'\]\. Got "
     r"one str, ' '"),
    ("an unsplit sentence to predict", lambda: fast_tagger().fit(TOKENS, TAGS).predict(
        [["John", "left"], "Ada came back"]),
     InputTypeError, r"X\[1\] must be a sequence of str tokens, such as \['Ada', 'came', "
     r"'back'\]\. Got one str"),
    ("a NUL character in a token", lambda: fast_tagger().fit([["John", "\x00"]],
                                                              [["B-PER", "O"]]),
     InvalidInputError, r"X\[0\] must hold tokens without the NUL character '\\x00'.* "
     r"Got '\\x00'\."),
    ("empty sequence after strings", lambda: fast_classifier().fit([["a", "b"], []], ["u", "v"]),
     InvalidInputError, r"X must not contain empty sequences\. Sequence 1 has 0 steps\."),
]


@pytest.mark.parametrize(("call", "error", "pattern"), [case[1:] for case in FIT_CASES],
                         ids=[case[0] for case in FIT_CASES])
def test_bad_training_data(call, error, pattern, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert_refused(call, error, pattern, tmp_path)


# (estimator class, bad parameters, error, message pattern)
PARAMETER_CASES = [
    (SequenceClassifier, {"units": 0}, InvalidParameterError,
     r"'units' parameter of SequenceClassifier must be an int >= 1\. Got 0"),
    (SequenceClassifier, {"units": 2.5}, InputTypeError, r"'units' .* an int >= 1\. Got 2\.5"),
    (SequenceClassifier, {"epochs": -1}, InvalidParameterError,
     r"'epochs' .* must be an int >= 1 or \"auto\"\. Got -1"),
    (SequenceClassifier, {"step_pooling": None}, InputTypeError,
     r"'step_pooling' .* must be an int >= 1 or \"auto\"\. Got None"),
    (SequenceTagger, {"crf": "maybe"}, InputTypeError,
     r"'crf' parameter of SequenceTagger must be a bool or \"auto\"\. Got 'maybe'"),
    (SequenceClassifier, {"batch_size": 0}, InvalidParameterError, r"'batch_size' .* Got 0"),
    (SequenceClassifier, {"num_layers": 0}, InvalidParameterError, r"'num_layers' .* Got 0"),
    (SequenceClassifier, {"learning_rate": 0.0}, InvalidParameterError,
     r"'learning_rate' .* a float > 0\.0\. Got 0\.0"),
    (SequenceClassifier, {"learning_rate": -1e-3}, InvalidParameterError,
     r"'learning_rate' .* Got -0\.001"),
    (SequenceClassifier, {"global_clipnorm": 0.0}, InvalidParameterError,
     r"'global_clipnorm' .* Got 0\.0"),
    (SequenceClassifier, {"clipnorm": 0.0}, InvalidParameterError, r"'clipnorm' .* Got 0\.0"),
    (SequenceClassifier, {"clipnorm": 0.5, "global_clipnorm": 2.0}, InvalidParameterError,
     r"'clipnorm' parameter of SequenceClassifier was renamed 'global_clipnorm': set only "
     r"'global_clipnorm'\. Got global_clipnorm=2\.0 and clipnorm=0\.5\."),
    (SequenceClassifier, {"dropout": 1.0}, InvalidParameterError,
     r"'dropout' .* in \[0\.0, 1\.0\)\. Got 1\.0"),
    (SequenceClassifier, {"validation_fraction": -0.1}, InvalidParameterError,
     r"'validation_fraction' .* in \[0\.0, 1\.0\) or \"auto\"\. Got -0\.1"),
    (SequenceClassifier, {"label_smoothing": 1.0}, InvalidParameterError,
     r"'label_smoothing' parameter of SequenceClassifier .* in \[0\.0, 1\.0\)\. Got 1\.0"),
    (SequenceClassifier, {"n_iter_no_change": 0}, InvalidParameterError,
     r"'n_iter_no_change' .* Got 0"),
    (SequenceClassifier, {"tbptt_steps": 0}, InvalidParameterError,
     r"'tbptt_steps' .* >= 1 or None\. Got 0"),
    (SequenceClassifier, {"cell": "rnn"}, InvalidParameterError,
     r"'cell' .* one of 'elman', .* Got 'rnn'"),
    (SequenceClassifier, {"early_stopping": True, "validation_fraction": 0.0},
     InvalidParameterError, r"'early_stopping' .* needs validation_fraction > 0"),
    (SequenceTagger, {"embedding_dim": 0}, InvalidParameterError,
     r"'embedding_dim' parameter of SequenceTagger .* Got 0"),
    (SequenceTagger, {"min_frequency": 0}, InvalidParameterError, r"'min_frequency' .* Got 0"),
    (SequenceForecaster, {"lookback": 0}, InvalidParameterError,
     r"'lookback' parameter of SequenceForecaster must be an int >= 1 or \"auto\"\. Got 0"),
    (SequenceForecaster, {"horizon": -2}, InvalidParameterError, r"'horizon' .* Got -2"),
    (SequenceForecaster, {"season_length": 0}, InvalidParameterError,
     r"'season_length' .* Got 0"),
    (SequenceForecaster, {"seasonal_period": 0}, InvalidParameterError,
     r"'seasonal_period' .* Got 0"),
    (SequenceForecaster, {"seasonal_period": 12, "season_length": 4}, InvalidParameterError,
     r"'seasonal_period' .* was renamed 'season_length': set only 'season_length'\. Got "
     r"season_length=4 and seasonal_period=12\."),
    (SequenceForecaster, {"calibration_fraction": 1.0}, InvalidParameterError,
     r"'calibration_fraction' .* Got 1\.0"),
    (SequenceForecaster, {"scaling": "minmax"}, InvalidParameterError,
     r"'scaling' .* Got 'minmax'"),
    (SequenceForecaster, {"relative_to": "naive"}, InvalidParameterError,
     r"The 'relative_to' parameter of SequenceForecaster must be one of 'seasonal_naive', "
     r"'last'\. Got 'naive' instead\."),
]


@pytest.mark.parametrize(
    ("cls", "params", "error", "pattern"), PARAMETER_CASES,
    ids=[f"{case[0].__name__}-{next(iter(case[1]))}={next(iter(case[1].values()))}"
         for case in PARAMETER_CASES],
)
def test_bad_parameters_are_refused_in_fit(cls, params, error, pattern, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    estimator = cls(**params)  # __init__ only stores: the defaults and the values given
    defaults = {name: p.default for name, p in inspect.signature(cls).parameters.items()}
    assert vars(estimator) == {**defaults, **params}
    data = {SequenceClassifier: (X, Y), SequenceTagger: (TOKENS, TAGS),
            SequenceForecaster: (SERIES,)}[cls]
    assert_refused(lambda: estimator.fit(*data), error, pattern, tmp_path)


# (case, fitted estimator, call, error, message pattern)
PREDICT_CASES = [
    ("nan in X at predict", "classifier", lambda e: e.predict(_with(X, 1, 0, np.nan)),
     InvalidInputError, r"X contains NaN or inf in sequence 1 at step 0\."),
    ("wrong number of features", "classifier", lambda e: e.predict(np.zeros((2, 5, 3))),
     InvalidInputError, r"X has 3 features, but SequenceClassifier is expecting 2 features"),
    ("wrong number of features, tagger", "numeric_tagger",
     lambda e: e.predict([np.zeros((4, 1))]),
     InvalidInputError, r"X has 1 features, but SequenceTagger is expecting 2 features"),
    ("reordered columns, tagger", "numeric_tagger",
     lambda e: e.predict(_frames([np.ones((4, 2))], ("heading", "speed"))),
     InvalidInputError, r"The columns of X must be the features SequenceTagger was fit on, in "
     r"the same order: \['speed', 'heading'\]\. Got \['heading', 'speed'\] \(another order: "
     r"select the features in that order, frame\[\['speed', 'heading'\]\] for each DataFrame "
     r"of X\)\."),
    ("an unknown column, tagger", "numeric_tagger",
     lambda e: e.predict(_frames([np.ones((4, 2))], ("speed", "bearing"))),
     InvalidInputError, r"Got \['speed', 'bearing'\] \(missing \['heading'\], unexpected "
     r"\['bearing'\]\)\."),
    ("unseen label in score", "classifier", lambda e: e.score(X, ["sideways"] + list(Y[1:])),
     InvalidInputError, r"y contains labels that SequenceClassifier never saw in fit: "
     r"\['sideways'\]"),
    ("unseen tag in score", "tagger",
     lambda e: e.score(TOKENS, [["B-ORG", "O", "O"]] + TAGS[1:]),
     InvalidInputError, r"never saw in fit: \['B-ORG'\]"),
    ("numbers for a token tagger", "tagger", lambda e: e.predict([np.zeros((3, 2))]),
     InputTypeError, r"was fit on token sequences, so X must hold them too\. Got numeric"),
    ("empty history", "forecaster", lambda e: e.predict(y=np.arange(0.0)),
     InvalidInputError, r"y must not contain empty sequences\. Sequence 0 has 0 steps"),
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
    ("an empty token sequence alone", "tagger", lambda e: e.predict([[]]),
     InvalidInputError, r"X must not contain empty sequences\. Sequence 0 has 0 steps\."),
    ("entity F1 of no sequences", "tagger", lambda e: entity_f1([], []),
     InvalidInputError, r"entity_f1 takes y_true as a list of label sequences, one list of "
     r"labels per sequence, .* and at least one sequence\. Got 0 sequences\."),
    ("gap in a history's index", "forecaster", lambda e: e.predict(y=SERIES.drop(SERIES.index[5])),
     InvalidInputError, r"The index of y must be regular, at the frequency 'MS'\. Got a gap after "
     r"2001-05-01: the next date is 2001-07-01, expected 2001-06-01"),
    ("string index on covariates", "covariate_forecaster",
     lambda e: e.predict(X=pd.Series(np.zeros(3), index=["2006-01", "2006-02", "2006-03"])),
     InputTypeError, r"The index of X must be a DatetimeIndex, PeriodIndex or integer index\. "
     r"Got an index of strings \('2006-01', '2006-02', \.\.\.\); parse it first"),
]


@pytest.mark.parametrize(("kind", "call", "error", "pattern"),
                         [case[1:] for case in PREDICT_CASES],
                         ids=[case[0] for case in PREDICT_CASES])
def test_bad_prediction_data(estimators, kind, call, error, pattern, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert_refused(lambda: call(estimators[kind]), error, pattern, tmp_path)


UNFITTED_CALLS = [
    (SequenceClassifier, "predict", (X,)),
    (SequenceClassifier, "predict_proba", (X,)),
    (SequenceClassifier, "score", (X, Y)),
    (SequenceTagger, "predict", (TOKENS,)),
    (SequenceTagger, "score", (TOKENS, TAGS)),
    (SequenceForecaster, "predict", ()),
    (SequenceForecaster, "predict_interval", ()),
    (SequenceForecaster, "score", (SERIES,)),
    (SequenceClassifier, "export", ("model",)),
]


@pytest.mark.parametrize(("cls", "method", "args"), UNFITTED_CALLS,
                         ids=[f"{c.__name__}.{m}" for c, m, _ in UNFITTED_CALLS])
def test_unfitted_estimators_refuse_to_predict(cls, method, args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert_refused(lambda: getattr(cls(), method)(*args), NotFittedError,
                   f"This {cls.__name__} instance is not fitted yet", tmp_path)


def _quantile_forecaster(quantiles):
    return fast_forecaster(loss="quantile", quantiles=quantiles)


_QUANTILE_RULE = (r"The 'quantiles' parameter of SequenceForecaster must be a sequence of floats "
                  r"in \(0, 1\), increasing, including 0\.5\. ")

# (case, call(fitted estimators by kind), error, message pattern): backtests, quantile forecasts
FORECAST_EVALUATION_CASES = [
    ("backtest windows that leave no training data",
     lambda e: backtest(fast_forecaster(), SERIES, n_windows=20), InvalidParameterError,
     r"The 'n_windows' parameter of backtest leaves y 0 steps before its first cut-off "
     r"\(n_windows=20, step_size=3, horizon=3\); the fit there needs at least \d+\. Got "
     r"n_windows=20; lower n_windows or step_size"),
    ("backtest windows of a series too short for one",
     lambda e: backtest(fast_forecaster(), SERIES[:4], n_windows=2), InvalidParameterError,
     r"leaves y 0 steps before its first cut-off .* Got n_windows=2; even one window leaves 1: "
     r"give longer series, or a shorter horizon or a model that needs fewer steps \(a "
     r"shorter lookback\)\."),
    ("backtest step_size below 1",
     lambda e: backtest(fast_forecaster(), SERIES, n_windows=2, step_size=0),
     InvalidParameterError, r"The 'step_size' parameter of backtest must be an int >= 1 or "
     r"None\. Got 0 instead\."),
    ("backtest refit every 0 windows",
     lambda e: backtest(fast_forecaster(), SERIES, n_windows=2, refit=0),
     InvalidParameterError, r"The 'refit' parameter of backtest must be an int >= 1\. Got 0"),
    ("backtest splits of many series",
     lambda e: list(BacktestSplit(2, horizon=3).split([SERIES, SERIES])), InvalidInputError,
     r"BacktestSplit splits the steps of one series\. Got a list of 2 series"),
    ("quantiles outside (0, 1)", lambda e: _quantile_forecaster((0.1, 0.5, 1.5)).fit(SERIES),
     InvalidParameterError, _QUANTILE_RULE + r"Got \(0\.1, 0\.5, 1\.5\) instead: 1\.5 is "
     r"outside \(0, 1\)\."),
    ("unsorted quantiles", lambda e: _quantile_forecaster((0.9, 0.5, 0.1)).fit(SERIES),
     InvalidParameterError, _QUANTILE_RULE + r"Got \(0\.9, 0\.5, 0\.1\) instead: they must "
     r"increase; sort them: \(0\.1, 0\.5, 0\.9\)\."),
    ("repeated quantiles", lambda e: _quantile_forecaster([0.1, 0.5, 0.5]).fit(SERIES),
     InvalidParameterError, _QUANTILE_RULE + r"Got \[0\.1, 0\.5, 0\.5\] instead: 0\.5 is "
     r"repeated\."),
    ("quantiles without the median", lambda e: _quantile_forecaster((0.1, 0.9)).fit(SERIES),
     InvalidParameterError, _QUANTILE_RULE + r"Got \(0\.1, 0\.9\) instead: 0\.5 is missing"),
    ("a season longer than the series in score",
     lambda e: fast_forecaster(season_length=100).fit(SERIES[:40]).score(SERIES[40:43]),
     InvalidInputError, r"score is -MASE, which scales .* season_length=100: that needs "
     r"training series of more than 100 steps, and series 0 was fit on 40\."),
    ("unknown loss", lambda e: fast_forecaster(loss="pinball").fit(SERIES),
     InvalidParameterError, r"The 'loss' parameter of SequenceForecaster must be one of 'mae', "
     r"'mse', 'quantile'\. Got 'pinball' instead\."),
    ("predict_quantiles on a point model", lambda e: e["forecaster"].predict_quantiles(),
     InvalidParameterError, r"SequenceForecaster\.predict_quantiles needs a model fit with "
     r"loss='quantile'\. Got a model fit with loss='mae' \(a point forecaster\)"),
]


@pytest.mark.parametrize(("call", "error", "pattern"),
                         [case[1:] for case in FORECAST_EVALUATION_CASES],
                         ids=[case[0] for case in FORECAST_EVALUATION_CASES])
def test_bad_backtests_and_quantile_forecasts(estimators, call, error, pattern, tmp_path,
                                              monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert_refused(lambda: call(estimators), error, pattern, tmp_path)


# (case, call, error, message pattern): the recurrent layers, called as Keras' own are
_LAYER_INPUT = np.zeros((2, 1, 1), "float32")
LAYER_CASES = [
    ("initial state of neither batch 1 nor the input's",
     lambda: ElmanRNN(1)(_LAYER_INPUT, initial_state=[np.zeros((3, 1), "float32")]),
     InvalidInputError, r"The 'initial_state' argument of ElmanRNN must be a tensor .* where "
     r"batch is 1 or the batch of the sequences \(2\)\. Got shapes \[\(3, 1\)\]\."),
    ("mask with more steps than the input",
     lambda: PeepholeLSTM(1, peepholes=None)(_LAYER_INPUT, mask=np.ones((2, 4), bool)),
     InvalidInputError, r"The 'mask' argument of PeepholeLSTM must be a \(batch, timesteps\) "
     r"tensor .* Got shape \(2, 4\) for sequences of shape \(2, 1, 1\)\."),
    ("use_cudnn outside Keras' choices",
     lambda: PeepholeLSTM(4, peepholes=None, use_cudnn="always"),
     InvalidParameterError, r"The 'use_cudnn' parameter of PeepholeLSTM must be one of 'auto', "
     r"True, False\. Got 'always' instead\."),
]


@pytest.mark.parametrize(("call", "error", "pattern"), [case[1:] for case in LAYER_CASES],
                         ids=[case[0] for case in LAYER_CASES])
def test_bad_layer_arguments_and_inputs(call, error, pattern, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert_refused(call, error, pattern, tmp_path)


# ----------------------------------------------------------------------- data and model files


def _edited(name, file_name, edit, folder, monkeypatch, *, accept=True):
    """Data set ``name`` copied to ``folder`` with ``edit(text)`` applied to one file.

    With ``accept`` the registry takes the edited file's checksum, so the
    parser, not the checksum, meets the damage.
    """
    path = copy_data_files(name, folder) / file_name
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    if accept:
        accept_current_checksum(monkeypatch, name, path)
    return folder


def _bad_ts_value(text):
    lines = text.split("\n")
    first = lines.index("@data") + 1
    lines[first] = lines[first].replace(",", ",x", 1)
    return "\n".join(lines)


def _bad_iob2_tag(text):
    lines = text.split("\n")
    lines[4] = lines[4].rsplit("\t", 1)[0] + "\tX-DAT"
    return "\n".join(lines)


def _without(name, file_name, folder):
    (copy_data_files(name, folder) / file_name).unlink()
    return folder


def _with_file(folder, name, content):
    (folder / name).write_bytes(content)
    return folder / name


def _corrupt_saved_model(folder):
    export_folder = fake_export(folder / "model")
    _with_file(export_folder, "saved_model.pb", b"\x00garbage")
    return export_folder


@pytest.fixture(scope="module")
def exported_classifier(tmp_path_factory):
    return export.export_saved_model(fitted("classifier"),
                                     tmp_path_factory.mktemp("export") / "model")


def _with_data_dir(folder, monkeypatch, call):
    """``call``, once ``SEQKIT_DATA_DIR`` names ``folder``."""
    monkeypatch.setenv("SEQKIT_DATA_DIR", str(folder))
    return call


# (case, set-up(folder, monkeypatch) -> the call, its arguments bound, error, message pattern)
FILE_CASES = [
    ("data file fails its checksum",
     lambda t, m: partial(datasets.load_series, "sunspots", data_dir=_edited(
         "sunspots", "sunspots.csv", lambda s: s.replace("1700,5", "1700,6"), t, m,
         accept=False)),
     DataIntegrityError, r"sunspots\.csv.* fails its checksum"),
    ("data file missing",
     lambda t, m: partial(datasets.load_classification, "japanese_vowels",
                          data_dir=_without("japanese_vowels", "JapaneseVowels_TEST.ts", t)),
     DataIntegrityError, r"'JapaneseVowels_TEST\.ts'.*is missing"),
    ("data folder missing",
     lambda t, m: _with_data_dir(t / "nowhere", m, partial(datasets.load_series, "sunspots")),
     DataIntegrityError, r"SEQKIT_DATA_DIR"),
    ("malformed CSV value",
     lambda t, m: partial(datasets.load_series, "co2", data_dir=_edited(
         "co2", "co2.csv", lambda s: s.replace("19580405,317.3", "19580405,3l7.3"), t, m)),
     DataIntegrityError, r"co2\.csv', line 3: cannot read '3l7\.3'"),
    ("CSV with a skipped date",
     lambda t, m: partial(datasets.load_series, "airline", data_dir=_edited(
         "airline", "airline.csv", lambda s: s.replace("1949-03,132\n", ""), t, m)),
     DataIntegrityError, r"line 4: expected the date 1949-03-01"),
    ("malformed .ts value",
     lambda t, m: partial(datasets.load_classification, "basic_motions", data_dir=_edited(
         "basic_motions", "BasicMotions_TRAIN.ts", _bad_ts_value, t, m)),
     DataIntegrityError,
     r"BasicMotions_TRAIN\.ts, line \d+, dimension 0: values must be numbers; got 'x"),
    ("malformed IOB2 tag",
     lambda t, m: partial(datasets.load_tagging, "japanese_ner", data_dir=_edited(
         "japanese_ner", "hironsan_iob_sents.txt", _bad_iob2_tag, t, m)),
     DataIntegrityError, r"line 5, column 10: tag 'X-DAT' fits no tag scheme"),
    ("export folder missing",
     lambda t, m: partial(export.load_saved_model, t / "nowhere"),
     export.ExportError, r"No seqkit export at .*does not exist"),
    ("export without manifest",
     lambda t, m: partial(export.load_saved_model, _with_file(t, "saved_model.pb", b"").parent),
     export.ExportError, r"is not a seqkit export: it has no seqkit-"),
    ("export manifest not JSON",
     lambda t, m: partial(export.load_saved_model,
                          _with_file(t, export.MANIFEST, b"{not json").parent),
     export.ExportError, r"is corrupt"),
    ("export manifest of another format",
     lambda t, m: partial(export.load_saved_model,
                          _with_file(t, export.MANIFEST, b'{"format": "other"}').parent),
     export.ExportError, r"is corrupt"),
    ("export of another format version",
     lambda t, m: partial(export.load_saved_model,
                          fake_export(t / "model", format_version=99, seqkit_version="9.0")),
     export.ExportError, r"format version 99 \(written by seqkit 9\.0\).*reads version 1"),
    ("export signature unknown",
     lambda t, m: partial(export.load_saved_model, fake_export(t / "model"), "predict"),
     export.ExportError, r"has no signature 'predict'\. It has: serving_default"),
    ("corrupt SavedModel",
     lambda t, m: partial(export.load_saved_model, _corrupt_saved_model(t)),
     export.ExportError, r"is corrupt: TensorFlow cannot load it"),
    ("estimator archive that is no zip",
     lambda t, m: partial(SequenceClassifier.load, _with_file(t, "model.zip", b"\x00junk")),
     InvalidInputError, r"model\.zip is not an estimator archive written by save\(\)"),
    ("export over a folder that is not an export",
     lambda t, m: partial(export.export_saved_model, fitted("classifier"),
                          _with_file(t, "precious.csv", b"1,2\n").parent),
     export.ExportError, r"is not a seqkit export; refusing"),
    ("export of something not an estimator",
     lambda t, m: partial(export.export_saved_model, {}, t / "out"),
     InputTypeError, r"seqkit estimator.*Got dict\."),
    ("export to a path that is no path",
     lambda t, m: partial(export.export_saved_model, fitted("classifier"), 123),
     InputTypeError, r"The 'path' argument of export_saved_model must be a path \(a non-empty "
     r"str or os\.PathLike\)\. Got 123 instead\."),
    ("MLflow model of something not an estimator",
     lambda t, m: partial(export.save_mlflow_model, {}, t / "out"),
     InputTypeError, r"The 'model' argument of save_mlflow_model must be a fitted seqkit "
     r"estimator.* Got dict\."),
    ("MLflow model to a path that is no path",
     lambda t, m: partial(export.save_mlflow_model, fitted("classifier"), None),
     InputTypeError, r"The 'path' argument of save_mlflow_model must be a path"),
    ("ONNX of a folder rather than a model",
     lambda t, m: partial(export.export_onnx, "exp_c", t / "model.onnx"),
     InputTypeError, r"The 'model' argument of export_onnx must be a fitted seqkit estimator, "
     r".* Got str 'exp_c'\."),
    ("MLflow model with a request limit of 0",
     lambda t, m: partial(export.save_mlflow_model, fitted("classifier"), t / "out",
                          max_request_values=0),
     InvalidParameterError, r"'max_request_values' parameter of save_mlflow_model must be an "
     r"int >= 1\. Got 0"),
]


@pytest.mark.parametrize(("setup", "error", "pattern"), [case[1:] for case in FILE_CASES],
                         ids=[case[0] for case in FILE_CASES])
def test_bad_data_and_model_files(setup, error, pattern, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert_refused(setup(tmp_path, monkeypatch), error, pattern, tmp_path)


# (case, inputs by name, error, message pattern)
SIGNATURE_CASES = [
    ("wrong number of features", {"sequences": np.zeros((1, 5, 3))},
     InvalidInputError, r"'sequences'.*shape \(any, any, 2\).*\(1, 5, 3\)"),
    ("wrong rank", {"sequences": np.zeros((5, 2))},
     InvalidInputError, r"'sequences'.*shape \(any, any, 2\).*\(5, 2\)"),
    ("strings for numbers", {"sequences": np.full((1, 5, 2), "a")},
     InputTypeError, r"'sequences'.*float32"),
    ("wrong input name", {"x": np.zeros((1, 5, 2))},
     InvalidParameterError, r"takes the inputs \['sequences'\]\. Got \['x'\]"),
    ("no steps", {"sequences": [[]]},
     InvalidInputError, r"The 'sequences' input of the 'serving_default' signature must hold "
     r"at least one step\. Got shape \(1, 0\)\."),
    ("a missing step inside a sequence", {"sequences": [[[0.1, 0.2], [np.nan, np.nan],
                                                         [0.3, 0.4]]]},
     InvalidInputError, r"'serving_default' signature refused the input: The 'sequences' "
     r"input has padding before real steps\. Pad sequences at their end only\."),
    ("NaN in one feature of a step", {"sequences": [[[0.1, np.nan], [0.3, 0.4]]]},
     InvalidInputError, r"'sequences' input has NaN in some features of a step\. NaN marks "
     r"padding only when a step's features are all NaN\."),
    ("inf", {"sequences": [[[0.1, np.inf], [0.3, 0.4]]]},
     InvalidInputError, r"The 'sequences' input must not contain inf\."),
    # Finite, but inf in float32: refused as predict refuses it, not as inf.
    ("beyond float32", {"sequences": [[[0.1, 0.2], [0.3, 0.4]], [[0.5, 0.6], [-1e39, 0.8]]]},
     InvalidInputError, r"The 'sequences' input of the 'serving_default' signature must hold "
     r"values within float32's range \(magnitude up to 3\.4e38\).* Got -1e\+39 in sequence 1 "
     r"at step 1\."),
    ("a sequence of padding only", {"sequences": [[[0.1, 0.2]], [[np.nan, np.nan]]]},
     InvalidInputError, r"The 'sequences' input holds a sequence with no real step\."),
    # A cast dropped the imaginary part, and NumPy's own error named no input.
    ("complex numbers", {"sequences": np.zeros((1, 3, 2)) + 5j},
     InputTypeError, r"The 'sequences' input of the 'serving_default' signature must hold real "
     r"numbers\. Got dtype complex128\."),
    ("ragged nested lists", {"sequences": [[[0.1, 0.2], [0.3, 0.4]], [[0.5, 0.6]]]},
     InvalidInputError, r"The 'sequences' input of the 'serving_default' signature must be one "
     r"array: sequences of one length, shorter ones padded at their end"),
]


@pytest.mark.parametrize(("inputs", "error", "pattern"), [case[1:] for case in SIGNATURE_CASES],
                         ids=[case[0] for case in SIGNATURE_CASES])
def test_bad_inputs_to_an_exported_signature(exported_classifier, inputs, error, pattern,
                                             tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    serve = export.load_saved_model(exported_classifier)
    assert_refused(lambda: serve(**inputs), error, pattern, tmp_path)


# ======================================================================= command lines


def _unreachable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"  # nothing listens once closed


def _damaged_sunspots(folder, monkeypatch):
    data = folder / "data"
    data.mkdir()
    shutil.copy(ROOT / "data" / "sunspots.csv", data / "sunspots.csv")
    with (data / "sunspots.csv").open("a") as handle:
        handle.write("2009,not a number\n")
    monkeypatch.setenv("SEQKIT_DATA_DIR", str(data))


_MONTHS = ["unique_id,ds,y"] + [f"a,{2020 + m // 12}-{m % 12 + 1:02d}-01,{m}" for m in range(24)]
_TS = "@problemName x\n@univariate true\n@classLabel true a b c\n@data\n"


def _user_file(name, lines):
    """A set-up writing the user's file ``name`` (a list of lines, or bytes) into the folder."""
    def write(folder, monkeypatch):
        path = folder / name
        if isinstance(lines, bytes):
            path.write_bytes(lines)
        else:
            path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return write


def _user_files(*setups):
    def write(folder, monkeypatch):
        for setup in setups:
            setup(folder, monkeypatch)
    return write


# A user's file that breaks a rule: the pipeline names the file, the line and the column.
_USER_FILE_CASES = [
    ("duplicate (series, time) rows", forecasting.main, ["--data", "s.csv", "--horizon", "2"],
     _user_file("s.csv", _MONTHS[:5] + _MONTHS[4:]), 1,
     r"error: s\.csv, line 6, column 'ds': duplicate time 2020-04-01.* line 5 has it too"),
    ("a value that is not a number", forecasting.main, ["--data", "s.csv", "--horizon", "2"],
     _user_file("s.csv", _MONTHS[:7] + ["a,2020-07-01,abc"] + _MONTHS[8:]), 1,
     r"error: s\.csv, line 8, column 'y': values must be numbers; got 'abc'"),
    ("a missing step without --fill", forecasting.main, ["--data", "s.csv", "--horizon", "2"],
     _user_file("s.csv", _MONTHS[:7] + _MONTHS[8:]), 1,
     r"error: s\.csv, line 8, column 'ds': series 'a' misses 1 step .*--fill"),
    ("time not sorted", forecasting.main, ["--data", "s.csv", "--horizon", "2"],
     _user_file("s.csv", [*_MONTHS[:3], _MONTHS[4], _MONTHS[3], *_MONTHS[5:]]), 1,
     r"error: s\.csv, line 5, column 'ds': times must increase within series 'a'"),
    ("a missing column", forecasting.main,
     ["--data", "s.csv", "--horizon", "2", "--target", "sales"], _user_file("s.csv", _MONTHS), 1,
     r"error: s\.csv, line 1 \(the header\): missing column 'sales'; the columns are "
     r"'unique_id', 'ds', 'y'"),
    ("series too short for the MASE", forecasting.main,
     ["--data", "s.csv", "--horizon", "2", "--lookback", "30"],
     _user_file("s.csv", _MONTHS[:9]), 1,
     r"error: s\.csv: series 'a' has 6 steps; the MASE, with season length 12, needs at "
     r"least 13"),
    ("a constant series", forecasting.main, ["--data", "s.csv", "--horizon", "2"],
     _user_file("s.csv", _MONTHS + [f"b,{2020 + m // 12}-{m % 12 + 1:02d}-01,0"
                                    for m in range(24)]), 1,
     r"error: s\.csv: series 'b' repeats itself every 12 steps .* on its 22 training steps "
     r"and its MASE, which scales by that error, is undefined"),
    ("--output-dir is a file", forecasting.main,
     ["--data", "s.csv", "--horizon", "2", "--output-dir", "s.csv/out"],
     _user_file("s.csv", _MONTHS), 2,
     r"argument --output-dir: must be a folder, but 's\.csv' is a file; got 's\.csv/out'"),
    ("a model name the registry refuses", forecasting.main,
     ["--data", "s.csv", "--horizon", "2", "--register-model", "a/b"],
     _user_file("s.csv", _MONTHS), 2,
     r"argument --register-model: must be a name the MLflow model registry takes: .* "
     r"got 'a/b'"),
    ("--freq not a pandas frequency", forecasting.main,
     ["--data", "s.csv", "--horizon", "2", "--freq", "daily"], _user_file("s.csv", _MONTHS), 2,
     r"argument --freq: must be a pandas frequency such as D, W-SUN, MS, QS or h; "
     r"got 'daily'"),
    ("--covariates naming the target", forecasting.main,
     ["--data", "s.csv", "--horizon", "2", "--covariates", "y"], _user_file("s.csv", _MONTHS), 1,
     r"error: --covariates must not name the column of --target; got 'y'"),
    ("--covariates naming the time column", forecasting.main,
     ["--data", "s.csv", "--horizon", "2", "--target", "sales", "--covariates", "ds"],
     _user_file("s.csv", _MONTHS), 1,
     r"error: --covariates must not name the column of --time-column; got 'ds'"),
    ("--covariates naming the standard target name", forecasting.main,
     ["--data", "s.csv", "--horizon", "2", "--target", "sales", "--covariates", "y"],
     _user_file("s.csv", _MONTHS), 1,
     r"error: --covariates must not be 'unique_id', 'ds', 'y': the reader gives those names"),
    ("no horizon for a user's file", forecasting.main, ["--data", "s.csv"],
     _user_file("s.csv", _MONTHS), 1, r"error: s\.csv: give --horizon"),
    ("an empty file", forecasting.main, ["--data", "s.csv", "--horizon", "2"],
     _user_file("s.csv", b""), 1, r"error: s\.csv: the file is empty \(0 bytes\)"),
    ("a wrong extension", forecasting.main, ["--data", "s.xlsx", "--horizon", "2"],
     _user_file("s.xlsx", _MONTHS), 1,
     r"error: s\.xlsx: series are read from files ending in \.csv, .*got the extension "
     r"'\.xlsx'"),
    ("a tagging file given to the classification pipeline", classification.main,
     ["--data", "t.conll"], _user_file("t.conll", ["EU B-ORG", "rejects O", ""]), 1,
     r"error: t\.conll: sequences are read from files ending in \.csv, .*\.ts; got the "
     r"extension '\.conll'"),
    ("a file that is not what its extension says", forecasting.main,
     ["--data", "s.parquet", "--horizon", "2"], _user_file("s.parquet", _MONTHS), 1,
     r"error: s\.parquet: is not a Parquet file: it does not start with b'PAR1'"),
    ("a missing value '?' in a .ts file", classification.main, ["--data", "q.ts"],
     _user_file("q.ts", [_TS + "1,2,3:a", "1,?,3:b"]), 1,
     r"error: q\.ts, line 6, dimension 0: missing values \('\?'\) are not supported"),
    ("test labels never seen in training", classification.main,
     ["--data", "train.ts", "--test-data", "test.ts"],
     _user_files(_user_file("train.ts", [_TS + "1,2,3:a", "1,2,3:b", "1,2,4:a", "2,2,3:b"]),
                 _user_file("test.ts", [_TS + "1,2,3:a", "1,2,3:c"])), 1,
     r"error: test\.ts: label 'c' never appears in the training data \(train\.ts\)"),
    ("one class only", classification.main, ["--data", "one.ts"],
     _user_file("one.ts", [_TS + "1,2,3:a", "1,2,3:a", "1,2,4:a", "2,2,3:a"]), 1,
     r"error: one\.ts: the training sequences hold one label only, 'a'; a model needs at "
     r"least 2 to tell apart"),
    ("one tag only", tagging.main, ["--data", "o.conll"],
     _user_file("o.conll", ["EU O", "rejects O", "", "German O", "beef O", ""]), 1,
     r"error: o\.conll: the training sequences hold one label only, 'O'"),
    ("a tag that fits no scheme", tagging.main, ["--data", "t.conll"],
     _user_file("t.conll", ["EU B-ORG", "rejects O", "German X-MISC", ""]), 1,
     r"error: t\.conll, line 3, column 2: tag 'X-MISC' fits no tag scheme"),
    ("a tag scheme for a table", tagging.main,
     ["--data", "seg.csv", "--label-column", "activity", "--scheme", "iob2"],
     _user_file("seg.csv", ["unique_id,ds,f0,activity", "a,0,1.0,rest", "a,1,2.0,move"]), 1,
     r"error: --scheme gives the tag scheme of a CoNLL file, whose tags are converted to "
     r"IOB2; the table seg\.csv is not one, and its labels are taken as they are\. Got "
     r"--scheme iob2: leave it out\."),
    ("a tag scheme for a bundled set", tagging.main, ["--scheme", "iobes"], None, 1,
     r"error: --scheme .*; the bundled set japanese_ner is not one"),
    ("--data and --dataset together", forecasting.main, ["--data", "s.csv", "--dataset", "co2"],
     None, 2, r"give either --dataset \(a bundled set\) or --data \(your file\), not both"),
    ("an abbreviated --data", classification.main, ["--dat", "s.ts"], None, 2,
     r"unrecognized arguments: --dat s\.ts"),
]

# (case, pipeline main, argv, set-up(folder, monkeypatch), exit status, message pattern)
PIPELINE_CASES = _USER_FILE_CASES + [
    ("unknown data set", tagging.main, ["--dataset", "sunspots"], None, 2,
     r"argument --dataset: invalid choice: 'sunspots'"),
    ("unknown cell", classification.main, ["--cell", "transformer"], None, 2,
     r"argument --cell: invalid choice: 'transformer'"),
    ("epochs not an int", forecasting.main, ["--epochs", "three"], None, 2,
     r"argument --epochs: must be an int >= 1, got 'three'"),
    ("zero units", classification.main, ["--units", "0"], None, 2,
     r"argument --units: must be an int >= 1, got 0"),
    ("coverage out of range", forecasting.main, ["--coverage", "1.5"], None, 2,
     r"argument --coverage: must be a float in \(0, 1\)"),
    ("unknown option", tagging.main, ["--learning-rate", "0.1"], None, 2,
     r"unrecognized arguments: --learning-rate 0\.1"),
    ("unreachable tracking server", forecasting.main, ["--epochs", "1"],
     lambda t, m: m.setenv("MLFLOW_TRACKING_URI", _unreachable()), 1,
     r"error: Cannot reach the MLflow tracking store 'http://127\.0\.0\.1:\d+'.*"
     r"MLFLOW_TRACKING_URI environment variable"),
    ("main job with an unreachable store", main_job.main, ["--tracking-uri", "<unreachable>"],
     None, 1, r"error: Cannot reach the MLflow tracking store 'http://127\.0\.0\.1:\d+'"),
    ("malformed data file", forecasting.main, ["--epochs", "1"], _damaged_sunspots, 1,
     r"error: Data file .*sunspots\.csv.* fails its checksum"),
]


_TUNE = ["forecasting", "--data", "s.csv", "--horizon", "2", "--trials", "2"]

# (case, tune main, argv, set-up, exit status, message pattern): the hyper-parameter search
TUNE_CASES = [
    ("no trials", tune.main, ["forecasting", "--trials", "0"], None, 2,
     r"argument --trials: must be an int >= 1, got 0"),
    ("an unknown task", tune.main, ["forecast", "--trials", "2"], None, 2,
     r"argument task: invalid choice: 'forecast'"),
    ("a search space naming no parameter", tune.main, [*_TUNE, "--space", '{"unit": [4, 8]}'],
     _user_file("s.csv", _MONTHS), 1,
     r"error: --space names parameters that SequenceForecaster does not have: \['unit'\]\. "
     r"Got --space \{\"unit\": \[4, 8\]\}; its parameters are .*units"),
    ("a search range without high", tune.main, [*_TUNE, "--space", '{"units": {"low": 8}}'],
     _user_file("s.csv", _MONTHS), 1,
     r"error: --space must be a JSON object .* Got \{'low': 8\} for 'units'\."),
    # Values no trial could use: every trial trained, then failed.
    ("a log flag that is not a JSON bool", tune.main,
     [*_TUNE, "--space", '{"learning_rate": {"low": 0.001, "high": 0.01, "log": "false"}}'],
     _user_file("s.csv", _MONTHS), 1, r"error: --space must be a JSON object .* Got \{'low': "
     r"0\.001, 'high': 0\.01, 'log': 'false'\} for 'learning_rate'\."),
    ("a float range for an int parameter", tune.main,
     [*_TUNE, "--space", '{"units": {"low": 4.0, "high": 8.0}}'], _user_file("s.csv", _MONTHS),
     1, r"error: --space gives 'units' a value SequenceForecaster refuses: The 'units' "
     r"parameter of SequenceForecaster must be an int >= 1\. Got 4\.0"),
    ("a choice the estimator refuses", tune.main,
     [*_TUNE, "--space", '{"units": [4, 0]}'], _user_file("s.csv", _MONTHS), 1,
     r"error: --space gives 'units' a value SequenceForecaster refuses: .* Got 0"),
    ("backtest folds that leave no training data", tune.main, [*_TUNE, "--folds", "20"],
     _user_file("s.csv", _MONTHS), 1,
     r"error: --folds 20 backtest windows of 2 steps leave the shortest training series "
     r"\(22 steps\) 0 steps before the first window; the fit there needs \d+, and the MASE, "
     r"with season length 12, 13\. Got --folds 20"),
    # Room for a fit but not for the MASE's seasonal scale: every trial used to train, then fail.
    ("backtest folds that leave no room for the MASE", tune.main, [*_TUNE, "--folds", "5"],
     _user_file("s.csv", _MONTHS), 1,
     r"error: --folds 5 backtest windows of 2 steps leave the shortest training series "
     r"\(22 steps\) 12 steps before the first window; the fit there needs \d+, and the MASE, "
     r"with season length 12, 13\. Got --folds 5: lower it\."),
    ("backtest folds where one fold leaves too little", tune.main,
     ["forecasting", "--data", "s.csv", "--horizon", "6", "--trials", "2", "--folds", "2"],
     _user_file("s.csv", _MONTHS), 1,
     r"error: --folds 2 backtest windows of 6 steps leave the shortest training series "
     r"\(18 steps\) 6 steps before the first window; .* Got --folds 2: even --folds 1 leaves "
     r"12: give longer series, or a shorter --horizon or --lookback\."),
]


@pytest.mark.parametrize(("main", "argv", "setup", "status", "pattern"),
                         [case[1:] for case in PIPELINE_CASES + TUNE_CASES],
                         ids=[case[0] for case in PIPELINE_CASES + TUNE_CASES])
def test_bad_pipeline_command_lines(main, argv, setup, status, pattern, workdir, recorded_runs,
                                    monkeypatch, capsys):
    if setup:
        setup(workdir, monkeypatch)
    argv = [_unreachable() if arg == "<unreachable>" else arg for arg in argv]
    before = _snapshot(workdir, tracking=True)
    try:
        got = main(argv)
    except SystemExit as stop:
        got = stop.code
    err = capsys.readouterr().err
    assert got == status, err
    assert re.search(pattern, err, re.DOTALL), err
    assert "Traceback" not in err
    assert not (workdir / "outputs").exists()
    assert _snapshot(workdir, tracking=True) == before
    assert {run.info.status for run in recorded_runs()} <= {"FAILED"}


def test_a_fit_that_diverges_fails_the_run_and_exports_nothing(workdir, recorded_runs,
                                                               capsys):
    _, main = entry_points("forecasting", forecasting.build_parser, forecasting.load,
                           diverging_fit)
    assert main(["--dataset", "sunspots"]) == 1
    err = capsys.readouterr().err
    assert re.search(r"error: The fit diverged: its loss became NaN or inf in epoch 1, so the "
                     r"weights cannot be trusted\.", err), err
    assert "Traceback" not in err
    (run,) = recorded_runs()
    assert run.info.status == "FAILED"
    assert not (workdir / "outputs" / "forecasting" / "sunspots").exists()


def test_a_pipeline_run_as_a_program_reports_bad_input_without_a_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.classification", "--dataset", "no_such_data"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2
    assert "invalid choice: 'no_such_data'" in result.stderr
    assert "japanese_vowels" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def _unfitted_file(folder):
    return _with_file(folder, "unfitted.pkl", pickle.dumps(SequenceClassifier()))


# (case, argv(folder), message pattern); each exits with status 1
SEQKIT_CASES = [
    ("export a missing file", lambda t: ["export", t / "missing.zip", t / "out"],
     r"is neither a file nor an MLflow run"),
    ("export a junk file", lambda t: ["export", _with_file(t, "junk.pkl", b"\x00junk"), t / "out"],
     r"Cannot read a fitted model from .*junk\.pkl: UnpicklingError"),
    ("export a pickle that is no model",
     lambda t: ["export", _with_file(t, "dict.pkl", pickle.dumps({})), t / "out"],
     r"must be a fitted seqkit estimator.*Got dict\."),
    ("export an unfitted model", lambda t: ["export", _unfitted_file(t), t / "out"],
     r"holds a model that is not fitted"),
    ("export an unknown run",
     lambda t: ["export", "runs:/0123456789abcdef0123456789abcdef", t / "out",
                "--tracking-uri", f"sqlite:///{t / 'mlflow.db'}"],
     r"Cannot download runs:/0123456789abcdef0123456789abcdef/estimator\.pkl: Run"),
    ("export onto an existing folder without --force",
     lambda t: ["export", _unfitted_file(t), t],
     r"exists: `seqkit export` replaces a folder only when given --force"),
    ("predict with a model that does not exist", lambda t: ["predict", t / "nowhere", "x.csv"],
     r"No model at .*nowhere: give a folder written by `seqkit export`"),
    ("serve a missing folder", lambda t: ["serve", t / "missing"],
     r"No model at .*missing: give a folder written by"),
    ("serve a folder that is no model", lambda t: ["serve", t],
     r"is neither a seqkit export .* nor an MLflow model"),
]


@pytest.mark.parametrize(("argv", "pattern"), [case[1:] for case in SEQKIT_CASES],
                         ids=[case[0] for case in SEQKIT_CASES])
def test_bad_seqkit_commands_print_one_line_and_exit_1(argv, pattern, tmp_path, monkeypatch,
                                                       capsys):
    monkeypatch.chdir(tmp_path)
    argv = [str(arg) for arg in argv(tmp_path)]
    before = _snapshot(tmp_path, tracking=True)
    status = seqkit_main(argv)
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith(f"seqkit {argv[0]}: error: ") and err.count("\n") == 1, err
    assert re.search(pattern, err), err
    assert _snapshot(tmp_path, tracking=True) == before


@pytest.fixture(scope="module")
def exported_forecaster(tmp_path_factory):
    return export.export_saved_model(fitted("streaming_forecaster"),
                                     tmp_path_factory.mktemp("forecaster") / "model")


_DUPLICATE_ROWS = "unique_id,ds,y\na,2020-01-01,1\na,2020-01-01,2\n"

# (case, argv(folder, export), message pattern): `seqkit predict` with a working model
SEQKIT_PREDICT_CASES = [
    ("an output of an unknown kind",
     lambda t, model: ["predict", model, _with_file(t, "s.csv", _DUPLICATE_ROWS.encode()),
                       "--output", t / "out.xlsx"],
     r"--output must end in \.csv or \.parquet for a table\. Got '.*out\.xlsx'"),
    ("input for another kind of model",
     lambda t, model: ["predict", model, _with_file(t, "cases.ts", b"@data\n"),
                       "--output", t / "out.csv"],
     r"cases\.ts: series are read from files ending in \.csv, .*got the extension '\.ts'"),
    ("a bad input file",
     lambda t, model: ["predict", model, _with_file(t, "s.csv", _DUPLICATE_ROWS.encode()),
                       "--output", t / "out.csv"],
     r"s\.csv, line 3, column 'ds': duplicate time 2020-01-01 00:00:00 in series 'a': line 2"),
]


@pytest.mark.parametrize(("argv", "pattern"), [case[1:] for case in SEQKIT_PREDICT_CASES],
                         ids=[case[0] for case in SEQKIT_PREDICT_CASES])
def test_bad_seqkit_predict_commands_write_nothing(argv, pattern, exported_forecaster, tmp_path,
                                                  monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = [str(arg) for arg in argv(tmp_path, exported_forecaster)]
    before = _snapshot(tmp_path, tracking=True)
    assert seqkit_main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("seqkit predict: error: ") and err.count("\n") == 1, err
    assert re.search(pattern, err), err
    assert _snapshot(tmp_path, tracking=True) == before


SEQKIT_USAGE_CASES = [[], ["serve"], ["serve", "m", "--port", "70000"],
                      ["serve", "m", "--workers", "0"], ["serve", "m", "--max-request-bytes", "-1"],
                      ["deploy", "m"]]


@pytest.mark.parametrize("argv", SEQKIT_USAGE_CASES, ids=" ".join)
def test_wrong_seqkit_arguments_exit_2_with_usage(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        seqkit_main(argv)
    assert caught.value.code == 2
    assert "usage: seqkit" in capsys.readouterr().err


def test_the_seqkit_program_reports_errors_without_a_traceback(tmp_path):
    result = subprocess.run([SEQKIT, "export", str(tmp_path / "nothing"), str(tmp_path / "out")],
                            capture_output=True, text=True, env=SUBPROCESS_ENV, timeout=300)
    assert result.returncode == 1
    assert result.stderr.startswith("seqkit export: error: ") and "Traceback" not in result.stderr


# ======================================================================= mlflow run parameters


# (case, mlflow run arguments, message pattern)
MLFLOW_RUN_CASES = [
    ("seed not an int", ["-e", "classification", "-P", "seed=two"],
     r"argument --seed: invalid int value: 'two'"),
    ("negative epochs", ["-e", "forecasting", "-P", "epochs=-1"],
     r"argument --epochs: must be an int >= 1, got -1"),
    ("unknown data set", ["-e", "tagging", "-P", "dataset=sunspots"],
     r"argument --dataset: invalid choice: 'sunspots'"),
    ("unknown cell", ["-e", "classification", "-P", "cell=transformer"],
     r"argument --cell: invalid choice: 'transformer'"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("args", "pattern"), [case[1:] for case in MLFLOW_RUN_CASES],
                         ids=[case[0] for case in MLFLOW_RUN_CASES])
def test_bad_mlflow_run_parameters_fail_the_run_with_a_message(args, pattern, tmp_path):
    result, runs = mlflow_run(tmp_path, *args)
    assert result.returncode != 0
    assert re.search(pattern, result.stderr), result.stderr[-3000:]
    assert "Traceback" not in result.stderr.split("ExecutionException")[0]
    assert [run.info.status for run in runs] == ["FAILED"]
    assert not (tmp_path / "outputs").exists()


# ======================================================================= the serving endpoint

MAX_REQUEST_BYTES = 64 * 1024
MAX_REQUEST_VALUES = 1000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``seqkit serve`` of a classifier (2 features) with small request limits."""
    folder = tmp_path_factory.mktemp("serving")
    model = export.save_mlflow_model(fitted("classifier"), folder / "model",
                                     max_request_values=MAX_REQUEST_VALUES)
    port = free_port()
    command = [SEQKIT, "serve", str(model), "--port", str(port),
               "--max-request-bytes", str(MAX_REQUEST_BYTES)]
    with running(command, folder / "serve.log", port) as (url, _):
        yield url


def _json(inputs, **params):
    return {"inputs": inputs, **({"params": params} if params else {})}


def _sequence(steps=4, features=2, seed=0):
    return np.random.default_rng(seed).normal(size=(1, steps, features)).round(3).tolist()


def _edit(value, index, sequence=None):
    edited = sequence or _sequence()
    edited[0][index[0]][index[1]] = value
    return edited


def _chunked(url, body):
    """POST ``body`` with chunked transfer encoding (no Content-Length)."""
    host, port = url.removeprefix("http://").split("/")[0].split(":")
    connection = HTTPConnection(host, int(port), timeout=60)
    connection.request("POST", "/invocations", body=iter([body[:1000], body[1000:]]),
                       headers={"Content-Type": "application/json"}, encode_chunked=True)
    response = connection.getresponse()
    status, text = response.status, response.read().decode()
    connection.close()
    return status, json.loads(text)


_PADDED_FIRST = [[[None, None], [0.1, 0.2], [0.3, 0.4]]]
_ALL_PADDING = [[[0.1, 0.2], [0.3, 0.4]], [[None, None], [None, None]]]
_TOO_MANY_VALUES = _sequence(steps=MAX_REQUEST_VALUES // 2 + 1)
_TOO_MANY_BYTES = b'{"inputs": [[[' + b"0.123456789, " * (MAX_REQUEST_BYTES // 13) + b'0.1]]]}'

# (case, request(url) -> (status, answer), HTTP status, message pattern)
SERVING_CASES = [
    ("three features for two", lambda u: http(u, _json(_sequence(features=3))),
     400, r"does not match expected shape"),
    ("wrong rank", lambda u: http(u, _json([[0.1, 0.2], [0.3, 0.4]])),
     400, r"does not match expected shape"),
    ("strings for numbers", lambda u: http(u, _json([[["a", "b"], ["c", "d"]]])),
     400, r"could not convert string to float"),
    ("malformed JSON", lambda u: http(u, b'{"inputs": [[[0.1, 0.2], [0.3'),
     400, r"valid JSON"),
    ("two input keys", lambda u: http(u, {"instances": 1, "inputs": 2}),
     400, r"exactly one"),
    ("no input key", lambda u: http(u, {"params": {}}),
     400, r"exactly one"),
    ("unknown signature", lambda u: http(u, _json(_sequence(), signature="nope")),
     400, r"Unknown signature 'nope'\. This model serves: predict_proba, serving_default"),
    ("streaming signature", lambda u: http(u, _json(_sequence(), signature="step")),
     400, r"'step' takes one step and the states"),
    ("NaN in some features of a step", lambda u: http(u, _json(_edit(None, (2, 1)))),
     400, r"NaN in some features of sequence 0 at step 2\. NaN marks padding only"),
    ("inf", lambda u: http(u, json.dumps(_json(_edit(float("inf"), (1, 0)))).encode()),
     400, r"must not contain inf"),
    ("padding before real steps", lambda u: http(u, _json(_PADDED_FIRST)),
     400, r"padding before real steps in sequence 0"),
    ("a sequence of padding only", lambda u: http(u, _json(_ALL_PADDING)),
     400, r"no real step: sequence 1"),
    ("no steps", lambda u: http(u, _json([[]])),
     400, r"does not match expected shape|at least one step"),
    ("unpadded sequences of different lengths",
     lambda u: http(u, _json([[[0.1, 0.2]], [[0.1, 0.2], [0.3, 0.4]], [[0.5, 0.6]]])),
     400, r"The 'sequences' input holds sequences of different lengths: pad each at its end "
          r"with null \(NaN\) to the longest, .* shape \(-1, -1, 2\)\. Got shape "
          r"\(3, 1 to 2, 2\)\."),
    ("more values than the model takes", lambda u: http(u, _json(_TOO_MANY_VALUES)),
     400, rf"holds {2 * (MAX_REQUEST_VALUES // 2 + 1)} values; this model takes at most "
          rf"max_request_values={MAX_REQUEST_VALUES}"),
    ("body over the byte limit", lambda u: http(u, _TOO_MANY_BYTES),
     413, rf"holds {len(_TOO_MANY_BYTES)} bytes; this server takes at most {MAX_REQUEST_BYTES}"),
    ("chunked body over the byte limit", lambda u: _chunked(u, _TOO_MANY_BYTES),
     413, rf"more than {MAX_REQUEST_BYTES} bytes"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("request_", "status", "pattern"), [case[1:] for case in SERVING_CASES],
                         ids=[case[0] for case in SERVING_CASES])
def test_bad_requests_get_4xx_and_the_server_stays_up(server, request_, status, pattern):
    got, answer = request_(server + "/invocations")
    assert got == status, answer
    assert re.search(pattern, answer["message"]), answer["message"]
    assert "Traceback" not in answer["message"]
    assert http(server + "/ping")[0] == 200
    ok, prediction = http(server + "/invocations", _json(_sequence()))
    expected = fitted("classifier").predict(np.asarray(_sequence(), dtype=np.float32))
    assert ok == 200 and prediction["predictions"] == expected.tolist(), prediction


# ======================================================================= the count


def catalogue_size():
    """Number of bad inputs in this catalogue."""
    return (len(FIT_CASES) + len(PARAMETER_CASES) + len(PREDICT_CASES) + len(UNFITTED_CALLS)
            + len(FORECAST_EVALUATION_CASES) + len(TUNE_CASES)
            + len(LAYER_CASES)
            + len(FILE_CASES) + len(SIGNATURE_CASES) + len(PIPELINE_CASES) + 2
            + len(SEQKIT_CASES) + len(SEQKIT_PREDICT_CASES) + len(SEQKIT_USAGE_CASES) + 1
            + len(MLFLOW_RUN_CASES)
            + len(SERVING_CASES))


def test_the_readme_states_the_catalogue_size():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert catalogue_size() >= 40
    assert f"catalogue of {catalogue_size()} bad inputs" in readme
