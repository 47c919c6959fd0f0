"""Series shorter than lookback + horizon: padded windows, masked targets, and their forecasts."""

import keras
import mlflow
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from seqkit import export, networks
from seqkit.cells import shape_agnostic_inference, uncompiled_training
from seqkit.datasets import load_series
from seqkit.estimators._training_windows import last_steps, training_windows, window_count
from seqkit.exceptions import InvalidInputError
from seqkit.preprocessing import (
    STEP_FLOOR,
    seasonal_offset,
    sliding_windows,
    standardize,
    window_affine,
)
from seqkit.quantiles import MaskedLoss, PinballLoss
from tests.estimators.data import fast_forecaster, monthly_series
from tests.helpers.exports import pad_numeric

LOOKBACK, HORIZON = 6, 3


def _padded(x, steps):
    """``x`` ``(batch, time, features)`` after ``steps`` NaN steps."""
    return np.concatenate([np.full((len(x), steps, x.shape[2]), np.nan, x.dtype), x], axis=1)


# ------------------------------------------------------------------ masking in the cells


@pytest.mark.parametrize("cell", ["elman", "peephole_lstm", "lstm", "gru"])
def test_a_window_padded_at_the_start_gives_the_shorter_windows_output_and_gradient(cell):
    """Masked leading steps carry the states through unchanged: on the compiled fast path,
    its uncompiled training pass (forward and hand-written backward) and the graph loop."""
    keras.utils.set_random_seed(0)
    model = networks.build_many_to_one(2, 3, cell=cell, units=5, num_layers=2)
    short = np.random.default_rng(0).normal(size=(4, 3, 2)).astype(np.float32)
    padded = _padded(short, 5)

    def output_and_gradient(x, training):
        with tf.GradientTape() as tape:
            output = model(x, training=training)
            total = tf.reduce_sum(output ** 2)
        return output, tape.gradient(total, model.trainable_variables)

    def check(name):
        (want, want_grads), (got, got_grads) = (output_and_gradient(x, True)
                                                for x in (short, padded))
        np.testing.assert_allclose(got, want, atol=1e-6, err_msg=f"{cell} {name}")
        for g, w in zip(got_grads, want_grads):
            np.testing.assert_allclose(g, w, atol=1e-6, err_msg=f"{cell} {name} gradient")

    check("compiled")
    with uncompiled_training():
        check("uncompiled")
    with shape_agnostic_inference():
        np.testing.assert_allclose(model(padded), model(short), atol=1e-6,
                                   err_msg=f"{cell} graph loop")


# ------------------------------------------------------------------ windows and their scaling


def test_training_windows_pad_short_series_and_keep_long_ones():
    values = np.arange(1.0, 21.0)[:, None]
    np.testing.assert_array_equal(training_windows(values, LOOKBACK, HORIZON),
                                  sliding_windows(values, LOOKBACK + HORIZON))
    for steps in range(2, LOOKBACK + HORIZON + 3):
        windows = training_windows(values[:steps], LOOKBACK, HORIZON)
        assert len(windows) == window_count(steps, LOOKBACK, HORIZON) > 0
        history, targets = windows[:, :LOOKBACK, 0], windows[:, LOOKBACK:, 0]
        real = ~np.isnan(history)
        assert real[:, -1].all() and (np.diff(real.astype(int), axis=1) >= 0).all()
        assert (~np.isnan(targets[:, 0])).all()
        # The real steps are the series in order, each window one step after the last.
        np.testing.assert_array_equal(history[:, -1], np.arange(len(windows)) + (
            1.0 if steps < LOOKBACK + HORIZON else LOOKBACK))
        if steps > HORIZON:  # every target real
            assert not np.isnan(targets).any()
        else:  # targets beyond the series' end are missing
            np.testing.assert_array_equal(np.isnan(targets).sum(axis=1),
                                          HORIZON - steps + 1 + np.arange(steps - 1))
    assert window_count(LOOKBACK + HORIZON - 1, LOOKBACK, HORIZON, full_history=True) == 0
    np.testing.assert_array_equal(last_steps(values[:2], 4)[2:], values[:2])
    assert np.isnan(last_steps(values[:2], 4)[:2]).all()


@pytest.mark.parametrize("rule", ["step", "spread"])
def test_window_affine_ignores_padding(rule):
    rng = np.random.default_rng(1)
    full = rng.normal(size=(5, 8, 2)) * 50 + 100
    for real in (1, 2, 5):
        padded = full.copy()
        padded[:, : 8 - real] = np.nan
        got = [np.asarray(part) for part in window_affine(padded, rule)]
        want = [np.asarray(part) for part in window_affine(full[:, 8 - real :], rule)]
        np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-12)
        assert np.isfinite(got[1]).all() and (got[1] > 0).all()


def test_window_affine_scales_by_the_mean_change_at_least_a_fraction_of_the_level():
    rng = np.random.default_rng(1)
    full = rng.normal(size=(5, 8, 2)) * 50 + 100
    loc, scale = (np.asarray(part) for part in window_affine(full))
    np.testing.assert_array_equal(loc, full[:, -1:])
    np.testing.assert_allclose(scale, np.abs(np.diff(full, axis=1)).mean(axis=1, keepdims=True),
                               rtol=1e-12)
    one_step = full.copy()
    one_step[:, :-1] = np.nan
    _, scale = (np.asarray(part) for part in window_affine(one_step))
    np.testing.assert_allclose(scale, STEP_FLOOR * np.abs(full[:, -1:]), rtol=1e-12)
    flat = np.array([[[5.0], [5.0], [5.0]], [[0.0], [0.0], [0.0]]])
    np.testing.assert_allclose(np.asarray(window_affine(flat)[1]).ravel(), [0.05, 1.0])


def test_window_affine_spread_keeps_the_former_numbers_bit_for_bit():
    full = np.random.default_rng(1).normal(size=(5, 8, 2)) * 50 + 100
    _, scale = (np.asarray(part) for part in window_affine(full, "spread"))
    old_spread = np.asarray(ops.std(ops.convert_to_tensor(full), axis=1, keepdims=True))
    assert scale.tobytes() == old_spread.tobytes()
    one_step = full.copy()
    one_step[:, :-1] = np.nan
    np.testing.assert_array_equal(np.asarray(window_affine(one_step, "spread")[1]), 1.0)


def test_seasonal_offset_is_the_seasonal_naive_forecast_less_the_last_value():
    window = np.array([np.nan, 1.0, 2.0, 4.0, 8.0])[None, :, None]
    offset = [np.asarray(seasonal_offset(window, m, 5))[0, :, 0] for m in (1, 2, 4, 5, 6)]
    np.testing.assert_array_equal(offset[0], 0.0)  # the last value's forecast
    np.testing.assert_array_equal(offset[1], [-4, 0, -4, 0, -4])
    np.testing.assert_array_equal(offset[2], [-7, -6, -4, 0, -7])
    np.testing.assert_array_equal(offset[3], [0, -7, -6, -4, 0])  # padding: the last value
    np.testing.assert_array_equal(offset[4], 0.0)  # a season longer than the window


def _reference_windows(model, values, covariates):
    """The windows of a long series by the documented rule, in NumPy: each relative to its
    last value and its seasonal naive forecast, over its mean absolute change; the inputs
    read in float32, as the networks and the exports take them."""
    width = model.lookback_ + model.horizon
    windows = sliding_windows(values, width)
    inputs = windows[:, : model.lookback_].astype(np.float32).astype(np.float64)
    loc = inputs[:, -1:]
    scale = np.maximum(np.abs(np.diff(inputs, axis=1)).mean(axis=1, keepdims=True),
                       STEP_FLOOR * np.abs(inputs).mean(axis=1, keepdims=True))
    m = model.season_length
    naive = inputs[:, model.lookback_ - m + np.arange(model.horizon) % m]
    sequence = standardize(inputs, loc, scale)
    blocks = standardize(sliding_windows(covariates.astype(np.float32).astype(np.float64),
                                         width), model.covariate_scaler_.mean_,
                         model.covariate_scaler_.scale_)
    x = [np.concatenate([sequence, blocks[:, : model.lookback_]], axis=2).astype(np.float32),
         blocks[:, model.lookback_ :].reshape(len(windows), -1).astype(np.float32)]
    targets = (windows[:, model.lookback_ :] - naive) / scale
    return x, targets.reshape(len(windows), -1).astype(np.float32)


@pytest.mark.parametrize("season_length", [1, 4])
def test_windows_of_long_series_follow_the_documented_rule(season_length):
    y = monthly_series(40)
    covariates = np.random.default_rng(2).normal(size=(40, 2))
    model = fast_forecaster(epochs=1, season_length=season_length).fit(
        [y, y.iloc[:12] * 2], X=[covariates, covariates[:12]])
    for i, (values, block) in enumerate([(y.to_numpy()[:, None], covariates),
                                         (y.to_numpy()[:12, None] * 2, covariates[:12])]):
        (x, future), targets = model.training_windows(i)
        (want_x, want_future), want_targets = _reference_windows(model, values, block)
        np.testing.assert_allclose(x, want_x, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(future, want_future)
        np.testing.assert_allclose(targets, want_targets, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ masked targets


@pytest.mark.parametrize("quantiles, point", [
    (None, "mse"), (None, "mae"), ((0.1, 0.5, 0.9), "mse")])
def test_missing_targets_change_neither_the_loss_nor_its_gradient(quantiles, point):
    rng = np.random.default_rng(3)
    levels = 1 if quantiles is None else len(quantiles)
    prediction = tf.Variable(rng.normal(size=(4, 3 * levels)).astype(np.float32))
    targets = rng.normal(size=(4, 3)).astype(np.float32)
    weights = np.ones_like(targets)
    weights[1, 1:] = weights[3, 2] = 0
    loss = MaskedLoss(quantiles, point=point)

    def loss_and_gradient(fill):
        values = np.where(weights > 0, targets, fill).astype(np.float32)
        with tf.GradientTape() as tape:
            value = loss(np.concatenate([values, weights], axis=1), prediction)
        return float(value), tape.gradient(value, prediction).numpy()

    want, want_gradient = loss_and_gradient(0.0)
    for fill in (1e6, -3.0, 1e30):
        got, gradient = loss_and_gradient(fill)
        assert got == want
        np.testing.assert_array_equal(gradient, want_gradient)
    assert (want_gradient.reshape(4, 3, levels)[weights == 0] == 0).all()
    # With every target real it is the loss unmasked.
    plain = (PinballLoss(quantiles) if quantiles is not None
             else {"mse": keras.losses.MeanSquaredError(),
                   "mae": keras.losses.MeanAbsoluteError()}[point])
    np.testing.assert_allclose(
        float(loss(np.concatenate([targets, np.ones_like(targets)], axis=1), prediction)),
        float(plain(targets, prediction)), rtol=1e-6)


def test_a_series_shorter_than_the_horizon_trains_on_its_real_targets_only():
    """Series of 2 and 3 steps (horizon 3): their windows miss targets, which the loss
    (:class:`MaskedLoss`) leaves out; the fits stay finite."""
    series = [np.array([1.0, 2.0]), np.array([5.0, 4.0, 6.0]), np.arange(12.0)]
    model = fast_forecaster(calibration_fraction=0.0, early_stopping=False).fit(series)
    _, targets = model.training_windows(0)
    assert targets.shape == (1, HORIZON) and np.isnan(targets[0, 1:]).all()
    assert np.isfinite(model.history_["loss"]).all()
    covariates = [np.arange(len(s), dtype=float)[:, None] for s in series]
    model = fast_forecaster(calibration_fraction=0.0, early_stopping=False).fit(series,
                                                                                X=covariates)
    (_, future), _ = model.training_windows(0)  # the covariates of missing targets: 0
    assert future[0, 1:].tolist() == [0.0, 0.0] and np.isfinite(model.history_["loss"]).all()
    for loss in ("mae", "mse", "quantile"):
        forecasts = fast_forecaster(loss=loss, calibration_fraction=0.0,
                                    early_stopping=False).fit(series).predict()
        assert all(np.isfinite(f).all() and f.shape == (HORIZON,) for f in forecasts)


# ------------------------------------------------------------------ a real panel


def test_a_panel_of_short_sunspot_series_fits_and_forecasts_better_than_zero():
    """Series of 5 to 60 yearly sunspot counts, the last 3 of each held out: the forecasts
    beat both zero and the last value (13.9 against 32.0 and 23.9 when written)."""
    values = load_series("sunspots").to_numpy()
    lengths = [5, 7, 9, 12, 16, 20, 25, 30, 40, 60]
    starts = np.cumsum([0, *lengths[:-1]])
    panel = [values[s : s + n] for s, n in zip(starts, lengths)]
    train, test = [p[:-HORIZON] for p in panel], np.stack([p[-HORIZON:] for p in panel])
    model = fast_forecaster(lookback=12, units=8, epochs=30, learning_rate=1e-2,
                            calibration_fraction=0.3, early_stopping=False).fit(train)
    forecasts = np.stack(model.predict())
    assert np.isfinite(forecasts).all()
    error = np.abs(forecasts - test).mean()
    naive = np.abs(np.stack([t[-1] for t in train])[:, None] - test).mean()
    assert error < min(np.abs(test).mean(), naive), (error, np.abs(test).mean(), naive)
    lower, upper = (np.stack(bound) for bound in model.predict_interval(coverage=0.5))
    assert np.isfinite(lower).all() and (lower <= upper).all()
    assert np.isfinite(model.score(list(test)))
    # Histories shorter than the lookback, down to one step.
    short = model.predict(y=[values[:1], values[:4], values[:11]])
    assert all(np.isfinite(f).all() for f in short)


# ------------------------------------------------------------------ forecasts and exports


def _fitted(**params):
    y = monthly_series(30)
    covariates = np.random.default_rng(4).normal(size=(30 + HORIZON, 2))
    model = fast_forecaster(**params).fit([y.to_numpy()[:4], y.to_numpy()],
                                          X=[covariates[:4], covariates[:30]])
    return model, y.to_numpy(), covariates


def test_a_short_history_forecasts_as_the_padded_window():
    model, values, covariates = _fitted()
    for steps in (1, 2, LOOKBACK - 1):
        got = model.predict(y=values[:steps], X=covariates[: steps + HORIZON])
        x, _, _, _, _ = model._forecast_inputs(None, values[:steps],
                                               covariates[: steps + HORIZON])
        assert np.isnan(x[0][0, : LOOKBACK - steps]).all()
        assert not np.isnan(x[0][0, LOOKBACK - steps :]).any()
        assert got.shape == (HORIZON,) and np.isfinite(got).all()


@pytest.mark.parametrize("params", [{}, {"loss": "quantile", "scaling": "standard"},
                                    {"loss": "quantile", "season_length": 3},
                                    {"loss": "quantile", "season_length": 3,
                                     "relative_to": "last"}])
def test_the_export_and_the_pyfunc_forecast_short_histories_as_predict(tmp_path, params):
    model, values, covariates = _fitted(cell="gru", **params)
    histories = [values[:1], values[3:5], values[:LOOKBACK - 1], values[2:LOOKBACK + 4]]
    blocks = [covariates[i : i + len(h) + HORIZON]
              for i, h in zip((0, 3, 0, 2), histories)]
    inputs = {"history": pad_numeric([h[:, None] for h in histories]),
              "covariates": pad_numeric(blocks)}
    want = np.stack(model.predict(y=histories, X=blocks))[..., None]
    folder = export.export_saved_model(model, tmp_path / "export")
    signature = export.load_saved_model(folder)
    np.testing.assert_allclose(signature(**inputs)["forecasts"], want, atol=1e-5, rtol=1e-5)
    for i, history in enumerate(histories):  # alone: no padding at the end
        alone = signature(history=history[None, :, None].astype(np.float32),
                          covariates=blocks[i][None].astype(np.float32))
        np.testing.assert_allclose(alone["forecasts"], want[i : i + 1], atol=1e-5, rtol=1e-5)
    served = mlflow.pyfunc.load_model(str(export.save_mlflow_model(model, tmp_path / "mlflow")))
    np.testing.assert_allclose(served.predict(inputs), want, atol=1e-5, rtol=1e-5)
    if params:
        quantiles = np.stack(model.predict_quantiles(y=histories, X=blocks))[:, :, None]
        got = export.load_saved_model(folder, "predict_quantiles")(**inputs)["quantiles"]
        np.testing.assert_allclose(got, quantiles, atol=1e-5, rtol=1e-5)
        got = served.predict(inputs, params={"signature": "predict_quantiles"})
        np.testing.assert_allclose(got, quantiles, atol=1e-5, rtol=1e-5)


def test_every_door_refuses_fewer_steps_than_the_minimum(tmp_path):
    with pytest.raises(InvalidInputError, match=r"Series 1 of y must have at least 2 steps: a "
                                                r"training window needs one step of history "
                                                r"and one target\. Got 1 step\."):
        fast_forecaster().fit([np.arange(5.0), np.array([3.0])])
    with pytest.raises(InvalidInputError, match=r"^y must have at least 2 steps.*Got 1 step"):
        fast_forecaster().fit(np.array([3.0]))
    model, values, covariates = _fitted()
    with pytest.raises(InvalidInputError, match=r"y must not contain empty sequences"):
        model.predict(y=[values[:3], values[:0]], X=[covariates[:6], covariates[:3]])
    nothing = {"history": np.full((1, 2, 1), np.nan, np.float32),
               "covariates": covariates[None, :HORIZON].astype(np.float32)}
    signature = export.load_saved_model(export.export_saved_model(model, tmp_path / "export"))
    with pytest.raises(InvalidInputError, match=r"'history' input holds a sequence with no "
                                                r"real step"):
        signature(**nothing)
    with pytest.raises(InvalidInputError, match=r"'history' input .* at least one step"):
        signature(history=np.zeros((1, 0, 1), np.float32),
                  covariates=covariates[None, :HORIZON].astype(np.float32))
    served = mlflow.pyfunc.load_model(str(export.save_mlflow_model(model, tmp_path / "mlflow")))
    with pytest.raises(mlflow.exceptions.MlflowException, match=r"no real step: sequence 0"):
        served.predict(nothing)
    with pytest.raises(mlflow.exceptions.MlflowException, match=r"at least one step"):
        served.predict({"history": np.zeros((1, 0, 1)), "covariates": nothing["covariates"]})
