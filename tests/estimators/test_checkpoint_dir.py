"""The estimators' checkpoint_dir: resume a fit from its last completed epoch, refuse stale ones.

A fit killed in a real process and resumed is tested end to end in
tests/pipelines/test_resume.py; here a fit of 2 epochs continued to 4 stands
for it (the checkpoint reads the same: 2 epochs done, not finished).
"""

import json
import pickle

import numpy as np
import pytest
from sklearn.base import clone

from seqkit import training
from seqkit.exceptions import InputTypeError, InvalidParameterError
from tests.estimators.data import FACTORIES, fitted_outputs, ragged_classification

KINDS = sorted(FACTORIES)
NO_STOP = {"early_stopping": False}


@pytest.mark.parametrize("kind", KINDS)
def test_checkpoint_dir_is_a_parameter_that_clones_and_pickles(kind, tmp_path):
    estimator = FACTORIES[kind](checkpoint_dir=tmp_path / "fit")
    expected = {**FACTORIES[kind]().get_params(), "checkpoint_dir": tmp_path / "fit"}
    assert estimator.get_params() == expected
    assert clone(estimator).get_params() == expected
    assert pickle.loads(pickle.dumps(estimator)).get_params() == expected
    assert FACTORIES[kind]().checkpoint_dir is None


@pytest.mark.parametrize("value, error, message", [
    (3, InputTypeError, "must be a path (str or os.PathLike) or None. Got 3 instead."),
    ("", InvalidParameterError, "must name a folder (it is created if missing). Got '', an "
                                "empty path."),
])
def test_a_bad_checkpoint_dir_is_refused_before_training(value, error, message):
    X, y = ragged_classification()
    with pytest.raises(error, match="The 'checkpoint_dir' parameter of SequenceClassifier") as err:
        FACTORIES["classifier"](checkpoint_dir=value).fit(X, y)
    assert message in str(err.value)


def test_a_file_as_checkpoint_dir_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("")
    X, y = ragged_classification()
    with pytest.raises(InvalidParameterError, match="which is a file"):
        FACTORIES["classifier"](checkpoint_dir=tmp_path / "notes.txt").fit(X, y)


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_a_fit_resumed_from_its_checkpoint_ends_as_an_uninterrupted_one(kind, tmp_path):
    folder = tmp_path / "fit"
    whole = FACTORIES[kind](epochs=4, **NO_STOP)
    expected = fitted_outputs(whole, kind)
    fitted_outputs(FACTORIES[kind](epochs=2, checkpoint_dir=folder, **NO_STOP), kind)
    state = training.checkpoint_state(folder)
    assert state["epochs"] == 2 and not state["finished"]

    resumed = FACTORIES[kind](epochs=4, checkpoint_dir=folder, **NO_STOP)
    np.testing.assert_allclose(fitted_outputs(resumed, kind), expected, rtol=1e-5, atol=1e-6)
    for name, values in whole.history_.items():
        np.testing.assert_allclose(resumed.history_[name], values, rtol=1e-5, atol=1e-6)
    assert training.checkpoint_state(folder)["epochs"] == 4


@pytest.mark.slow
def test_without_random_state_a_resumed_fit_reuses_the_checkpoints_seed(tmp_path):
    folder = tmp_path / "fit"
    X, y = ragged_classification()
    first = FACTORIES["classifier"](random_state=None, epochs=2, checkpoint_dir=folder, **NO_STOP)
    first.fit(X, y)
    resumed = clone(first).set_params(epochs=3).fit(X, y)
    assert resumed.history_["loss"][:2] == first.history_["loss"]
    assert len(resumed.history_["loss"]) == 3


@pytest.mark.slow
@pytest.mark.parametrize("change, named", [
    ({"units": 5}, "units (checkpoint 4, now 5)"),
    ({"learning_rate": 0.01}, "learning_rate (checkpoint 0.001, now 0.01)"),
    ({"random_state": 1}, "random_state (checkpoint 0, now 1)"),
    ({"data_seed": 1}, "training data (checkpoint '"),
])
def test_a_checkpoint_of_another_fit_is_refused_naming_what_differs(change, named, tmp_path):
    folder = tmp_path / "fit"
    X, y = ragged_classification()
    FACTORIES["classifier"](checkpoint_dir=folder).fit(X, y)
    before = (folder / "state.json").read_text()
    if "data_seed" in change:
        X, y = ragged_classification(seed=change.pop("data_seed"))
    with pytest.raises(InvalidParameterError) as err:
        FACTORIES["classifier"](checkpoint_dir=folder, **change).fit(X, y)
    message = str(err.value)
    assert f"The checkpoint in checkpoint_dir {str(folder)!r} was made by another training" in (
        message)
    assert named in message
    assert "delete this one" in message
    assert (folder / "state.json").read_text() == before  # left as it was
    assert json.loads(before)["config"]["estimator"] == "SequenceClassifier"
