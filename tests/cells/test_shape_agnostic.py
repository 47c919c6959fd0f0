"""The shape-agnostic inference loops give the fast path's numbers, and compile nothing."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from seqkit.cells import _fast, shape_agnostic_inference
from tests.cells.reference import random_weights
from tests.cells.test_equations import CONFIGS, inputs, make_layer


def _sequence_layer(name):
    layer_class, kwargs = CONFIGS[name]
    return layer_class(5, return_sequences=True, **kwargs)


def _outputs(layer, x, mask, states, training=False):
    return [np.asarray(out) for out in layer(x, initial_state=states, mask=mask,
                                              training=training)]


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("name", CONFIGS)
def test_inference_loop_equals_fast_path(name, go_backwards):
    layer = make_layer(name, True, go_backwards=go_backwards)
    x, mask, states = inputs()
    states = states[:len(layer.cell.state_size) if isinstance(layer.cell.state_size, list)
                    else 1]
    layer(x, initial_state=states)
    layer.set_weights(random_weights(layer))
    fast = _outputs(layer, x, mask, states)
    with shape_agnostic_inference():
        loop = _outputs(layer, x, mask, states)
    for got, want in zip(loop, fast):
        np.testing.assert_allclose(got, want, atol=1e-6)


@pytest.mark.parametrize("name", ["elman", "peephole-diagonal"])
def test_one_traced_function_takes_every_shape_without_compiling(name):
    layer = _sequence_layer(name)
    model = keras.Sequential([keras.Input((None, 3)), keras.layers.Masking(0.0), layer])
    model.set_weights(random_weights(model))
    forwards = (_fast._elman_forward, _fast._lstm_forward)
    before = [f.experimental_get_tracing_count() for f in forwards]
    with shape_agnostic_inference():
        run = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
        for batch, steps in [(1, 5), (3, 17), (8, 40), (2, 300)]:
            x = np.random.default_rng(steps).normal(size=(batch, steps, 3)).astype("float32")
            x[0, steps - 2:] = 0.0  # trailing padding in the first sequence
            got = run(x)
            np.testing.assert_allclose(got, model(x, training=False), atol=1e-5)
    assert [f.experimental_get_tracing_count() for f in forwards] == before
    assert run.experimental_get_tracing_count() <= 2  # one concrete shape, then a free one


def test_training_keeps_the_compiled_loop_and_the_switch_is_restored(monkeypatch):
    from seqkit.cells import _graph

    def refuse(*args, **kwargs):
        raise AssertionError("a training call took the inference loop")

    monkeypatch.setattr(_graph, "lstm_sequence", refuse)
    layer = _sequence_layer("peephole-diagonal")
    x, mask, _ = inputs()
    layer(x)
    with shape_agnostic_inference():
        with tf.GradientTape() as tape:
            out = layer(x, mask=mask, training=True)
        assert tape.gradient(out, layer.trainable_weights)[0] is not None
        with pytest.raises(AssertionError, match="inference loop"):
            layer(x, mask=mask, training=False)
    assert not _graph.active()
    layer(x, mask=mask, training=False)  # outside the block: the compiled loop again


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("name", ["elman", "peephole-diagonal", "peephole-full"])
def test_uncompiled_training_gives_the_compiled_gradients(name, return_sequences):
    from seqkit.cells import uncompiled_training

    layer_class, kwargs = CONFIGS[name]
    layer = layer_class(5, return_sequences=return_sequences, **kwargs)
    x, mask, _ = inputs()
    layer(x)
    layer.set_weights(random_weights(layer))
    x = tf.constant(x)

    def gradients():
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.sin(layer(x, mask=mask, training=True)))
        return [loss, *tape.gradient(loss, [x, *layer.trainable_weights])]

    compiled = gradients()
    forward = _fast._elman_forward if name == "elman" else _fast._lstm_forward
    before = forward.experimental_get_tracing_count()
    with uncompiled_training():
        plain = gradients()
    assert forward.experimental_get_tracing_count() == before
    for got, want in zip(plain, compiled):
        np.testing.assert_allclose(got, want, atol=1e-5)
