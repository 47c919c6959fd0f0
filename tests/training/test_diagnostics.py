"""Gradient norms over time, checked against a hand-unrolled reference, and their plot."""

import keras
import matplotlib
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from seqkit import networks, training
from seqkit.crf import CRFLoss
from tests.estimators.data import (
    fast_classifier,
    fast_forecaster,
    fast_tagger,
    monthly_series,
    tagging_tokens,
)
from tests.training.tiny import tiny_data, tiny_model

matplotlib.use("Agg")


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
    x, y = tiny_data(n=4, per_step=False)
    model = tiny_model(cell=cell, per_step=False)
    norms = training.gradient_norms_over_time(model, x, y)
    assert norms.shape == (6,)
    np.testing.assert_allclose(norms, _reference_norms(model, x, y), rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("cell", ["elman", "peephole_lstm"])
def test_gradient_norms_of_both_directions_equal_a_hand_unrolled_reference(cell):
    x, y = tiny_data(n=4, per_step=False)
    model = tiny_model(cell=cell, per_step=False, bidirectional=True)
    norms = training.gradient_norms_over_time(model, x, y)
    assert norms.shape == (6, 2)
    np.testing.assert_allclose(norms, _reference_norms(model, x, y), rtol=1e-4, atol=1e-8)
    # Many-to-one: the forward error signal fades towards t = 1, the backward one towards T.
    assert norms[-1, 0] > norms[0, 0] and norms[0, 1] > norms[-1, 1]


def test_gradient_norms_are_zero_on_padded_steps():
    x, y = tiny_data(n=3)
    x[:, 4:] = np.nan
    model = tiny_model(cell="lstm")
    norms = training.gradient_norms_over_time(model, x, y)
    assert (norms[:4] > 0).all() and (norms[4:] == 0).all()


@pytest.mark.parametrize("bidirectional", [False, True])
def test_padded_steps_change_no_norm(bidirectional):
    """The compiled loss leaves padded steps out: a batch padded after step 4 gives the norms of
    the batch cut there, and none at the padded steps."""
    x, y = tiny_data(n=3)
    model = tiny_model(cell="gru", bidirectional=bidirectional)
    padded = x.copy()
    padded[:, 4:] = np.nan
    norms = training.gradient_norms_over_time(model, padded, y)
    np.testing.assert_allclose(norms[:4], training.gradient_norms_over_time(model, x[:, :4],
                                                                           y[:, :4]), rtol=1e-5)
    assert (norms[4:] == 0).all()


def _last_step_norm(model, x, y):
    """||dLoss/dh_T|| of a one-layer forward many-to-one network from its own graph: the tape
    watches the recurrent layer's output h_T, the read-out's input."""
    inputs = model.inputs if len(model.inputs) > 1 else model.inputs[0]
    hidden = keras.Model(inputs, model.get_layer("recurrent_1").output[0])
    with tf.GradientTape() as tape:
        h = hidden(x)
        tape.watch(h)
        loss = model.compute_loss(y=y, y_pred=model.get_layer("readout")(h), training=False)
    return np.linalg.norm(tape.gradient(loss, h))


def _fitted(kind):
    """An estimator's network, a batch of its training data, and the loss to use on a copy of
    the network loaded from a .keras file (a CRF loss is compiled without its layer there)."""
    if kind == "classifier":
        X = np.random.default_rng(0).normal(size=(16, 6, 2))
        y = np.where(X[:, :, 0].mean(axis=1) > 0, "up", "down")
        estimator = fast_classifier(cell="elman", conv_branch=False).fit(X, y)  # h_T, read out
        return estimator.model_, estimator.network_batch(X, y), lambda loaded: None
    if kind == "forecaster":
        estimator = fast_forecaster().fit(monthly_series(), X=np.arange(60) % 12)
        return estimator.model_, estimator.training_windows(), lambda loaded: None
    X, y = tagging_tokens()
    estimator = fast_tagger(crf=True, subword_features=True, bidirectional=True).fit(X, y)
    return (estimator.model_, estimator.network_batch(X, y),
            lambda loaded: CRFLoss(loaded.get_layer("crf")))


@pytest.mark.parametrize("kind", ["classifier", "forecaster", "tagger"])
def test_gradient_norms_of_estimators_networks_and_their_keras_files(kind, tmp_path):
    """The classifier's network, the forecaster's with static covariates (the initial states),
    the tagger's on tokens with sub-word features, bidirectional, under a CRF: as trained, and
    loaded from a .keras file."""
    model, (x, targets), loss = _fitted(kind)
    norms = training.gradient_norms_over_time(model, x, targets)
    steps = (x[0] if isinstance(x, list) else x).shape[1]
    assert norms.shape == ((steps, 2) if kind == "tagger" else (steps,))
    assert (norms > 0).all() and np.isfinite(norms).all()
    if kind != "tagger":  # one forward layer, one output: its input is h_T
        np.testing.assert_allclose(norms[-1], _last_step_norm(model, x, targets), rtol=1e-4)
    model.save(tmp_path / "network.keras")
    loaded = keras.models.load_model(tmp_path / "network.keras")
    np.testing.assert_allclose(
        training.gradient_norms_over_time(loaded, x, targets, loss=loss(loaded)), norms,
        rtol=1e-5)


def test_gradient_norms_show_an_elman_network_vanishing():
    x, y = tiny_data(n=4, steps=30, per_step=False)
    model = tiny_model(cell="elman", per_step=False)
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
