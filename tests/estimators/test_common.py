"""Contracts all three estimators keep: clone, seeding, progress output, persistence."""

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from tests.estimators.data import FACTORIES, fitted_outputs

KINDS = sorted(FACTORIES)


def _non_default_params(estimator):
    """A value different from the default for every parameter, still valid."""
    changed = {}
    for name, value in estimator.get_params().items():
        if isinstance(value, bool):
            changed[name] = not value
        elif isinstance(value, int):
            changed[name] = value + 1
        elif isinstance(value, float):
            changed[name] = value / 2 if value else 0.25
        elif value is None:
            changed[name] = 3
        elif name == "cell":
            changed[name] = "gru"
        elif name == "scaling":
            changed[name] = "standard"
        elif value == "deprecated":  # a renamed parameter's former name
            changed[name] = 12
    return changed


@pytest.mark.parametrize("kind", KINDS)
def test_clone_keeps_every_parameter(kind):
    estimator = FACTORIES[kind]()
    params = _non_default_params(estimator)
    assert set(params) == set(estimator.get_params()), "a parameter was left unchanged"
    estimator.set_params(**params)
    assert clone(estimator).get_params() == estimator.get_params()


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_same_random_state_gives_identical_predictions(kind):
    first = fitted_outputs(FACTORIES[kind](random_state=3), kind)
    second = fitted_outputs(FACTORIES[kind](random_state=3), kind)
    np.testing.assert_array_equal(first, second)


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
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
    for kind in KINDS:
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
    for kind in KINDS:
        np.testing.assert_array_equal(np.load(tmp_path / f"{kind}-pickle.npy"), expected[kind])
        np.testing.assert_array_equal(np.load(tmp_path / f"{kind}-save.npy"), expected[kind])
