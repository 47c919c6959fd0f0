"""Training: clipping, NaN stop, early stopping, checkpoints, truncated BPTT, gradient norms."""

import json
import os

import keras
import matplotlib
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from seqkit import networks, training
from seqkit.exceptions import InvalidInputError, InvalidParameterError

matplotlib.use("Agg")


def _data(n=8, steps=6, features=4, per_step=True, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, steps, features)).astype("float32")
    y = np.cumsum(x[..., :1], axis=1) / 3 if per_step else x[:, :, :1].mean(axis=1)
    return x, y.astype("float32")


def _model(cell="gru", per_step=True, compile_kwargs=None, **kwargs):
    """A compiled regression network, 4 features, 4 units, 1 output (per step or not)."""
    build = networks.build_many_to_many if per_step else networks.build_many_to_one
    model = build(4, 1, cell=cell, units=4, output_activation=None, **kwargs)
    return training.compile_model(model, **{"loss": "mse", "learning_rate": 0.01,
                                            **(compile_kwargs or {})})


def _flat(model):
    return np.concatenate([w.ravel() for w in model.get_weights()])


# ------------------------------------------------------------------ clipping


def test_compile_model_clips_the_global_gradient_norm_by_default():
    model = training.compile_model(_model(), loss="mse")
    assert model.optimizer.global_clipnorm == 1.0


@pytest.mark.parametrize("clipnorm", [1.0, None])
def test_clipping_bounds_the_update_of_a_huge_loss(clipnorm):
    x, y = _data()
    model = training.compile_model(_model(), loss="mse", optimizer="sgd", learning_rate=0.1,
                                   clipnorm=clipnorm)
    before = _flat(model)
    training.fit(model, x, 1e4 * y, epochs=1, batch_size=len(x))
    step = np.linalg.norm(_flat(model) - before)
    if clipnorm:
        assert step <= 0.1 * clipnorm * (1 + 1e-4)
    else:
        assert step > 100 * 0.1


# ------------------------------------------------------------ NaN, early stop


def _nan_loss(y_true, y_pred):
    return ops.log(ops.mean(y_pred, axis=-1) * 0.0 - 1.0)


@pytest.mark.parametrize("tbptt_steps", [None, 3], ids=["full", "truncated"])
def test_a_nan_loss_stops_training_and_writes_no_checkpoint(tbptt_steps, tmp_path):
    x, y = _data()
    model = training.compile_model(_model(), loss=_nan_loss)
    with pytest.warns(RuntimeWarning, match="the loss became NaN"):
        history = training.fit(model, x, y, epochs=5, batch_size=4, tbptt_steps=tbptt_steps,
                               checkpoint_dir=tmp_path)
    assert len(history["loss"]) == 1 and np.isnan(history["loss"][0])
    assert not (tmp_path / "state.json").exists()


def test_early_stopping_restores_the_best_weights_and_a_finished_run_stays_finished(tmp_path):
    """Validation targets opposite to the training ones: val_loss is best after epoch 1."""
    x, y = _data(per_step=False)
    y = np.ones_like(y)
    model = _model(per_step=False, compile_kwargs={"learning_rate": 0.05})
    history = training.fit(model, x, y, epochs=20, batch_size=8, early_stopping=True,
                           patience=2, validation_data=(x, -y), checkpoint_dir=tmp_path)
    assert len(history["val_loss"]) == 3  # the best epoch, then `patience` worse ones
    assert np.argmin(history["val_loss"]) == 0
    best = model.evaluate(x, -y, verbose=0)
    assert best == pytest.approx(history["val_loss"][0], rel=1e-5)
    weights = _flat(model)
    again = training.fit(model, x, y, epochs=20, batch_size=8, early_stopping=True,
                         validation_data=(x, -y), checkpoint_dir=tmp_path)
    assert again == history
    np.testing.assert_array_equal(_flat(model), weights)


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            raise KeyboardInterrupt


@pytest.mark.slow
def test_an_interrupted_fit_resumes_where_it_stopped(tmp_path):
    x, y = _data(per_step=False)
    start = _model(per_step=False).get_weights()

    def fresh(weights=start):
        model = _model(per_step=False)
        model.set_weights(weights)
        return model

    whole = fresh()
    expected = training.fit(whole, x, y, epochs=4, batch_size=len(x))
    with pytest.raises(KeyboardInterrupt):
        training.fit(fresh(), x, y, epochs=4, batch_size=len(x), checkpoint_dir=tmp_path,
                     callbacks=[_Interrupt()])
    assert json.loads((tmp_path / "state.json").read_text())["epochs"] == 2
    other = fresh([w + 1.0 for w in start])  # the checkpoint, not these, must count
    resumed = training.fit(other, x, y, epochs=4, batch_size=len(x), checkpoint_dir=tmp_path)
    np.testing.assert_allclose(resumed["loss"], expected["loss"], rtol=1e-4)
    np.testing.assert_allclose(_flat(other), _flat(whole), atol=1e-5)  # Adam's moments too
    assert sorted(os.listdir(tmp_path)) == ["epoch-0004.weights.h5", "state.json"]


def test_validation_fraction_holds_out_the_last_samples():
    x, y = _data()
    model = _model(compile_kwargs={"metrics": ["mae"]})
    history = training.fit(model, x, y, epochs=2, validation_fraction=0.25)
    assert set(history) == {"loss", "mae", "val_loss", "val_mae"}
    assert history["val_loss"][-1] == pytest.approx(model.evaluate(x[6:], y[6:], verbose=0)[0],
                                                    rel=1e-5)


# ---------------------------------------------------------------- truncated BPTT


def _chunked(trainer, x, *static):
    outputs, states = [], None
    for start, stop in trainer.chunks(x.shape[1]):
        y_pred, states = trainer.forward([x[:, start:stop], *static], states)
        outputs.append(np.asarray(y_pred))
    return outputs


@pytest.mark.parametrize("cell", networks.CELL_NAMES)
def test_chunks_with_carried_states_equal_the_whole_sequence(cell):
    x, _ = _data(n=2)
    x[1, 4:] = np.nan  # padding crosses a chunk border
    model = _model(cell=cell, num_layers=2)
    chunks = _chunked(training.TruncatedBPTT(model, 3), x)
    np.testing.assert_allclose(np.concatenate(chunks, axis=1), model(x), atol=1e-5)


def test_many_to_one_chunks_end_in_the_whole_sequence_output():
    x, _ = _data(n=2)
    model = _model(per_step=False, num_layers=2)
    last = _chunked(training.TruncatedBPTT(model, 4), x)[-1]
    np.testing.assert_allclose(last, model(x), atol=1e-5)


def _spy(trainer, name):
    calls, original = [], getattr(trainer, name)

    def spy(inputs, *args):
        out = original(inputs, *args)
        calls.append((args[-1], out[-1] if name == "train_chunk" else out))
        return out

    setattr(trainer, name, spy)
    return calls


@pytest.mark.parametrize("per_step", [True, False], ids=["many_to_many", "many_to_one"])
def test_state_is_carried_between_chunks_and_reset_between_sequences(per_step):
    x, y = _data(per_step=per_step)
    trainer = training.TruncatedBPTT(_model(per_step=per_step), 2)
    learned, carried = _spy(trainer, "train_chunk"), _spy(trainer, "advance")
    for batch in (slice(0, 4), slice(4, 8)):
        trainer.train_batch([x[batch]], y[batch])
    if per_step:
        assert len(learned) == 6 and not carried
        sequence = learned
    else:
        assert len(learned) == 2 and len(carried) == 4  # chunks 1-2 carry, chunk 3 learns
        sequence = [carried[0], carried[1], learned[0], carried[2], carried[3], learned[1]]
    for j, (states_in, _) in enumerate(sequence):
        if j % 3 == 0:
            assert states_in is None  # a new batch of sequences starts from the initial state
        else:
            for entering, leaving in zip(states_in, sequence[j - 1][1]):
                np.testing.assert_array_equal(entering, leaving)


def test_no_gradient_crosses_a_chunk_border():
    x, _ = _data(n=2)
    trainer = training.TruncatedBPTT(_model(), 3)
    first, second = tf.constant(x[:, :3]), tf.constant(x[:, 3:])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([first, second])
        _, states = trainer.forward([first])
        y_pred, _ = trainer.forward([second], states)
        loss = ops.sum(y_pred)
    assert tape.gradient(loss, first) is None
    assert np.abs(tape.gradient(loss, second)).sum() > 0


@pytest.mark.parametrize("steps", [6, 2])
def test_truncated_bptt_with_whole_sequence_chunks_is_full_bptt(steps):
    x, y = _data()
    start = _model().get_weights()
    full, truncated = (training.compile_model(_model(), loss="mse", optimizer="sgd",
                                              learning_rate=0.5) for _ in range(2))
    for model in (full, truncated):
        model.set_weights(start)
    full.fit(x, y, batch_size=len(x), epochs=1, verbose=0, shuffle=False)
    trainer = training.TruncatedBPTT(truncated, steps)
    trainer.train_batch([x], y)
    if steps == 6:
        np.testing.assert_allclose(_flat(truncated), _flat(full), atol=1e-6)
    else:  # three updates, each from a chunk's own gradient
        assert not np.allclose(_flat(truncated), _flat(full), atol=1e-3)


@pytest.mark.slow
def test_fit_with_truncated_bptt_learns_and_validates():
    x, y = _data(n=16, steps=12)
    model = _model(compile_kwargs={"learning_rate": 0.05, "metrics": ["mae"]})
    history = training.fit(model, x, y, epochs=6, batch_size=8, tbptt_steps=4,
                           validation_fraction=0.25, seed=0)
    assert set(history) == {"loss", "mae", "val_loss", "val_mae"}
    assert history["loss"][-1] < 0.7 * history["loss"][0]


def test_static_features_start_the_first_chunk_only():
    x, y = _data()
    model = _model(n_static=2)
    static = np.ones((8, 2), "float32")
    chunks = _chunked(training.TruncatedBPTT(model, 3), x, static)
    np.testing.assert_allclose(np.concatenate(chunks, axis=1), model([x, static]), atol=1e-5)
    history = training.fit(model, [x, static], y, epochs=1, tbptt_steps=3)
    assert np.isfinite(history["loss"][0])


# ------------------------------------------------------------------- gradient norms


def _unrolled(cell, x, steps):
    """The last state and the state after each step of ``steps`` (input positions), by hand."""
    states = [tf.zeros((len(x), int(s))) for s in np.atleast_1d(cell.state_size)]
    hidden = {}
    for t in steps:
        h, states = cell(tf.constant(x[:, t]), states)
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        hidden[t] = h
    return h, [hidden[t] for t in sorted(hidden)]


def _reference_norms(model, x, y):
    """dLoss/dh_t by unrolling the first layer's cell(s) by hand and asking the tape for the
    gradient of every h_t tensor (many-to-one, one layer, no padding)."""
    layer, readout = model.get_layer("recurrent_1"), model.get_layer("readout")
    steps = range(x.shape[1])
    with tf.GradientTape(persistent=True) as tape:
        if isinstance(layer, keras.layers.Bidirectional):
            h, forward = _unrolled(layer.forward_layer.cell, x, steps)
            h_rev, backward = _unrolled(layer.backward_layer.cell, x, reversed(steps))
            loss = keras.losses.MeanSquaredError()(y, readout(ops.concatenate([h, h_rev], -1)))
            directions = [forward, backward]
        else:
            h, forward = _unrolled(layer.cell, x, steps)
            loss = keras.losses.MeanSquaredError()(y, readout(h))
            directions = [forward]
    norms = [[np.linalg.norm(g) for g in tape.gradient(loss, hidden)] for hidden in directions]
    return np.array(norms).T.squeeze(axis=1) if len(norms) == 1 else np.array(norms).T


@pytest.mark.parametrize("cell", networks.CELL_NAMES)
def test_gradient_norms_equal_a_hand_unrolled_reference(cell):
    x, y = _data(n=4, per_step=False)
    model = _model(cell=cell, per_step=False)
    norms = training.gradient_norms_over_time(model, x, y)
    assert norms.shape == (6,)
    np.testing.assert_allclose(norms, _reference_norms(model, x, y), rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("cell", ["elman", "peephole_lstm"])
def test_gradient_norms_of_both_directions_equal_a_hand_unrolled_reference(cell):
    x, y = _data(n=4, per_step=False)
    model = _model(cell=cell, per_step=False, bidirectional=True)
    norms = training.gradient_norms_over_time(model, x, y)
    assert norms.shape == (6, 2)
    np.testing.assert_allclose(norms, _reference_norms(model, x, y), rtol=1e-4, atol=1e-8)
    # Many-to-one: the forward error signal fades towards t = 1, the backward one towards T.
    assert norms[-1, 0] > norms[0, 0] and norms[0, 1] > norms[-1, 1]


def test_gradient_norms_are_zero_on_padded_steps():
    x, y = _data(n=3)
    x[:, 4:] = np.nan
    model = _model(cell="lstm")
    norms = training.gradient_norms_over_time(model, x, y)
    assert (norms[:4] > 0).all() and (norms[4:] == 0).all()


def test_gradient_norms_show_an_elman_network_vanishing():
    x, y = _data(n=4, steps=30, per_step=False)
    model = _model(cell="elman", per_step=False)
    layer = model.get_layer("recurrent_1")
    kernel, _, bias = layer.get_weights()
    layer.set_weights([kernel, 0.5 * np.eye(4, dtype="float32"), bias])
    norms = training.gradient_norms_over_time(model, x, y, loss="mse")
    assert norms[0] < 1e-6 * norms[-1]  # at most 0.5 per step back


def test_plot_gradient_norms_draws_one_point_per_step():
    figure = training.plot_gradient_norms(np.array([1e-3, 1e-2, 1e-1]))
    (line,) = figure.axes[0].get_lines()
    np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3])
    assert figure.axes[0].get_yscale() == "log"


def test_plot_gradient_norms_draws_a_line_per_direction():
    figure = training.plot_gradient_norms(np.array([[1e-3, 1e-1], [1e-2, 1e-2], [1e-1, 1e-3]]))
    forward, backward = figure.axes[0].get_lines()
    np.testing.assert_array_equal(backward.get_ydata(), [1e-1, 1e-2, 1e-3])
    assert [t.get_text() for t in figure.axes[0].get_legend().get_texts()] == [
        "forward", "backward"]


# ---------------------------------------------------------------------- bad input


def test_chunks_longer_than_the_sequence_are_refused():
    x, y = _data()
    with pytest.raises(InvalidParameterError) as err:
        training.fit(_model(), x, y, tbptt_steps=7)
    assert str(err.value) == (
        "The 'tbptt_steps' parameter of fit must be an int in [1, 6]. Got 7 instead."
    )


@pytest.mark.parametrize("model, match", [
    (lambda: _model(bidirectional=True), "Got the Bidirectional layer 'recurrent_1'"),
    (lambda: training.compile_model(keras.Sequential(
        [keras.Input((None, 4)), keras.layers.GRU(3, return_sequences=True, name="plain")]),
        loss="mse"), "return_state=True .* Got layer 'plain' with return_state=False"),
    (lambda: training.compile_model(networks.build_encoder_decoder(4, 1, 6, units=3),
                                    loss="mse"), "exactly one input with a time axis"),
])
def test_models_truncated_bptt_cannot_run_are_refused(model, match):
    x, y = _data()
    with pytest.raises(InvalidParameterError, match=match):
        training.fit(model(), x, y, tbptt_steps=2)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"y": np.zeros((7, 6, 1))}, InvalidInputError, "same number of samples"),
    ({"y": np.full((8, 6, 1), np.nan)}, InvalidInputError, "must not contain NaN"),
    ({"early_stopping": True}, InvalidParameterError, "needs validation data"),
    ({"validation_fraction": 0.5, "validation_data": ([], [])}, InvalidParameterError,
     "'validation_fraction' parameter of fit must be 0 when validation_data"),
    ({"validation_fraction": 0.99}, InvalidParameterError, "at least one training sample"),
])
def test_bad_fit_arguments_are_named(kwargs, error, match):
    x, y = _data()
    arguments = {"y": y, **kwargs}
    with pytest.raises(error, match=match):
        training.fit(_model(), x, arguments.pop("y"), **arguments)


def test_fit_needs_a_compiled_model():
    x, y = _data()
    with pytest.raises(InvalidParameterError, match="must be compiled"):
        training.fit(networks.build_many_to_many(4, 1, units=3), x, y)

