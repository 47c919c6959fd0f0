"""The contract every seqkit estimator keeps, checked on the inputs each is made for.

scikit-learn's own checks feed 2-D ``X`` with one label per row; they run on
SequenceClassifier (test_sklearn_checks.py). SequenceTagger takes one label
sequence per input sequence and SequenceForecaster follows ``fit(y, X=None)``,
so their contract is checked here instead, on token and numeric sequences for
the tagger and on one series, a list of series and a series with covariates
for the forecaster (the classifier too, on ragged sequences). Each case is fit
once for the module.
"""

import dataclasses
import inspect
import os
import pickle
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from seqkit.estimators import SequenceClassifier, SequenceForecaster, SequenceTagger
from seqkit.exceptions import InvalidInputError
from tests.estimators.data import (
    FACTORIES,
    fitted_outputs,
    monthly_series,
    numeric_tagging,
    ragged_classification,
    tagging_tokens,
)

SHARED = {"cell": "elman", "units": 3, "epochs": 2, "batch_size": 8, "learning_rate": 0.01,
          "global_clipnorm": 0.5, "dropout": 0.1, "validation_fraction": 0.25,
          "n_iter_no_change": 4, "random_state": 0}
"""Parameters passed to every fitted case: fast, and mostly not the defaults."""

OWN = {
    SequenceClassifier: {},
    SequenceTagger: {"embedding_dim": 5, "min_frequency": 1},
    SequenceForecaster: {"lookback": 6, "horizon": 3, "scaling": "standard",
                         "calibration_fraction": 0.3, "season_length": 12},
}


def _array(output):
    """Predictions of any form (arrays, pandas, lists of those) as one float array."""
    if isinstance(output, (list, tuple)):
        return np.concatenate([_array(part) for part in output])
    return np.asarray(output.to_numpy() if isinstance(output, pd.Series | pd.DataFrame) else output,
                      dtype=np.float64)


def _forecasts(estimator, predict_kwargs):
    """Point forecasts and 50% intervals, so that the calibration residuals count too."""
    return _array([estimator.predict(**predict_kwargs),
                   *estimator.predict_interval(0.5, **predict_kwargs)])


@dataclasses.dataclass(frozen=True)
class Case:
    """An estimator class, the data it is made for, and how to read its predictions."""

    cls: type
    data: Callable  # () -> (fit args, fit kwargs)
    outputs: Callable  # (fitted estimator, fit args) -> ndarray
    n_features_in: Callable  # (fit args, fit kwargs) -> the expected n_features_in_
    wider: Callable = None  # (fitted estimator, fit args) -> a call with one feature too many

    @property
    def params(self):
        return {**SHARED, **OWN[self.cls]}


def _month(n, start=0):
    return (np.arange(start, start + n) % 12).astype(float)


CASES = {
    "classifier-ragged": Case(
        SequenceClassifier, lambda: (ragged_classification(), {}),
        lambda e, args: e.predict_proba(args[0]),
        lambda args, kwargs: args[0][0].shape[1],
        lambda e, args: e.predict([np.zeros((4, args[0][0].shape[1] + 1))]),
    ),
    "tagger-tokens": Case(
        SequenceTagger, lambda: (tagging_tokens(), {}),
        lambda e, args: np.concatenate(e.predict_proba(args[0])),
        lambda args, kwargs: None,
    ),
    "tagger-numeric": Case(
        SequenceTagger, lambda: (numeric_tagging(), {}),
        lambda e, args: np.concatenate(e.predict_proba(args[0])),
        lambda args, kwargs: args[0][0].shape[1],
        lambda e, args: e.predict([np.zeros((4, args[0][0].shape[1] + 1))]),
    ),
    "forecaster-series": Case(
        SequenceForecaster, lambda: ((monthly_series(),), {}),
        lambda e, args: _forecasts(e, {}),
        lambda args, kwargs: 0,
    ),
    "forecaster-many-series": Case(
        SequenceForecaster, lambda: (([monthly_series(), 3 * monthly_series(40, seed=1)],), {}),
        lambda e, args: _forecasts(e, {}),
        lambda args, kwargs: 0,
    ),
    "forecaster-covariates": Case(
        SequenceForecaster, lambda: ((monthly_series().to_numpy(),), {"X": _month(60)}),
        lambda e, args: _forecasts(e, {"X": _month(3, 60)}),
        lambda args, kwargs: np.asarray(kwargs["X"]).reshape(len(kwargs["X"]), -1).shape[1],
        lambda e, args: e.predict(X=np.zeros((3, 2))),
    ),
}


def _defaults(cls):
    """Every parameter of ``cls`` with its default, read from the signature of ``__init__``."""
    return {name: p.default for name, p in inspect.signature(cls).parameters.items()}


@dataclasses.dataclass
class Fitted:
    case: Case
    estimator: object
    returned: object
    args: tuple
    kwargs: dict
    outputs: np.ndarray


@pytest.fixture(scope="module", params=sorted(CASES))
def fitted(request):
    case = CASES[request.param]
    args, kwargs = case.data()
    estimator = case.cls(**case.params)
    returned = estimator.fit(*args, **kwargs)
    return Fitted(case, estimator, returned, args, kwargs, case.outputs(estimator, args))


# ------------------------------------------------------------------ parameters


def test_fit_returns_self_and_leaves_every_parameter_as_passed(fitted):
    assert fitted.returned is fitted.estimator
    params = fitted.estimator.get_params(deep=False)
    assert params == {**_defaults(fitted.case.cls), **fitted.case.params}
    for name, value in fitted.case.params.items():
        assert params[name] is value, f"fit replaced {name}={value!r} by {params[name]!r}"


def _assert_same(got, want):
    """``got`` equals ``want`` in value, type, dtype, index and name, item by item."""
    assert type(got) is type(want)
    if isinstance(want, dict):
        assert got.keys() == want.keys()
        for key in want:
            _assert_same(got[key], want[key])
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want)
        for got_item, want_item in zip(got, want):
            _assert_same(got_item, want_item)
    elif isinstance(want, pd.Series):
        pd.testing.assert_series_equal(got, want, check_exact=True, check_freq=True)
    elif isinstance(want, np.ndarray):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    else:
        assert got == want


def test_fit_leaves_the_data_unchanged(fitted):
    _assert_same((fitted.args, fitted.kwargs), fitted.case.data())


CHANGED = {
    "cell": "gru", "units": 5, "num_layers": 2, "dropout": 0.2,
    "epochs": 7, "batch_size": 9, "learning_rate": 0.02, "learning_rate_schedule": "constant",
    "global_clipnorm": None,
    "validation_fraction": 0.3, "early_stopping": False, "n_iter_no_change": 3,
    "tbptt_steps": 4, "random_state": 11, "checkpoint_dir": Path("fit-1"), "verbose": 2,
    "clipnorm": 0.7,
}
CHANGED_OWN = {
    SequenceClassifier: {"bidirectional": False, "scaling": None, "step_pooling": 3,
                         "conv_branch": False, "label_smoothing": 0.3},
    SequenceTagger: {"embedding_dim": 7, "min_frequency": 3, "subword_features": False,
                     "crf": True, "scheme": "iob2", "bidirectional": False, "scaling": None,
                     "conv_branch": False},
    SequenceForecaster: {"bidirectional": True, "lookback": 5, "horizon": 2, "scaling": None,
                         "relative_to": "last", "calibration_fraction": 0.0, "season_length": 4,
                         "seasonal_period": 7, "loss": "quantile", "quantiles": (0.2, 0.5)},
}


@pytest.mark.parametrize("cls", list(CHANGED_OWN), ids=lambda cls: cls.__name__)
def test_clone_keeps_every_parameter(cls):
    changed = {**CHANGED, **CHANGED_OWN[cls]}
    defaults = _defaults(cls)
    assert set(changed) == set(defaults), "list every parameter here"
    assert not [name for name, value in changed.items() if value == defaults[name]]
    assert clone(cls(**changed)).get_params() == changed
    assert clone(cls().set_params(**changed)).get_params() == changed


def test_a_clone_of_a_fitted_estimator_has_its_parameters_and_nothing_fitted(fitted):
    copy = clone(fitted.estimator)
    assert copy.get_params() == {**_defaults(fitted.case.cls), **fitted.case.params}
    assert not [name for name in vars(copy) if name.endswith("_")]


# ------------------------------------------------------------------ fitted state


def _documented_attributes(cls):
    """The names in the "Attributes" section of the class docstring, but those it says are
    "Defined only when" something holds (as scikit-learn says of ``feature_names_in_``)."""
    section = inspect.getdoc(cls).split("Attributes\n----------\n")[1].split("\n\n")[0]
    entries = re.findall(r"^(\w+(?:, \w+)*) :(.*(?:\n    .*)*)", section, flags=re.MULTILINE)
    return {name for group, text in entries if "Defined only when" not in text
            for name in group.split(", ")}


def test_init_stores_the_parameters_only_and_fit_adds_attributes_ending_in_underscore(fitted):
    cls = fitted.case.cls
    unfitted = cls(**fitted.case.params)
    assert vars(unfitted) == {**_defaults(cls), **fitted.case.params}
    added = set(vars(fitted.estimator)) - set(vars(unfitted))
    assert added >= _documented_attributes(cls) | {"model_", "history_"}
    assert [name for name in added if not name.endswith("_") or name.startswith("_")] == []


def test_n_features_in_is_the_features_per_step_of_the_input(fitted):
    expected = fitted.case.n_features_in(fitted.args, fitted.kwargs)
    assert fitted.estimator.n_features_in_ == expected
    if fitted.case.wider is not None:
        with pytest.raises(InvalidInputError, match=f"{expected}"):
            fitted.case.wider(fitted.estimator, fitted.args)


def _unfitted_calls(cls, args, kwargs):
    """Each method that needs a fitted estimator, as ``name -> call(estimator, folder)``."""
    calls = {
        "save": lambda e, folder: e.save(folder / "estimator.zip"),
        "export": lambda e, folder: e.export(folder / "export"),
    }
    if cls is SequenceForecaster:
        y = args[0]
        return {**calls,
                "predict": lambda e, _: e.predict(),
                "predict(y)": lambda e, _: e.predict(y=y, **kwargs),
                "predict_interval": lambda e, _: e.predict_interval(),
                "score": lambda e, _: e.score(y),
                "training_windows": lambda e, _: e.training_windows()}
    X, y = args
    calls.update({"predict": lambda e, _: e.predict(X),
                  "predict_proba": lambda e, _: e.predict_proba(X),
                  "score": lambda e, _: e.score(X, y)})
    if cls is SequenceTagger:
        calls["network_input"] = lambda e, _: e.network_input(X)
    return calls


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_method_before_fit_raises_not_fitted_and_writes_nothing(name, tmp_path):
    case = CASES[name]
    args, kwargs = case.data()
    for method, call in _unfitted_calls(case.cls, args, kwargs).items():
        with pytest.raises(NotFittedError, match=f"This {case.cls.__name__} instance is not "
                                                 "fitted yet"):
            call(case.cls(**case.params), tmp_path)
        assert list(tmp_path.iterdir()) == [], method


# ------------------------------------------------------------------ predictions


def test_the_same_random_state_gives_the_same_predictions(fitted):
    again = clone(fitted.estimator).fit(*fitted.args, **fitted.kwargs)
    np.testing.assert_array_equal(fitted.case.outputs(again, fitted.args), fitted.outputs)


def test_pickle_and_save_load_predict_the_same(fitted, tmp_path):
    estimator = fitted.estimator
    unpickled = pickle.loads(pickle.dumps(estimator))
    estimator.save(tmp_path / "estimator.zip")
    loaded = type(estimator).load(tmp_path / "estimator.zip")
    for copy in (unpickled, loaded):
        assert copy.get_params() == estimator.get_params()
        np.testing.assert_array_equal(fitted.case.outputs(copy, fitted.args), fitted.outputs)


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_verbose_0_prints_nothing_and_verbose_1_shows_the_progress_bar(kind, capsys):
    fitted_outputs(FACTORIES[kind](verbose=0), kind)
    quiet = capsys.readouterr()
    assert quiet.out == "" and quiet.err == ""
    fitted_outputs(FACTORIES[kind](verbose=1, epochs=2), kind)
    shown = capsys.readouterr().out
    assert "Epoch 1/2" in shown and "Epoch 2/2" in shown
    assert "step" in shown and "loss" in shown


_LOAD_SCRIPT = """
import pickle, sys
import numpy as np
from seqkit.estimators import SequenceClassifier, SequenceForecaster, SequenceTagger
from tests.estimators.data import monthly_series, ragged_classification, tagging_tokens

folder = sys.argv[1]
classes = {"classifier": SequenceClassifier, "tagger": SequenceTagger,
           "forecaster": SequenceForecaster}
inputs = {"classifier": lambda e: e.predict_proba(ragged_classification()[0]),
          "tagger": lambda e: np.concatenate(e.predict_proba(tagging_tokens()[0])),
          "forecaster": lambda e: e.predict().to_numpy()}
for kind, cls in classes.items():
    with open(f"{folder}/{kind}.pkl", "rb") as file:
        np.save(f"{folder}/{kind}-pickle.npy", inputs[kind](pickle.load(file)))
    np.save(f"{folder}/{kind}-save.npy", inputs[kind](cls.load(f"{folder}/{kind}.zip")))
"""


@pytest.mark.slow
def test_pickle_and_save_load_give_identical_predictions_in_a_new_process(tmp_path):
    expected = {}
    for kind in sorted(FACTORIES):
        estimator = FACTORIES[kind]()
        expected[kind] = fitted_outputs(estimator, kind)
        (tmp_path / f"{kind}.pkl").write_bytes(pickle.dumps(estimator))
        estimator.save(tmp_path / f"{kind}.zip")
    subprocess.run(
        [sys.executable, "-c", _LOAD_SCRIPT, str(tmp_path)],
        check=True,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=600,
    )
    for kind in sorted(FACTORIES):
        np.testing.assert_array_equal(np.load(tmp_path / f"{kind}-pickle.npy"), expected[kind])
        np.testing.assert_array_equal(np.load(tmp_path / f"{kind}-save.npy"), expected[kind])
