"""The cells compute their equations: NumPy references, Keras built-ins, finite differences."""

import contextlib

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


def _gradients_at_any_batch(layer, masked, weights_out):
    """``gradients(x, mask, *states)`` of :func:`_sequence_loss` in training, and the same
    traced for a batch known only at run time."""

    def gradients(x, mask, *states):
        with tf.GradientTape() as tape:
            tape.watch([x, *states])
            loss = _sequence_loss(layer, x, mask if masked else None, list(states),
                                  weights_out, training=True)
        return tape.gradient(loss, [*layer.trainable_weights, x, *states])

    n_states = len(layer.cell.state_size) if isinstance(layer.cell.state_size, list) else 1
    any_batch = tf.function(gradients, input_signature=[
        tf.TensorSpec((None, STEPS, FEATURES), tf.float64), tf.TensorSpec((None, STEPS), tf.bool),
        *[tf.TensorSpec((None, UNITS), tf.float64)] * n_states])
    return gradients, any_batch


@pytest.mark.parametrize("masked", [True, False], ids=["masked", "unmasked"])
@pytest.mark.parametrize("name", [name for name in CONFIGS if name.startswith("peephole")])
def test_both_lstm_backward_loops_give_the_same_gradients(name, masked):
    """The XLA loop that stores dz (checked against finite differences above) and the plain
    loop that adds up the weight gradients (the passes compiled without XLA), also when the
    batch size is known only at run time."""
    from seqkit.cells import uncompiled_training

    layer = make_layer(name, True, dtype="float64")
    x, mask, states = inputs("float64", seed=3)
    args = [tf.constant(x), tf.constant(mask), *[tf.constant(s) for s in states[:2]]]
    layer(x)
    layer.set_weights(random_weights(layer, seed=4))
    weights_out = tf.constant(np.random.default_rng(5).normal(size=(BATCH, STEPS, UNITS)))
    found = {}
    for loop in ("xla", "sums"):
        gradients, any_batch = _gradients_at_any_batch(layer, masked, weights_out)
        with uncompiled_training() if loop == "sums" else contextlib.nullcontext():
            found[loop] = gradients(*args)
            found[loop + ", batch unknown"] = any_batch(*args)
    for loop, grads in found.items():
        for got, want in zip(grads, found["xla"]):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=loop)


def _calls(function, *args, name):
    """Calls of functions whose name holds ``name`` in ``function``'s graph for ``args``
    (both branches of a ``tf.cond`` count)."""
    graph = function.get_concrete_function(*args).graph.as_graph_def()
    nodes = [*graph.node, *(n for f in graph.library.function for n in f.node_def)]
    return sum(name in node.attr["f"].func.name for node in nodes if "f" in node.attr)


@pytest.mark.parametrize("masked", [True, False], ids=["masked", "unmasked"])
@pytest.mark.parametrize("name", [name for name in CONFIGS if name != "elman-relu-nobias"])
def test_a_batch_run_in_two_parts_gives_the_whole_batchs_numbers(name, masked, monkeypatch):
    """On a CPU with two cores the fast path runs the two halves of the batch (here an odd
    one) as separate loops: the same outputs, final states and gradients as one loop over
    the whole batch, in training and inference. A batch known only at run time runs in
    halves too, a batch of 1 with an empty second half."""
    from seqkit.cells import _fast
    layer = make_layer(name, True, dtype="float64")
    x, mask, states = inputs("float64", seed=6)
    rows = [0, 1, 2, 3, 1]  # an odd batch: halves of 3 and 2 sequences
    n_states = 1 if CONFIGS[name][0] is ElmanRNN else 2
    args = [tf.constant(x[rows]), tf.constant(mask[rows]),
            *[tf.constant(s[rows]) for s in states[:n_states]]]
    layer(x)
    layer.set_weights(random_weights(layer, seed=7))
    weights_out = tf.constant(np.random.default_rng(5).normal(size=(len(rows), STEPS, UNITS)))
    forward = "_elman_forward" if n_states == 1 else "_lstm_forward"

    def outputs(x, mask, *states):
        return layer(x, mask=mask if masked else None, initial_state=list(states))

    found = {}
    for run in ("whole", "parts"):
        monkeypatch.setattr(_fast, "_parts_run_at_once", lambda run=run: run == "parts")
        gradients, any_batch = _gradients_at_any_batch(layer, masked, weights_out)
        known = tf.function(outputs)
        found[run] = [known(*args), gradients(*args)]
        assert _calls(known, *args, name=forward) == (1 if run == "whole" else 2)
        any_outputs = tf.function(outputs, input_signature=any_batch.input_signature)
        found[run + ", batch unknown"] = [any_outputs(*args), any_batch(*args)]
        assert _calls(any_batch, *args, name=forward) == (1 if run == "whole" else 2)
        first = [a[:1] for a in args]
        found[run + ", batch of 1"] = [any_outputs(*first), any_batch(*first)]
    for run, got in found.items():
        want = found["whole, batch of 1" if run.endswith("of 1") else "whole"]
        tf.nest.map_structure(
            lambda a, b, run=run: np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12,
                                                             err_msg=run),
            got, want)


def test_the_batch_runs_whole_where_its_parts_would_not_run_at_once(monkeypatch):
    """The halves run at once only in a graph, on a CPU, with two cores and two inter-op
    threads or more; elsewhere they would run one after the other."""
    from seqkit.cells import _fast

    def in_graph():
        check = tf.function(lambda: tf.constant(_fast._parts_run_at_once()), autograph=False)
        return check().numpy()

    monkeypatch.setattr(_fast, "_cores", lambda: 2)
    monkeypatch.setattr(tf.config.threading, "get_inter_op_parallelism_threads", lambda: 0)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    assert in_graph()
    assert not _fast._parts_run_at_once()  # eager
    monkeypatch.setattr(_fast, "_cores", lambda: 1)
    assert not in_graph()
    monkeypatch.setattr(_fast, "_cores", lambda: 2)
    monkeypatch.setattr(tf.config.threading, "get_inter_op_parallelism_threads", lambda: 1)
    assert not in_graph()
    monkeypatch.setattr(tf.config.threading, "get_inter_op_parallelism_threads", lambda: 0)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["a GPU"])
    assert not in_graph()


@pytest.mark.parametrize("name", ["elman", "peephole-diagonal"])
def test_halves_give_the_whole_batchs_gradients_of_an_inference_pass_run_backwards(
        name, monkeypatch):
    """A gradient asked of an inference pass (gradient diagnostics, saliency) reruns each
    half's forward loop with storage: with go_backwards and a state of batch 1 shared by every
    sequence, the halves give the whole batch's outputs and gradients."""
    from seqkit.cells import _fast

    layer = make_layer(name, True, dtype="float64", go_backwards=True)
    x, mask, states = inputs("float64", seed=9)
    x, mask = tf.constant(x), tf.constant(mask)
    n_states = 1 if CONFIGS[name][0] is ElmanRNN else 2
    shared = [tf.constant(s[:1]) for s in states[:n_states]]
    layer(x)
    layer.set_weights(random_weights(layer, seed=10))

    @tf.function
    def outputs_and_gradients(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = layer(x, mask=mask, initial_state=shared, training=False)
            loss = tf.reduce_sum(out[0] ** 2)
        return out, tape.gradient(loss, [x, *layer.trainable_weights])

    found = {}
    for run in ("whole", "halves"):
        monkeypatch.setattr(_fast, "_parts_run_at_once", lambda run=run: run == "halves")
        found[run] = tf.function(outputs_and_gradients.python_function)(x)
    tf.nest.map_structure(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12),
        found["halves"], found["whole"])


@pytest.mark.parametrize("layer_class", [ElmanRNN, PeepholeLSTM])
def test_a_stateful_layer_runs_in_two_parts_where_only_its_states_know_the_batch(layer_class,
                                                                               monkeypatch):
    """Keras gives a stateful layer states of its fixed batch, also inside a function traced
    for any batch: the fast path takes the parts' sizes from them, and gives the portable
    path's numbers over two calls (the second starts from the first's final states)."""
    from seqkit.cells import _fast

    monkeypatch.setattr(_fast, "_parts_run_at_once", lambda: True)
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
            forward = "_elman_forward" if layer_class is ElmanRNN else "_lstm_forward"
            assert _calls(call, name=forward) == 2  # one per half
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
