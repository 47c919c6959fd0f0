"""The cells compute their equations: NumPy references, Keras built-ins, finite differences."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from seqkit.cells import ElmanRNN, PeepholeLSTM
from tests.cells.reference import elman_step, peephole_lstm_step, random_weights, run_reference

CONFIGS = {
    "elman": (ElmanRNN, {}),
    "elman-relu-nobias": (ElmanRNN, {"activation": "relu", "use_bias": False}),
    "peephole-diagonal": (PeepholeLSTM, {}),
    "peephole-full": (PeepholeLSTM, {"peepholes": "full"}),
    "peephole-none": (PeepholeLSTM, {"peepholes": None}),
    "peephole-clipped": (PeepholeLSTM, {"cell_clip": 0.4}),
}
UNITS, FEATURES, BATCH, STEPS = 5, 3, 4, 9


def make_layer(name, fast_path, dtype="float32", **extra):
    layer_class, kwargs = CONFIGS[name]
    return layer_class(
        UNITS, fast_path=fast_path, dtype=dtype, return_sequences=True, return_state=True,
        **kwargs, **extra,
    )


def reference_step(name, weights):
    layer_class, kwargs = CONFIGS[name]
    if layer_class is ElmanRNN:
        if not kwargs.get("use_bias", True):
            weights = [*weights, np.zeros(UNITS)]
        activation = (lambda z: np.maximum(z, 0)) if kwargs.get("activation") == "relu" else np.tanh
        return elman_step(weights, activation)
    return peephole_lstm_step(
        weights, kwargs.get("peepholes", "diagonal"), kwargs.get("cell_clip")
    )


def inputs(dtype="float32", seed=0):
    """A batch with an arbitrary mask: leading, inner and trailing masked steps, one all-real."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(BATCH, STEPS, FEATURES)).astype(dtype)
    mask = rng.random((BATCH, STEPS)) > 0.35
    mask[0] = True
    mask[1, :3] = False
    states = [rng.normal(scale=0.5, size=(BATCH, UNITS)).astype(dtype) for _ in range(2)]
    return x, mask, states


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("fast_path", [True, False], ids=["fast", "portable"])
@pytest.mark.parametrize("name", CONFIGS)
def test_layer_matches_numpy_reference(name, fast_path, go_backwards):
    layer = make_layer(name, fast_path, go_backwards=go_backwards)
    x, mask, states = inputs()
    n_states = 1 if CONFIGS[name][0] is ElmanRNN else 2
    layer(x)
    weights = random_weights(layer)
    layer.set_weights(weights)

    got = layer(x, mask=mask, initial_state=states[:n_states])
    want_out, want_states = run_reference(
        reference_step(name, weights), x.astype("float64"), states[:n_states], mask, go_backwards
    )
    np.testing.assert_allclose(got[0], want_out, atol=1e-5)
    for got_state, want_state in zip(got[1:], want_states):
        np.testing.assert_allclose(got_state, want_state, atol=1e-5)


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("fast_path", [True, False], ids=["fast", "portable"])
@pytest.mark.parametrize(
    "ours, theirs",
    [
        ((ElmanRNN, {}), keras.layers.SimpleRNN),
        ((PeepholeLSTM, {"peepholes": None}), keras.layers.LSTM),
    ],
    ids=["elman=SimpleRNN", "peephole-off=LSTM"],
)
def test_layer_equals_keras_builtin_with_same_weights(ours, theirs, fast_path, go_backwards):
    x, mask, _ = inputs()
    layer_class, kwargs = ours
    mine = layer_class(UNITS, return_sequences=True, go_backwards=go_backwards,
                       fast_path=fast_path, **kwargs)
    builtin = theirs(UNITS, return_sequences=True, go_backwards=go_backwards)
    mine(x)
    builtin(x)
    weights = random_weights(mine)
    mine.set_weights(weights)
    builtin.set_weights(weights)
    np.testing.assert_allclose(mine(x, mask=mask), builtin(x, mask=mask), atol=1e-5)
    np.testing.assert_allclose(mine(x), builtin(x), atol=1e-5)


def _sequence_loss(layer, x, mask, states, weights_out, training=False):
    out = layer(x, mask=mask, initial_state=states, training=training)
    return tf.reduce_sum(out[0] * weights_out) + sum(tf.reduce_sum(s * s) for s in out[1:])


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast", "portable"])
@pytest.mark.parametrize("name", CONFIGS)
def test_gradients_match_central_finite_differences(name, fast_path):
    """Backpropagation through time, checked entry by entry in float64.

    The analytic gradient comes from the training pass (which stores the
    forward activations); the differences from inference passes.
    """
    layer = make_layer(name, fast_path, dtype="float64")
    x, mask, states = inputs("float64", seed=3)
    states = [tf.constant(s) for s in states[: 1 if CONFIGS[name][0] is ElmanRNN else 2]]
    x = tf.constant(x)
    layer(x)
    layer.set_weights(random_weights(layer, seed=4))
    weights_out = tf.constant(np.random.default_rng(5).normal(size=(BATCH, STEPS, UNITS)))

    with tf.GradientTape() as tape:
        tape.watch([x, *states])
        loss = _sequence_loss(layer, x, mask, states, weights_out, training=True)
    grads = tape.gradient(loss, [*layer.trainable_weights, x, *states])

    rng = np.random.default_rng(6)
    eps = 1e-6
    for variable, grad in zip(layer.trainable_weights, grads):
        value = variable.numpy()
        for index in map(tuple, rng.integers(0, value.shape, size=(6, value.ndim))):
            shifted = []
            for sign in (1, -1):
                bumped = value.copy()
                bumped[index] += sign * eps
                variable.assign(bumped)
                shifted.append(float(_sequence_loss(layer, x, mask, states, weights_out)))
            variable.assign(value)
            numeric = (shifted[0] - shifted[1]) / (2 * eps)
            np.testing.assert_allclose(
                grad.numpy()[index], numeric, rtol=1e-5, atol=1e-7, err_msg=f"{variable.path}"
            )
    x_grad = grads[len(layer.trainable_weights)].numpy()
    bumped = x.numpy().copy()
    bumped[2, 4, 1] += eps
    up = float(_sequence_loss(layer, tf.constant(bumped), mask, states, weights_out))
    bumped[2, 4, 1] -= 2 * eps
    down = float(_sequence_loss(layer, tf.constant(bumped), mask, states, weights_out))
    np.testing.assert_allclose(x_grad[2, 4, 1], (up - down) / (2 * eps), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("masked", [True, False], ids=["masked", "unmasked"])
@pytest.mark.parametrize("name", [name for name in CONFIGS if name.startswith("peephole")])
def test_both_lstm_backward_loops_give_the_same_gradients(name, masked, monkeypatch):
    """The XLA loop that stores dz (checked against finite differences above, where the
    batch is small) and the plain loop that adds up the weight gradients (chosen for large
    batches), also when the batch size is known only at run time."""
    from seqkit.cells import _fast

    layer = make_layer(name, True, dtype="float64")
    x, mask, states = inputs("float64", seed=3)
    states = [tf.constant(s) for s in states[:2]]
    layer(x)
    layer.set_weights(random_weights(layer, seed=4))
    weights_out = tf.constant(np.random.default_rng(5).normal(size=(BATCH, STEPS, UNITS)))

    def gradients(x, mask, *states):
        with tf.GradientTape() as tape:
            tape.watch([x, *states])
            loss = _sequence_loss(layer, x, mask if masked else None, list(states),
                                  weights_out, training=True)
        return tape.gradient(loss, [*layer.trainable_weights, x, *states])

    unknown_batch = tf.function(gradients, input_signature=[
        tf.TensorSpec((None, STEPS, FEATURES), tf.float64), tf.TensorSpec((None, STEPS), tf.bool),
        *[tf.TensorSpec((None, UNITS), tf.float64)] * 2])
    found = {}
    for loop, threshold in (("xla", 10**9), ("sums", 1)):
        monkeypatch.setattr(_fast, "ACCUMULATE_FROM", threshold)
        found[loop] = gradients(tf.constant(x), tf.constant(mask), *states)
        found[loop + ", batch unknown"] = unknown_batch(tf.constant(x), tf.constant(mask), *states)
        unknown_batch = tf.function(unknown_batch.python_function,
                                    input_signature=unknown_batch.input_signature)
    for loop, grads in found.items():
        for got, want in zip(grads, found["xla"]):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=loop)


def test_the_backward_loop_is_chosen_by_the_cpus_vector_width(tmp_path):
    """The plain loop's threshold applies on CPUs with AVX-512 only (read from the flags)."""
    from seqkit.cells import _fast

    flags = "flags\t\t: fpu sse2 avx avx2 fma"
    (tmp_path / "avx2").write_text(f"processor\t: 0\n{flags}\n")
    (tmp_path / "avx512").write_text(f"processor\t: 0\n{flags} avx512f avx512bw\n")
    (tmp_path / "vnni").write_text(f"processor\t: 0\n{flags} avx512_vnni_only\n")
    assert _fast._has_avx512(tmp_path / "avx512")
    assert not _fast._has_avx512(tmp_path / "avx2")
    assert not _fast._has_avx512(tmp_path / "vnni")
    assert not _fast._has_avx512(tmp_path / "missing")
    assert (_fast.ACCUMULATE_FROM is not None) == _fast._has_avx512()


def _matmuls_per_step(function):
    """MatMul ops in the body of the traced function's while loop (its largest subgraph)."""
    library = function.get_concrete_function().graph.as_graph_def().library.function
    return max(sum(node.op == "MatMul" for node in f.node_def) for f in library)


@pytest.mark.parametrize("store", [True, False], ids=["training", "inference"])
@pytest.mark.parametrize("name", [name for name in CONFIGS if name != "elman-relu-nobias"])
def test_forward_loops_give_the_same_numbers_on_the_two_halves_of_the_batch(name, store,
                                                                            monkeypatch):
    """A step on the whole batch and on its two halves (chosen for large batches in
    inference, here an odd one), also when the batch size is known only at run time;
    training keeps whole steps."""
    from seqkit.cells import _fast

    layer = make_layer(name, True, dtype="float64")
    x, mask, states = inputs("float64", seed=6)
    rows = [0, 1, 2, 3, 1]  # an odd batch: halves of 3 and 2 sequences
    x, mask, states = x[rows], mask[rows], [s[rows] for s in states]
    layer(x)
    layer.set_weights(random_weights(layer, seed=7))
    elman = CONFIGS[name][0] is ElmanRNN
    states = states[:1] if elman else states
    args = [tf.constant(np.swapaxes(x, 0, 1)), tf.constant(mask.T[..., None]),
            *[tf.constant(s) for s in states]]
    kwargs = CONFIGS[name][1]
    forward = _fast._elman_forward if elman else _fast._lstm_forward
    options = (("tanh",) if elman else
               (kwargs.get("peepholes", "diagonal"), kwargs.get("cell_clip")))
    per_piece = 1 + (3 if kwargs.get("peepholes") == "full" else 0)

    def run(x, mask, *states):
        return forward.python_function(x, list(states), mask,
                                       [tf.convert_to_tensor(w) for w in layer.weights],
                                       options, store, True)

    found = {}
    for loop, threshold, pieces in (("whole", 10**9, 1), ("halves", 1, 2)):
        monkeypatch.setattr(_fast, "HALVES_FROM", threshold)
        for batch in (5, None):
            compiled = tf.function(run, jit_compile=True, autograph=False, input_signature=[
                tf.TensorSpec((STEPS, batch, FEATURES), tf.float64),
                tf.TensorSpec((STEPS, batch, 1), tf.bool),
                *[tf.TensorSpec((batch, UNITS), tf.float64)] * len(states)])
            if batch is not None:
                assert _matmuls_per_step(compiled) == (1 if store else pieces) * per_piece
            found[f"{loop}, batch {batch}"] = compiled(*args)
    want = found["whole, batch 5"]
    names = ({"last", "h", "fresh"} if elman else {"last", "h", "gates", "c_new", "c"})
    assert set(want) == (names if store else {"last", "h"})
    for loop, got in found.items():
        tf.nest.map_structure(
            lambda a, b, loop=loop: np.testing.assert_allclose(a, b, rtol=1e-12, err_msg=loop),
            got, want)


@pytest.mark.parametrize("layer_class", [ElmanRNN, PeepholeLSTM])
def test_a_stateful_layer_runs_in_halves_where_only_its_states_know_the_batch(layer_class):
    """Keras gives a stateful layer states of its fixed batch, also inside a function traced
    for any batch: the fast path takes the halves' sizes from them, and gives the portable
    path's numbers over two calls (the second starts from the first's final states)."""
    batch = 40
    x = np.random.default_rng(8).normal(size=(batch, STEPS, FEATURES)).astype("float32")
    outputs = {}
    for fast_path in (False, True):
        layer = layer_class(UNITS, stateful=True, return_sequences=True, fast_path=fast_path)
        model = keras.Sequential([keras.Input((None, FEATURES), batch_size=batch), layer])
        model.set_weights(random_weights(model))
        call = tf.function(lambda x, model=model: model(x, training=False),
                           input_signature=[tf.TensorSpec((None, None, FEATURES))])
        outputs[fast_path] = [call(x), call(x)]
        if fast_path:
            assert _matmuls_per_step(call) == 2  # one per half
    np.testing.assert_allclose(outputs[True], outputs[False], atol=1e-5)


@pytest.mark.parametrize("name", CONFIGS)
def test_fast_and_portable_paths_agree_in_training_with_dropout(name):
    x, mask, _ = inputs()
    results = []
    for fast_path in (True, False):
        layer = make_layer(name, fast_path, dropout=0.3, seed=11)
        layer(x)
        layer.set_weights(random_weights(layer))
        with tf.GradientTape() as tape:
            out = layer(x, mask=mask, training=True)
            loss = tf.reduce_sum(out[0] ** 2)
        results.append([out[0], *tape.gradient(loss, layer.trainable_weights)])
    for fast, portable in zip(*results):
        np.testing.assert_allclose(fast, portable, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("name", ["elman", "peephole-diagonal"])
def test_zero_output_for_mask_matches_portable_path(name, return_sequences):
    x, mask, _ = inputs(seed=8)
    mask[2, -1] = False
    results = []
    for fast_path in (True, False):
        layer_class, kwargs = CONFIGS[name]
        layer = layer_class(UNITS, fast_path=fast_path, zero_output_for_mask=True,
                            return_sequences=return_sequences, **kwargs)
        layer(x)
        layer.set_weights(random_weights(layer))
        results.append(layer(x, mask=mask))
    np.testing.assert_allclose(results[0], results[1], atol=1e-5)
    if return_sequences:
        assert not np.any(np.asarray(results[0])[~mask])
