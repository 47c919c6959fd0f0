"""Quantile forecasts: the pinball loss, levels that never cross, forms, the median as predict."""

import pickle

import numpy as np
import pandas as pd
import pytest

from seqkit.estimators import SequenceForecaster
from seqkit.exceptions import InputTypeError, InvalidInputError, InvalidParameterError
from seqkit.quantiles import PinballLoss, check_quantiles, monotone_quantiles, pinball_loss
from tests.estimators.data import fast_forecaster, monthly_series

Y = monthly_series()
LEVELS = (0.1, 0.5, 0.9)


@pytest.fixture(scope="module")
def model():
    return fast_forecaster(loss="quantile", quantiles=LEVELS, epochs=3).fit(Y)


def test_the_pinball_loss_is_koenker_and_bassetts_on_monotone_outputs():
    rng = np.random.default_rng(0)
    y_true = rng.normal(size=(4, 6)).astype("float32")
    raw = rng.normal(size=(4, 6 * 3)).astype("float32")
    quantiles = np.asarray(monotone_quantiles(raw.reshape(4, 6, 3)))
    expected = [pinball_loss(y_true[i], quantiles[i], LEVELS) for i in range(4)]
    got = np.asarray(PinballLoss(LEVELS).call(y_true, raw))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    # Its expectation is least at the tau-quantile of the data.
    sample = rng.normal(size=2000)
    grid = np.linspace(-3, 3, 601)
    best = grid[np.argmin([pinball_loss(sample, np.full((2000, 1), q), [0.9]) for q in grid])]
    assert best == pytest.approx(np.quantile(sample, 0.9), abs=0.02)


@pytest.mark.parametrize("y_true, quantiles, levels, error, match", [
    # A 1-D or column input broadcast to an n x n comparison: 4.44 for a perfect forecast.
    ([0.0, 10.0, 20.0], [0.0, 10.0, 20.0], [0.5], InvalidInputError,
     r"must have shape \(n,\), n >= 1, and quantiles \(n, n_levels\).*Got shapes \(3,\) and "
     r"\(3,\)"),
    ([], np.empty((0, 1)), [0.5], InvalidInputError, r"Got shapes \(0,\) and \(0, 1\)"),
    ([1.0, 2.0], [[1.0], [2.0, 3.0]], [0.5], InvalidInputError, "must be arrays of numbers"),
    ([[0.0], [10.0]], [[0.0], [10.0]], [0.5], InvalidInputError, r"Got shapes \(2, 1\)"),
    ([0.0, 10.0], [[0.0, 1.0], [10.0, 11.0]], [0.5], InvalidInputError,
     r"column per level of levels \(1\)"),
    ([np.nan, 1.0], [[0.0], [1.0]], [0.5], InvalidInputError, "must be finite"),
    ([0.0], [[0.0]], [1.5], InvalidParameterError, r"'levels' parameter of pinball_loss"),
])
def test_pinball_loss_refuses_shapes_it_would_broadcast(y_true, quantiles, levels, error, match):
    with pytest.raises(error, match=match):
        pinball_loss(y_true, quantiles, levels)


def test_monotone_quantiles_never_cross_whatever_the_raw_outputs():
    raw = np.random.default_rng(1).normal(scale=50, size=(100, 7, 5))
    assert (np.diff(np.asarray(monotone_quantiles(raw)), axis=-1) >= 0).all()


def test_a_series_gives_a_column_per_level_on_its_index_and_predict_is_the_median(model):
    quantiles = model.predict_quantiles()
    assert isinstance(quantiles, pd.DataFrame) and quantiles.columns.tolist() == list(LEVELS)
    assert quantiles.columns.name == "quantile"
    pd.testing.assert_index_equal(quantiles.index, model.predict().index)
    np.testing.assert_allclose(quantiles[0.5], model.predict(), rtol=1e-12)
    subset = model.predict_quantiles(quantiles=[0.1, 0.9], horizon=2)
    assert subset.shape == (2, 2)
    np.testing.assert_allclose(subset, quantiles[[0.1, 0.9]].iloc[:2])
    # Levels read from float32 data name the fitted ones (np.float32(0.9) is 0.8999999762).
    named = model.predict_quantiles(quantiles=np.array([0.1, 0.9], dtype=np.float32).tolist())
    assert named.columns.tolist() == [0.1, 0.9]
    pd.testing.assert_frame_equal(named, quantiles[[0.1, 0.9]])


def test_levels_never_cross_on_many_histories(model):
    values = Y.to_numpy()
    rng = np.random.default_rng(2)
    histories = [values[s:s + 12] * rng.uniform(0.1, 10) for s in rng.integers(0, 48, 40)]
    quantiles = np.stack(model.predict_quantiles(y=histories))
    assert quantiles.shape == (40, 3, 3)
    assert (np.diff(quantiles, axis=-1) >= 0).all()


def test_quantiles_are_on_the_data_scale(model):
    """Window scaling: a history scaled by 1000 gets its quantiles scaled by 1000."""
    values = Y.to_numpy()[:30]
    np.testing.assert_allclose(model.predict_quantiles(y=1000 * values),
                               1000 * model.predict_quantiles(y=values), rtol=1e-6)


def test_forms_of_arrays_frames_and_many_series():
    frame = pd.DataFrame({"a": Y, "b": 2 * Y})
    model = fast_forecaster(loss="quantile", quantiles=(0.25, 0.5), epochs=1).fit(frame)
    quantiles = model.predict_quantiles()
    assert quantiles.columns.tolist() == [("a", 0.25), ("a", 0.5), ("b", 0.25), ("b", 0.5)]
    np.testing.assert_allclose(quantiles.xs(0.5, axis=1, level="quantile"), model.predict())
    assert model.predict_quantiles(y=frame.to_numpy()).shape == (3, 2, 2)
    many = model.predict_quantiles(y=[frame, frame.iloc[:20]])
    assert isinstance(many, list) and many[1].index[0] == frame.index[20]


def test_a_quantile_model_pickles_and_keeps_its_conformal_interval(model):
    again = pickle.loads(pickle.dumps(model))
    pd.testing.assert_frame_equal(again.predict_quantiles(), model.predict_quantiles())
    lower, upper = model.predict_interval(0.5)
    assert (lower <= model.predict()).all() and (model.predict() <= upper).all()


def test_the_default_stays_a_point_model_and_its_checkpoints_keep_their_config():
    point = SequenceForecaster()
    assert point.get_params()["loss"] == "mae"
    assert point._checkpoint_config()["loss"] == "mae"
    assert "quantiles" not in point._checkpoint_config()
    squared = SequenceForecaster(loss="mse")._checkpoint_config()
    assert "loss" not in squared and "quantiles" not in squared
    config = SequenceForecaster(loss="quantile")._checkpoint_config()
    assert config["quantiles"] == [0.1, 0.5, 0.9]


@pytest.mark.parametrize(("quantiles", "error", "pattern"), [
    ((0.9, 0.5, 0.1), InvalidParameterError, r"they must increase; sort them: \(0\.1, 0\.5"),
    ((0.1, 0.5, 0.5), InvalidParameterError, r"0\.5 is repeated"),
    ((0.0, 0.5), InvalidParameterError, r"0\.0 is outside \(0, 1\)"),
    ((0.1, 0.9), InvalidParameterError, r"0\.5 is missing, the median that predict returns"),
    ("0.5", InputTypeError, r"must be a sequence of floats in \(0, 1\)"),
])
def test_bad_levels_are_refused_naming_the_parameter(quantiles, error, pattern):
    with pytest.raises(error, match=r"'quantiles' parameter of SequenceForecaster.*" + pattern):
        check_quantiles(quantiles, "quantiles", "SequenceForecaster")


def test_a_point_model_or_an_unfit_level_is_refused_by_predict_quantiles(model):
    point = fast_forecaster(epochs=1).fit(Y)
    with pytest.raises(InvalidParameterError, match=r"needs a model fit with loss='quantile'\. "
                                                    r"Got a model fit with loss='mae'"):
        point.predict_quantiles()
    with pytest.raises(InvalidParameterError, match=r"0\.25 is not one of them"):
        model.predict_quantiles(quantiles=[0.25])
