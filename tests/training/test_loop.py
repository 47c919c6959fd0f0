"""compile_model and fit: clipping, the NaN stop, early stopping, validation, bad arguments."""

import keras
import numpy as np
import pytest
from keras import ops

from seqkit import networks, training
from seqkit.exceptions import InvalidInputError, InvalidParameterError, TrainingDivergedError
from tests.training.tiny import flat_weights, tiny_data, tiny_model

# ------------------------------------------------------------------ clipping


def test_compile_model_clips_the_global_gradient_norm_by_default():
    model = training.compile_model(tiny_model(), loss="mse")
    assert model.optimizer.global_clipnorm == 1.0


@pytest.mark.parametrize("global_clipnorm", [1.0, None])
def test_clipping_bounds_the_update_of_a_huge_loss(global_clipnorm):
    x, y = tiny_data()
    model = training.compile_model(tiny_model(), loss="mse", optimizer="sgd", learning_rate=0.1,
                                   global_clipnorm=global_clipnorm)
    before = flat_weights(model)
    training.fit(model, x, 1e4 * y, epochs=1, batch_size=len(x))
    step = np.linalg.norm(flat_weights(model) - before)
    if global_clipnorm:
        assert step <= 0.1 * global_clipnorm * (1 + 1e-4)
    else:
        assert step > 100 * 0.1


@pytest.mark.parametrize("value", [0.25, None])
def test_compile_model_takes_the_old_name_clipnorm_with_a_future_warning(value):
    with pytest.warns(FutureWarning) as record:
        model = training.compile_model(tiny_model(), loss="mse", clipnorm=value)
    (warning,) = record
    assert str(warning.message) == (
        "The 'clipnorm' parameter of compile_model was renamed 'global_clipnorm' and will be "
        f"removed in a future version. Use global_clipnorm={value!r} instead."
    )
    assert warning.filename == __file__  # the caller's line
    assert model.optimizer.global_clipnorm == value and model.optimizer.clipnorm is None


@pytest.mark.parametrize("kwargs, match", [
    ({"clipnorm": 0.5, "global_clipnorm": 2.0},
     r"^The 'clipnorm' parameter of compile_model was renamed 'global_clipnorm': set only "
     r"'global_clipnorm'\. Got global_clipnorm=2\.0 and clipnorm=0\.5\.$"),
    ({"clipnorm": 0.0}, r"^The 'clipnorm' parameter of compile_model must be a float > 0\.0"),
    ({"global_clipnorm": -1.0},
     r"^The 'global_clipnorm' parameter of compile_model must be a float > 0\.0"),
    ({"ema_momentum": 1.0},
     r"^The 'ema_momentum' parameter of compile_model must be a float in \[0\.0, 1\.0\)"),
])
def test_compile_model_refuses_bad_clipping_norms(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        training.compile_model(tiny_model(), loss="mse", **kwargs)


# ---------------------------------------------------------------------- divergence


def _nan_loss(y_true, y_pred):
    return ops.log(ops.mean(y_pred, axis=-1) * 0.0 - 1.0)


@pytest.mark.parametrize("tbptt_steps", [None, 3], ids=["full", "truncated"])
def test_a_nan_loss_raises_and_writes_no_checkpoint(tbptt_steps, tmp_path):
    x, y = tiny_data()
    model = training.compile_model(tiny_model(), loss=_nan_loss)
    with pytest.raises(TrainingDivergedError) as err:
        training.fit(model, x, y, epochs=5, batch_size=4, tbptt_steps=tbptt_steps,
                     checkpoint_dir=tmp_path)
    assert str(err.value).startswith(
        "The fit diverged: its loss became NaN or inf in epoch 1, so the weights cannot be "
        "trusted. Check the data for extreme values, or use a lower learning rate"
    )
    assert err.value.epoch == 1
    assert len(err.value.history["loss"]) == 1 and np.isnan(err.value.history["loss"][0])
    assert not (tmp_path / "state.json").exists()


class _Poison(keras.callbacks.Callback):
    """Sets the first weight to NaN at the start of epoch ``epoch`` (from 0)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            weight = self.model.weights[0]
            weight.assign(np.full(weight.shape, np.nan, "float32"))


def test_a_fit_diverging_later_keeps_the_last_good_checkpoint_unfinished(tmp_path):
    x, y = tiny_data()
    with pytest.raises(TrainingDivergedError, match="in epoch 3, ") as err:
        training.fit(tiny_model(), x, y, epochs=5, batch_size=4, checkpoint_dir=tmp_path,
                     callbacks=[_Poison(2)])
    assert f"The checkpoint in checkpoint_dir {str(tmp_path)!r} keeps epoch 2, not marked " \
        "finished" in str(err.value)
    state = training.checkpoint_state(tmp_path)
    assert state["epochs"] == 2 and not state["finished"]
    assert len(state["history"]["loss"]) == 2 and np.isfinite(state["history"]["loss"]).all()
    assert len(err.value.history["loss"]) == 3 and np.isnan(err.value.history["loss"][-1])


def _loss_with_a_nan_gradient(y_true, y_pred):
    """The MSE plus a term that is 0 but whose gradient is NaN: sqrt'(0) * |.|'(0) = inf * 0."""
    zero = ops.abs(y_pred - ops.stop_gradient(y_pred))
    return ops.mean(ops.square(y_true - y_pred), axis=-1) + ops.mean(ops.sqrt(zero), axis=-1)


def test_weights_turned_nan_under_a_finite_loss_raise(tmp_path):
    x, y = tiny_data()
    model = training.compile_model(tiny_model(), loss=_loss_with_a_nan_gradient)
    with pytest.raises(TrainingDivergedError) as err:
        training.fit(model, x, y, epochs=3, batch_size=len(x), checkpoint_dir=tmp_path)
    assert "its weights came to hold NaN or inf in epoch 1," in str(err.value)
    assert np.isfinite(err.value.history["loss"]).all()  # the loss never showed it
    assert not np.isfinite(flat_weights(model)).all()
    assert training.checkpoint_state(tmp_path) is None


# ---------------------------------------------------------------------- early stop


@pytest.mark.parametrize("ema_momentum", [None, 0.9], ids=["plain", "averaging"])
def test_early_stopping_restores_the_best_weights_and_a_finished_run_stays_finished(
        tmp_path, ema_momentum):
    """Validation targets opposite to the training ones: val_loss is best after epoch 1.
    Early stopping keeps that epoch's weights, not the optimizer's moving averages."""
    x, y = tiny_data(per_step=False)
    y = np.ones_like(y)
    model = tiny_model(per_step=False, compile_kwargs={"learning_rate": 0.05,
                                                       "ema_momentum": ema_momentum})
    history = training.fit(model, x, y, epochs=20, batch_size=8, early_stopping=True,
                           patience=2, validation_data=(x, -y), checkpoint_dir=tmp_path)
    assert len(history["val_loss"]) == 3  # the best epoch, then `patience` worse ones
    assert np.argmin(history["val_loss"]) == 0
    best = model.evaluate(x, -y, verbose=0)
    assert best == pytest.approx(history["val_loss"][0], rel=1e-5)
    weights = flat_weights(model)
    again = training.fit(model, x, y, epochs=20, batch_size=8, early_stopping=True,
                         validation_data=(x, -y), checkpoint_dir=tmp_path)
    assert again == history
    np.testing.assert_array_equal(flat_weights(model), weights)


def test_a_fit_with_ema_momentum_ends_on_the_moving_average_of_its_weights(tmp_path):
    x, y = tiny_data(per_step=False)
    model = tiny_model(per_step=False, compile_kwargs={"ema_momentum": 0.9})
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(flat_weights(model)))
    training.fit(model, x, y, epochs=3, batch_size=4, callbacks=[record],
                 checkpoint_dir=tmp_path)
    assert len(seen) == 6
    average = seen[0]  # Keras' average starts at the weights after the first update
    for weights in seen[1:]:
        average = 0.9 * average + 0.1 * weights
    np.testing.assert_allclose(flat_weights(model), average, rtol=1e-5, atol=1e-7)
    assert np.abs(flat_weights(model) - seen[-1]).max() > 1e-3
    # The finished checkpoint, read into a new network, ends on the same averages.
    again = tiny_model(per_step=False, compile_kwargs={"ema_momentum": 0.9})
    training.fit(again, x, y, epochs=3, batch_size=4, checkpoint_dir=tmp_path)
    np.testing.assert_array_equal(flat_weights(again), flat_weights(model))


def test_validation_fraction_holds_out_the_last_samples():
    x, y = tiny_data()
    model = tiny_model(compile_kwargs={"metrics": ["mae"]})
    history = training.fit(model, x, y, epochs=2, validation_fraction=0.25)
    assert set(history) == {"loss", "mae", "val_loss", "val_mae"}
    assert history["val_loss"][-1] == pytest.approx(model.evaluate(x[6:], y[6:], verbose=0)[0],
                                                    rel=1e-5)


# ---------------------------------------------------------------------- tracing


def _steps(epochs, cell="peephole_lstm"):
    from seqkit.training.replicas import _ReplicaSteps

    x, y = tiny_data(n=10)
    model = tiny_model(cell=cell)
    model.optimizer.build(model.trainable_variables)
    steps = _ReplicaSteps(model, batch_size=4, epochs=epochs, train_rows=10, validation_rows=10)
    for rows in (slice(0, 4), slice(4, 8), slice(8, 10)):
        steps.train([x[rows]], y[rows], None)
    steps.evaluate([x], y, None, batch_size=4)
    return steps


def test_steps_are_traced_once_for_a_last_shorter_batch_where_that_costs_no_step():
    from seqkit.training.replicas import ANY_ROWS_BELOW_STEPS

    short, long = (ANY_ROWS_BELOW_STEPS - 1) // 3, -(-ANY_ROWS_BELOW_STEPS // 3)  # 3 batches
    for epochs in (short, long):  # seqkit's layers differentiate their loops themselves
        steps = _steps(epochs)
        assert (steps._train.tracing_count(), steps._test.tracing_count()) == (1, 1)
    # TensorFlow differentiates Keras' LSTM loop, which for a batch of unknown size works out
    # shapes at every step: in a long fit full batches get their own static trace.
    steps = _steps(short, cell="lstm")
    assert (steps._train.tracing_count(), steps._test.tracing_count()) == (1, 1)
    steps = _steps(long, cell="lstm")
    assert (steps._train.tracing_count(), steps._test.tracing_count()) == (2, 1)


@pytest.mark.parametrize("cell, epochs", [
    ("peephole_lstm", 3),  # every batch on the step traced for any number of rows
    ("lstm", 100),  # 200 steps: the shorter batches on it, full batches on their own
])
def test_tracing_for_any_number_of_rows_changes_no_number(monkeypatch, cell, epochs):
    from seqkit.training import replicas

    x, y = tiny_data(n=10)
    found = []
    for any_rows in (True, False):  # traced for any number of rows, then for each size
        if not any_rows:
            monkeypatch.setattr(replicas, "_specs_for_any_rows", lambda data: None)
        keras.utils.set_random_seed(0)
        model = tiny_model(cell=cell)
        history = training.fit(model, x, y, epochs=epochs, batch_size=4, validation_fraction=0.3,
                               seed=0)
        found.append((history, flat_weights(model)))
    assert found[0][0] == found[1][0]
    np.testing.assert_array_equal(found[0][1], found[1][1])


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kwargs, error, match", [
    ({"y": np.zeros((7, 6, 1))}, InvalidInputError, "same number of samples"),
    ({"y": np.full((8, 6, 1), np.nan)}, InvalidInputError, "must not contain NaN"),
    ({"early_stopping": True}, InvalidParameterError, "needs validation data"),
    ({"validation_fraction": 0.5, "validation_data": ([], [])}, InvalidParameterError,
     "'validation_fraction' parameter of fit must be 0 when validation_data"),
    ({"validation_fraction": 0.99}, InvalidParameterError, "at least one training sample"),
    ({"x": np.zeros((8, 6, 3))}, InvalidInputError,
     r"'x' argument of fit must match the model's input '\w+' of shape \(None, None, 4\)\. "
     r"Got an array of shape \(8, 6, 3\)"),
    ({"x": [np.zeros((8, 6, 4))] * 2}, InvalidInputError, "one array per input of the model"),
    ({"sample_weight": np.ones((8, 5))}, InvalidInputError,
     r"'sample_weight' argument of fit must have one row per sample.*Got sample_weight of "
     r"shape \(8, 5\)"),
    ({"validation_data": np.zeros((8, 6, 4))}, InvalidParameterError,
     "'validation_data' parameter of fit must be a tuple .* Got ndarray"),
    ({"validation_data": (np.zeros((3, 6, 4)), np.zeros((2, 6, 1)))}, InvalidInputError,
     "'validation_data' argument of fit must have the same number of samples in x_val and "
     "y_val"),
    ({"validation_data": (np.zeros((2, 6, 4)), np.full((2, 6, 1), np.nan))}, InvalidInputError,
     "'validation_data' argument of fit must not contain NaN in y_val"),
    ({"validation_data": (np.zeros((2, 6, 2)), np.zeros((2, 6, 1)))}, InvalidInputError,
     r"'validation_data' argument of fit must match the model's input .* Got an array of "
     r"shape \(2, 6, 2\)"),
    ({"validation_data": (np.zeros((2, 6, 4)), np.zeros((2, 6, 1)), np.ones(3))},
     InvalidInputError, "'validation_data' argument of fit must have one row per sample"),
])
def test_bad_fit_arguments_are_named(kwargs, error, match):
    x, y = tiny_data()
    arguments = {"x": x, "y": y, **kwargs}
    model = tiny_model()
    weights = flat_weights(model)
    with pytest.raises(error, match=match):
        training.fit(model, arguments.pop("x"), arguments.pop("y"), **arguments)
    np.testing.assert_array_equal(flat_weights(model), weights)  # refused before training


def test_fit_needs_a_compiled_model():
    x, y = tiny_data()
    with pytest.raises(InvalidParameterError, match="must be compiled"):
        training.fit(networks.build_many_to_many(4, 1, units=3), x, y)
