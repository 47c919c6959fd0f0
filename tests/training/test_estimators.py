"""What the estimators get from seqkit.training: a fit that diverges raises; the clipping
norm is global_clipnorm, and the old name clipnorm still works, with a FutureWarning."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from seqkit import datasets, training
from seqkit.estimators import SequenceClassifier
from seqkit.exceptions import InvalidParameterError, TrainingDivergedError


@pytest.fixture(scope="module")
def vowels():
    """60 sequences of the Japanese vowels training split: 7-29 steps, 12 channels."""
    X, y, _, _ = datasets.load_classification("japanese_vowels")
    return X[:60], y[:60]


def test_a_diverging_estimator_fit_raises_and_leaves_no_finished_checkpoint(vowels, tmp_path):
    """A learning rate of 1e37: Adam moves every weight by about that much in one step, and
    the read-out overflows float32."""
    X, y = vowels
    folder = tmp_path / "fit"
    classifier = SequenceClassifier(units=4, epochs=3, batch_size=16, learning_rate=1e37,
                                    early_stopping=False, validation_fraction=0.0,
                                    random_state=0, checkpoint_dir=folder)
    with pytest.raises(TrainingDivergedError, match=r"^The fit diverged: its loss became NaN "
                                                    r"or inf in epoch 1, "):
        classifier.fit(X, y)
    with pytest.raises(NotFittedError):
        classifier.predict(X)
    assert training.checkpoint_state(folder) is None


def test_a_forecaster_whose_fit_diverges_neither_predicts_nor_exports(tmp_path):
    """The reported case: four steps of a sine at a learning rate of 1e30 without clipping
    sent the squared-error loss to inf; fit warned, and predict and export went on with NaN
    weights."""
    from seqkit.estimators import SequenceForecaster

    forecaster = SequenceForecaster(
        loss="mse", lookback=2, horizon=1, units=1, epochs=2, learning_rate=1e30,
        global_clipnorm=None,
        validation_fraction=0.0, calibration_fraction=0.0, early_stopping=False,
        random_state=0,
    )
    with pytest.raises(TrainingDivergedError, match=r"became NaN or inf in epoch 2"):
        forecaster.fit(np.sin(np.arange(4.0)))
    with pytest.raises(NotFittedError):
        forecaster.predict()
    with pytest.raises(NotFittedError):
        forecaster.export(tmp_path / "model")
    assert not (tmp_path / "model").exists()


# ------------------------------------------------------------------ global_clipnorm

FAST = {"units": 4, "epochs": 2, "batch_size": 16, "learning_rate": 0.05,
        "early_stopping": False, "validation_fraction": 0.0, "random_state": 0}


def test_the_old_name_clipnorm_warns_and_trains_the_same_model(vowels):
    """A small norm, so that clipping changes the model: the old name must pass it on."""
    X, y = vowels
    new = SequenceClassifier(global_clipnorm=0.01, **FAST).fit(X, y)
    with pytest.warns(FutureWarning) as record:
        old = SequenceClassifier(clipnorm=0.01, **FAST).fit(X, y)
    (warning,) = record
    assert str(warning.message) == (
        "The 'clipnorm' parameter of SequenceClassifier was renamed 'global_clipnorm' and will "
        "be removed in a future version. Use global_clipnorm=0.01 instead."
    )
    assert warning.filename == __file__  # the caller of fit
    assert old.model_.optimizer.global_clipnorm == 0.01
    np.testing.assert_array_equal(old.predict_proba(X[:20]), new.predict_proba(X[:20]))
    default = SequenceClassifier(**FAST).fit(X, y)
    # The weights, not the probabilities: both networks can be sure of every label.
    assert not all(np.allclose(a, b, atol=1e-4)
                   for a, b in zip(default.model_.get_weights(), new.model_.get_weights()))


def test_global_clipnorm_fits_without_a_warning(vowels):
    X, y = vowels
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        SequenceClassifier(global_clipnorm=None, **{**FAST, "epochs": 1}).fit(X, y)


def test_setting_both_names_is_refused_before_training(vowels):
    X, y = vowels
    classifier = SequenceClassifier(clipnorm=0.5, global_clipnorm=2.0, **FAST)
    with pytest.raises(InvalidParameterError, match=(
            r"^The 'clipnorm' parameter of SequenceClassifier was renamed 'global_clipnorm': "
            r"set only 'global_clipnorm'\. Got global_clipnorm=2\.0 and clipnorm=0\.5\.$")):
        classifier.fit(X, y)
    assert not hasattr(classifier, "model_")


@pytest.mark.parametrize("params", [{"clipnorm": 0.3}, {"global_clipnorm": 0.3},
                                    {"clipnorm": None, "global_clipnorm": 2.0}])
def test_clone_keeps_both_names(params):
    copy = clone(SequenceClassifier(**params))
    expected = {"clipnorm": "deprecated", "global_clipnorm": 1.0, **params}
    assert {name: copy.get_params()[name] for name in expected} == expected


def test_either_name_makes_the_same_checkpoint_config():
    """A checkpoint made with one name is resumed with the other (same norm, same training)."""
    assert SequenceClassifier(clipnorm=0.3)._checkpoint_config() == (
        SequenceClassifier(global_clipnorm=0.3)._checkpoint_config())
    assert SequenceClassifier(clipnorm=0.3)._checkpoint_config() != (
        SequenceClassifier()._checkpoint_config())


def test_an_estimator_pickled_before_the_rename_loads_with_global_clipnorm():
    state = SequenceClassifier(units=3).__getstate__()
    state = {**{k: v for k, v in state.items() if k != "global_clipnorm"}, "clipnorm": 0.3}
    old = object.__new__(SequenceClassifier)
    old.__setstate__(state)
    loaded = pickle.loads(pickle.dumps(old))
    assert loaded.get_params()["global_clipnorm"] == 0.3
    assert loaded.get_params()["clipnorm"] == "deprecated" and loaded.units == 3
