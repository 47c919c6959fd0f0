"""Gradients of gradients: the fast path refuses them with a seqkit error, wherever it runs
(eager, ``uncompiled_training``, a traced function, forward mode); ``fast_path=False``, which
the error points to, gives them right (against finite differences)."""

import numpy as np
import pytest
import tensorflow as tf

from seqkit.cells import ElmanRNN, PeepholeLSTM, uncompiled_training
from seqkit.exceptions import HigherOrderGradientError

LAYERS = [ElmanRNN, PeepholeLSTM]
X = tf.constant(np.random.default_rng(0).normal(size=(2, 5, 3)))


def _layer(klass, fast_path):
    layer = klass(4, fast_path=fast_path, dtype="float64")
    layer.build(X.shape)
    rng = np.random.default_rng(1)
    layer.set_weights([0.5 * rng.normal(size=w.shape) for w in layer.get_weights()])
    return layer


def _penalty(layer):
    """The squared norm of the inputs' gradient of ``sum(h_T^2)``: a gradient penalty."""
    with tf.GradientTape() as inner:
        inner.watch(X)
        y = tf.reduce_sum(layer(X, training=True) ** 2)
    return tf.reduce_sum(inner.gradient(y, X) ** 2)


def _penalty_gradient(layer):
    with tf.GradientTape() as outer:
        penalty = _penalty(layer)
    return outer.gradient(penalty, layer.trainable_weights[0])


def _jvp(layer):
    with tf.autodiff.ForwardAccumulator(X, tf.ones_like(X)) as accumulator:
        y = layer(X, training=True)
    return accumulator.jvp(y)


def _traced(layer):
    return tf.function(lambda: _penalty_gradient(layer), autograph=False)()


def _uncompiled(layer):
    with uncompiled_training():
        return _penalty_gradient(layer)


@pytest.mark.parametrize("ask", [_penalty_gradient, _uncompiled, _traced, _jvp],
                         ids=["eager", "uncompiled", "traced", "jvp"])
@pytest.mark.parametrize("klass", LAYERS, ids=lambda k: k.__name__)
def test_the_fast_path_refuses_a_gradient_of_its_gradient(klass, ask):
    with pytest.raises(HigherOrderGradientError, match="fast_path=False"):
        ask(_layer(klass, fast_path=True))


@pytest.mark.parametrize("klass", LAYERS, ids=lambda k: k.__name__)
def test_the_portable_path_gives_the_gradient_of_a_gradient_penalty(klass):
    layer = _layer(klass, fast_path=False)
    got = _penalty_gradient(layer).numpy()
    kernel, eps = layer.trainable_weights[0], 1e-6
    start = kernel.numpy()
    for index in [(0, 0), (2, 3)]:
        values = []
        for sign in (1, -1):
            moved = start.copy()
            moved[index] += sign * eps
            kernel.assign(moved)
            values.append(float(_penalty(layer)))
        kernel.assign(start)
        assert got[index] == pytest.approx((values[0] - values[1]) / (2 * eps), rel=1e-6)


@pytest.mark.parametrize("klass", LAYERS, ids=lambda k: k.__name__)
def test_first_order_gradients_under_a_recording_tape_are_unchanged(klass):
    """A persistent tape that records the backward pass (it is asked inside its context)
    still gets the fast path's first-order gradients, equal to the portable path's."""
    def gradients(layer):
        with tf.GradientTape(persistent=True) as tape:
            y = tf.reduce_sum(layer(X, training=True) ** 2)
            return tape.gradient(y, layer.trainable_weights)

    for got, want in zip(gradients(_layer(klass, True)), gradients(_layer(klass, False)),
                         strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
