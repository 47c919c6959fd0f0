"""Initial states: every form Keras' SimpleRNN and LSTM take gives their numbers on both paths;
every form they refuse gets a seqkit error naming 'initial_state'."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from seqkit.cells import ElmanRNN, PeepholeLSTM
from seqkit.exceptions import InputTypeError, InvalidInputError
from tests.cells.reference import same_random_weights

UNITS, FEATURES, BATCH, STEPS = 3, 2, 4, 5
KINDS = {
    "elman": (ElmanRNN, {}, keras.layers.SimpleRNN, 1),
    "lstm": (PeepholeLSTM, {"peepholes": None}, keras.layers.LSTM, 2),
}
PATHS = {"fast": True, "portable": False}


def _pair(kind, fast_path, **kwargs):
    """Ours and the Keras built-in, built and given the same random weights."""
    ours, extra, theirs, _ = KINDS[kind]
    mine = ours(UNITS, fast_path=fast_path, return_sequences=True, return_state=True,
                **extra, **kwargs)
    builtin = theirs(UNITS, return_sequences=True, return_state=True, **kwargs)
    return same_random_weights(mine, builtin, features=FEATURES)


def _x(batch=BATCH, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, STEPS, FEATURES)).astype("float32")


def _states(n, shape, dtype="float32", seed=1):
    rng = np.random.default_rng(seed)
    return [rng.normal(scale=0.8, size=shape).astype(dtype) for _ in range(n)]


def _assert_same(got, want, atol=1e-5):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert tuple(g.shape) == tuple(w.shape)
        np.testing.assert_allclose(np.asarray(g, "float64"), np.asarray(w, "float64"), atol=atol)


# (case, sequences batch, make(n_states) -> (ours' initial_state, Keras' initial_state))
ACCEPTED = [
    ("batch 1, shared by every sequence", BATCH, lambda n: [_states(n, (1, UNITS))] * 2),
    ("shape (units,), shared", BATCH, lambda n: [_states(n, (UNITS,))] * 2),
    ("a tuple", BATCH, lambda n: [tuple(_states(n, (BATCH, UNITS)))] * 2),
    ("float64", BATCH, lambda n: [_states(n, (BATCH, UNITS), "float64")] * 2),
    ("float16", BATCH, lambda n: [_states(n, (BATCH, UNITS), "float16")] * 2),
    ("int32", BATCH, lambda n: [[np.arange(BATCH * UNITS).reshape(BATCH, UNITS) % 3 - 1] * n] * 2),
    ("bool", BATCH, lambda n: [[np.eye(BATCH, UNITS, dtype=bool)] * n] * 2),
    ("tensors", BATCH, lambda n: [[tf.constant(s) for s in _states(n, (BATCH, UNITS))]] * 2),
    ("sequences of batch 1 from every state", 1, lambda n: [_states(n, (BATCH, UNITS))] * 2),
    ("states of batch 1 and batch B together", BATCH,
     lambda n: [[*_states(n - 1, (BATCH, UNITS)), *_states(1, (1, UNITS))]] * 2),
    # Keras reads nested Python lists as more states; they are read as arrays here.
    ("Python lists", BATCH,
     lambda n: (lambda s: ([x.tolist() for x in s], s))(_states(n, (BATCH, UNITS)))),
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("batch", "make"), [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_initial_states_keras_takes_give_its_numbers(kind, path, batch, make):
    mine, builtin = _pair(kind, PATHS[path])
    ours_state, keras_state = make(KINDS[kind][3])
    x = _x(batch)
    want = builtin(x, initial_state=keras_state)
    _assert_same(mine(x, initial_state=ours_state), want)


def test_the_single_state_of_elman_may_be_given_bare():
    for path in PATHS.values():
        mine, builtin = _pair("elman", path)
        h0 = _states(1, (1, UNITS))[0]
        _assert_same(mine(_x(), initial_state=h0), builtin(_x(), initial_state=h0))


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("kind", KINDS)
def test_gradients_through_a_shared_state_equal_keras(kind, path):
    """A batch-1 state gets the gradient summed over the sequences it starts, as in Keras."""
    mine, builtin = _pair(kind, PATHS[path])
    x = tf.constant(_x())
    grads = []
    for layer in (mine, builtin):
        states = [tf.Variable(s) for s in _states(KINDS[kind][3], (1, UNITS))]
        with tf.GradientTape() as tape:
            tape.watch(x)
            output, *finals = layer(x, initial_state=states, training=True)
            loss = tf.reduce_sum(output ** 2) + sum(tf.reduce_sum(f) for f in finals)
        grads.append(tape.gradient(loss, [x, *states, *layer.trainable_weights]))
    _assert_same(*grads, atol=1e-4)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("kind", KINDS)
def test_shared_states_in_graphs_and_models(kind, path):
    """In a traced function (static or unknown batch) and in a functional model, a batch-1
    state gives the eager numbers (Keras' own layers fail in the static-shape function)."""
    mine, builtin = _pair(kind, PATHS[path])
    n = KINDS[kind][3]
    x, states = _x(), _states(n, (1, UNITS))
    want = builtin(x, initial_state=states)
    static = tf.function(lambda x, s: mine(x, initial_state=s))
    _assert_same(static(tf.constant(x), [tf.constant(s) for s in states]), want)
    dynamic = tf.function(lambda x, s: mine(x, initial_state=s), input_signature=[
        tf.TensorSpec((None, None, FEATURES)), [tf.TensorSpec((None, UNITS))] * n,
    ])
    _assert_same(dynamic(tf.constant(x), [tf.constant(s) for s in states]), want)
    inputs = keras.Input((None, FEATURES))
    state_inputs = [keras.Input((UNITS,)) for _ in range(n)]
    model = keras.Model([inputs, *state_inputs], mine(inputs, initial_state=state_inputs))
    _assert_same(model([x, *states]), want)
    symbolic = mine(keras.Input((STEPS, FEATURES), batch_size=1),
                    initial_state=[keras.Input((UNITS,), batch_size=BATCH)] * n)
    assert [tuple(t.shape) for t in symbolic] == [(BATCH, STEPS, UNITS)] + [(BATCH, UNITS)] * n


def _shapes_pattern(count):
    return r"Got shapes \[" + ", ".join([rf"\({BATCH}, {UNITS}\)"] * count) + r"\]\."


# (case, make(n_states), error, pattern of what was received (or a function of n_states giving
# it), Keras refuses it too)
REFUSED = [
    ("wrong size", lambda n: _states(n, (BATCH, UNITS + 2)), InvalidInputError,
     rf"Got shapes \[\({BATCH}, {UNITS + 2}\)", True),
    ("batch neither 1 nor that of the sequences", lambda n: _states(n, (BATCH + 1, UNITS)),
     InvalidInputError, rf"\({BATCH}\)\. Got shapes \[\({BATCH + 1}, {UNITS}\)", True),
    ("a scalar", lambda n: [np.float32(0.5)] * n, InvalidInputError, r"Got shapes \[\(\)", True),
    ("one state too many", lambda n: _states(n + 1, (BATCH, UNITS)), InvalidInputError,
     lambda n: _shapes_pattern(n + 1), True),
    ("one state too few", lambda n: _states(n - 1, (BATCH, UNITS)), InvalidInputError,
     lambda n: _shapes_pattern(n - 1), True),
    ("None", lambda n: [None] * n, InputTypeError, r"Got None at position 0", True),
    ("strings", lambda n: [np.full((BATCH, UNITS), "a")] * n, InputTypeError,
     r"real numbers\. Got dtype str\w* at position 0", True),
    ("a list of lists of tensors", lambda n: [_states(n, (BATCH, UNITS))], InvalidInputError,
     lambda n: rf"Got shapes \[\({n}, {BATCH}, {UNITS}\)\]", True),
    # SimpleRNN returns an output of shape (1, batch, units) for these (LSTM refuses them):
    # not a layer's output, so refused for both.
    ("3-D", lambda n: _states(n, (1, BATCH, UNITS)), InvalidInputError,
     rf"Got shapes \[\(1, {BATCH}, {UNITS}\)", False),
    # Keras casts complex states to float, dropping the imaginary part without a word.
    ("complex", lambda n: [np.ones((BATCH, UNITS), complex)] * n, InputTypeError,
     r"Got dtype complex128 at position 0", False),
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("make", "error", "received", "keras_refuses"),
                         [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_initial_states_keras_refuses_get_a_seqkit_error(kind, path, make, error, received,
                                                          keras_refuses):
    mine, builtin = _pair(kind, PATHS[path])
    n = KINDS[kind][3]
    states = make(n)
    received = received(n) if callable(received) else received
    if keras_refuses:
        with pytest.raises(Exception):  # noqa: B017 - any of Keras' or TensorFlow's errors
            builtin(_x(), initial_state=states)
    with pytest.raises(error, match=r"^The 'initial_state' argument of "
                                    rf"{type(mine).__name__} must be .*{received}") as caught:
        mine(_x(), initial_state=states)
    assert type(caught.value) is error
    assert "(batch, 3)" in str(caught.value)


def test_a_bare_tensor_for_the_two_lstm_states_is_refused():
    mine, builtin = _pair("lstm", True)
    h0 = _states(1, (BATCH, UNITS))[0]
    with pytest.raises(IndexError):
        builtin(_x(), initial_state=h0)
    with pytest.raises(InvalidInputError, match=r"a list of 2 tensors, one per state.*Got "
                                                rf"shapes \[\({BATCH}, {UNITS}\)\]\."):
        mine(_x(), initial_state=h0)


def test_symbolic_states_of_the_wrong_size_are_refused_when_the_model_is_built():
    inputs = keras.Input((None, FEATURES))
    with pytest.raises(InvalidInputError, match=r"'initial_state' argument of PeepholeLSTM.*"
                                                r"Got shapes \[\(None, 5\), \(None, 5\)\]"):
        PeepholeLSTM(UNITS)(inputs, initial_state=[keras.Input((5,)), keras.Input((5,))])
