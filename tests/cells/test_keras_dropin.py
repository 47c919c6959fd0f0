"""Drop-in for Keras: every argument and input that ``keras.layers.SimpleRNN`` / ``LSTM`` and
their cells take, ElmanRNN / PeepholeLSTM (peepholes=None) and their cells take, with the same
result. The arguments are read from Keras' own signatures, so that a new Keras argument fails
here until seqkit decides what to do with it."""

import inspect
import re
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from seqkit.cells import ElmanRNN, ElmanRNNCell, PeepholeLSTM, PeepholeLSTMCell
from seqkit.exceptions import InputTypeError, InvalidInputError, InvalidParameterError
from tests.cells.reference import random_weights, same_random_weights

NO_PEEPHOLES = {"peepholes": None}
# (Keras class, seqkit class, seqkit arguments that make it the Keras one)
LAYERS = [(keras.layers.SimpleRNN, ElmanRNN, {}), (keras.layers.LSTM, PeepholeLSTM, NO_PEEPHOLES)]
CELLS = [(keras.layers.SimpleRNNCell, ElmanRNNCell, {}),
         (keras.layers.LSTMCell, PeepholeLSTMCell, NO_PEEPHOLES)]
IDS = ["SimpleRNN", "LSTM"]
UNITS, FEATURES, BATCH, STEPS = 3, 2, 4, 5

KERAS_VALUES = {
    "units": 4, "activation": "relu", "recurrent_activation": "hard_sigmoid", "use_bias": False,
    "kernel_initializer": "he_normal", "recurrent_initializer": "glorot_normal",
    "bias_initializer": "ones", "unit_forget_bias": False, "kernel_regularizer": "l2",
    "recurrent_regularizer": "l1", "bias_regularizer": keras.regularizers.L1L2(0.1, 0.2),
    "activity_regularizer": "l2", "kernel_constraint": "non_neg",
    "recurrent_constraint": "unit_norm", "bias_constraint": "max_norm", "dropout": 0.25,
    "recurrent_dropout": 0.125, "seed": 7, "return_sequences": True, "return_state": True,
    "go_backwards": True, "stateful": True, "unroll": True, "zero_output_for_mask": True,
    "use_cudnn": False, "implementation": 1, "name": "renamed", "dtype": "float64",
    "trainable": False, "autocast": False, "input_shape": (STEPS, FEATURES),
    "input_dim": FEATURES,
}
"""A value other than Keras' default for every argument that Keras' layers and cells take."""

STEERING = {"implementation", "use_cudnn"}
"""Arguments that only steer Keras' implementation: kept in seqkit's config (Keras drops them)."""

KERAS_DROPS = {("SimpleRNN", "activity_regularizer")}
"""Arguments Keras takes and then loses: SimpleRNN never passes its activity_regularizer on (its
config says None and it adds no loss); seqkit applies it, as LSTM does."""


def keras_arguments(keras_class):
    """Every argument ``keras_class`` takes: its signature, the signatures it passes ``**kwargs``
    on to (``keras.layers.RNN`` for a layer, ``keras.layers.Layer``), and the names its
    ``__init__`` pops from ``**kwargs`` (``implementation``)."""
    classes = [keras_class, keras.layers.Layer]
    if issubclass(keras_class, keras.layers.RNN):
        classes.append(keras.layers.RNN)
    names = {name for klass in classes
             for name, p in inspect.signature(klass.__init__).parameters.items()
             if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
    source = "".join(inspect.getsource(klass.__init__)
                     for klass in (keras_class, keras.layers.Layer))
    names |= set(re.findall(r"kwargs\.pop\(\s*[\"'](\w+)[\"']", source))
    return sorted(names - {"cell", "self"})


def _cases(pairs):
    return [(k, o, e, name) for k, o, e in pairs for name in keras_arguments(k)]


def _build(layer, keras_class):
    if isinstance(layer, keras.layers.RNN):
        layer.build((BATCH, STEPS, FEATURES))
        return layer
    wrapped = keras.layers.RNN(layer, return_sequences=True, return_state=True)
    wrapped.build((BATCH, STEPS, FEATURES))
    return wrapped


def _made(klass, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # input_shape/input_dim warn, as in Keras
        return klass(**kwargs)


def _outputs(layer, x, mask):
    out = layer(x, mask=mask)
    if getattr(layer, "stateful", False):
        out = layer(x, mask=mask)  # the second call starts from the first's final states
    out = out if isinstance(out, (list, tuple)) else [out]
    return [np.asarray(o, "float64") for o in out]


@pytest.mark.parametrize(("keras_class", "ours", "extra", "name"), _cases(LAYERS + CELLS),
                         ids=[f"{k.__name__}-{n}" for k, _, _, n in _cases(LAYERS + CELLS)])
def test_every_keras_argument_is_taken_with_the_same_result(keras_class, ours, extra, name):
    assert name in KERAS_VALUES, (
        f"{keras_class.__name__} takes a new argument {name!r}: decide what seqkit does with "
        "it and give it a non-default value in KERAS_VALUES"
    )
    kwargs = {"units": UNITS, name: KERAS_VALUES[name]}
    try:
        theirs = _made(keras_class, kwargs)
    except ValueError:  # Keras passes it on and refuses it later (zero_output_for_mask, cells)
        with pytest.raises(ValueError, match=rf"Unrecognized keyword arguments.*{name}"):
            _made(ours, {**kwargs, **extra})
        return
    mine = _made(ours, {**kwargs, **extra})

    config, keras_config = mine.get_config(), theirs.get_config()
    dropped = (keras_class.__name__, name) in KERAS_DROPS
    if name in keras_config and not dropped:
        assert config[name] == keras_config[name], name
    if name in STEERING:
        assert config[name] == KERAS_VALUES[name], name
    if dropped:
        assert isinstance(keras.regularizers.get(config[name]), keras.regularizers.L2)
    assert _made(type(mine), config).get_config() == config, f"{name!r} is lost by from_config"

    mine_built, theirs_built = _build(mine, keras_class), _build(theirs, keras_class)
    assert [w.shape for w in mine_built.weights] == [w.shape for w in theirs_built.weights]
    if name in ("bias_initializer", "unit_forget_bias"):  # deterministic initial values
        np.testing.assert_array_equal(getattr(mine, "cell", mine).bias.numpy(),
                                      getattr(theirs, "cell", theirs).bias.numpy())
    assert len(mine_built.trainable_weights) == len(theirs_built.trainable_weights)
    weights = random_weights(mine_built)
    mine_built.set_weights(weights)
    theirs_built.set_weights(weights)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    mask = np.arange(STEPS)[None, :] < np.array([[5], [3], [1], [4]])
    for got, want in zip(_outputs(mine_built, x, mask), _outputs(theirs_built, x, mask),
                         strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5, err_msg=name)
    if not dropped:
        np.testing.assert_allclose(sum(float(v) for v in mine_built.losses),
                                   sum(float(v) for v in theirs_built.losses), rtol=1e-5)


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast", "portable"])
@pytest.mark.parametrize(("keras_class", "ours", "extra"), LAYERS, ids=IDS)
def test_activity_regularizer_sees_the_layer_output_once(keras_class, ours, extra, fast_path):
    layer = ours(UNITS, activity_regularizer="l2", fast_path=fast_path, **extra)
    lstm = keras.layers.LSTM(UNITS, activity_regularizer="l2")
    x = np.random.default_rng(0).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    out = layer(x)
    lstm(x)
    assert len(layer.losses) == len(lstm.losses) == 1
    want = keras.regularizers.L2()(out) / BATCH
    np.testing.assert_allclose(float(layer.losses[0]), float(want), rtol=1e-6)


def test_the_call_arguments_are_keras_own():
    for keras_class, ours, _ in LAYERS + CELLS:
        keras_call = list(inspect.signature(keras_class.call).parameters.values())
        our_call = list(inspect.signature(ours.call).parameters.values())
        if issubclass(ours, keras.layers.RNN):
            assert [(p.name, p.default) for p in our_call] == [
                (p.name, p.default) for p in keras_call], ours.__name__
        else:  # a cell's step input is positional (SimpleRNNCell names it "sequence")
            assert [(p.name, p.default) for p in our_call[2:]] == [
                (p.name, p.default) for p in keras_call[2:]], ours.__name__


def _pair(keras_class, ours, extra, fast_path, dtype="float32"):
    mine = ours(UNITS, fast_path=fast_path, dtype=dtype, return_sequences=True, **extra)
    theirs = keras_class(UNITS, dtype=dtype, return_sequences=True)
    return same_random_weights(mine, theirs, features=FEATURES)


INPUT_DTYPES = ["float16", "float32", "float64", "int32", "int64", "uint8", "bool"]
TOLERANCE = {"float16": 5e-3, "mixed_float16": 5e-3, "float32": 1e-5, "float64": 1e-12}


@pytest.mark.parametrize("layer_dtype", ["float32", "float64", "float16", "mixed_float16"])
@pytest.mark.parametrize("fast_path", [True, False], ids=["fast", "portable"])
@pytest.mark.parametrize(("keras_class", "ours", "extra"), LAYERS, ids=IDS)
def test_input_dtypes_keras_takes_give_its_numbers(keras_class, ours, extra, fast_path,
                                                   layer_dtype):
    mine, theirs = _pair(keras_class, ours, extra, fast_path, layer_dtype)
    x = np.random.default_rng(0).normal(scale=2.0, size=(BATCH, STEPS, FEATURES))
    for dtype in INPUT_DTYPES:
        inputs = x.astype(dtype)
        got, want = mine(inputs), theirs(inputs)
        assert got.dtype == want.dtype, dtype
        np.testing.assert_allclose(np.asarray(got, "float64"), np.asarray(want, "float64"),
                                   atol=TOLERANCE[layer_dtype], err_msg=dtype)


@pytest.mark.parametrize(("keras_class", "ours", "extra"), CELLS, ids=IDS)
def test_cells_take_the_input_dtypes_keras_cells_take(keras_class, ours, extra):
    x = np.random.default_rng(0).normal(scale=2.0, size=(BATCH, STEPS, FEATURES))
    mine, theirs = same_random_weights(keras.layers.RNN(ours(UNITS, **extra)),
                                       keras.layers.RNN(keras_class(UNITS)), features=FEATURES)
    for dtype in INPUT_DTYPES:
        np.testing.assert_allclose(mine(x.astype(dtype)), theirs(x.astype(dtype)), atol=1e-5,
                                   err_msg=dtype)


MASK = np.array([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1], [0, 1, 1, 0, 1]])
MASKS = {
    "bool": MASK.astype(bool), "int": MASK, "float": MASK.astype("float32"),
    "(batch, timesteps, 1)": MASK[..., None].astype(bool), "batch 1": MASK[:1].astype(bool),
    "one per input": [MASK.astype(bool)],
}


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast", "portable"])
@pytest.mark.parametrize(("keras_class", "ours", "extra"), LAYERS, ids=IDS)
def test_masks_keras_takes_give_its_numbers(keras_class, ours, extra, fast_path):
    mine, theirs = _pair(keras_class, ours, extra, fast_path)
    x = np.random.default_rng(1).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    for name, mask in MASKS.items():
        want = theirs(x, mask=mask if name != "one per input" else mask[0])
        np.testing.assert_allclose(mine(x, mask=mask), want, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("batch_known", [True, False], ids=["batch known", "batch unknown"])
@pytest.mark.parametrize(("keras_class", "ours", "extra"), LAYERS, ids=IDS)
def test_a_mask_of_batch_1_is_shared_by_a_batch_run_in_two_parts(keras_class, ours, extra,
                                                                 batch_known, monkeypatch):
    """The fast path runs the two halves of the batch as two loops; a mask of batch 1 (shared
    by every sequence) is widened to the batch first."""
    from seqkit.cells import _fast

    monkeypatch.setattr(_fast, "_parts_run_at_once", lambda: True)
    batch = 25
    mine, theirs = _pair(keras_class, ours, extra, fast_path=True)
    x = np.random.default_rng(2).normal(size=(batch, STEPS, FEATURES)).astype("float32")

    def call(x, mask):
        return mine(x, mask=mask)

    if not batch_known:
        call = tf.function(call, input_signature=[tf.TensorSpec((None, STEPS, FEATURES)),
                                                  tf.TensorSpec((1, STEPS), tf.bool)])
    got = call(tf.constant(x), tf.constant(MASK[:1].astype(bool)))
    np.testing.assert_allclose(got, theirs(x, mask=np.repeat(MASK[:1], batch, 0).astype(bool)),
                               atol=1e-5)


# (case, mask, error, pattern)
BAD_MASKS = [
    ("wrong number of steps", np.ones((BATCH, STEPS + 1), bool), InvalidInputError,
     rf"Got shape \({BATCH}, {STEPS + 1}\) for sequences of shape \({BATCH}, {STEPS}, "),
    ("wrong batch", np.ones((BATCH + 1, STEPS), bool), InvalidInputError,
     rf"Got shape \({BATCH + 1}, {STEPS}\)"),
    ("1-D", np.ones(STEPS, bool), InvalidInputError, rf"Got shape \({STEPS},\)"),
    ("strings", np.full((BATCH, STEPS), "a"), InputTypeError, r"Got dtype str"),
]


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast", "portable"])
@pytest.mark.parametrize(("keras_class", "ours", "extra"), LAYERS, ids=IDS)
@pytest.mark.parametrize(("mask", "error", "pattern"), [c[1:] for c in BAD_MASKS],
                         ids=[c[0] for c in BAD_MASKS])
def test_masks_keras_refuses_get_a_seqkit_error(keras_class, ours, extra, fast_path, mask,
                                                error, pattern):
    mine, theirs = _pair(keras_class, ours, extra, fast_path)
    x = np.zeros((BATCH, STEPS, FEATURES), "float32")
    with pytest.raises(Exception):  # noqa: B017 - any of Keras' or TensorFlow's errors
        theirs(x, mask=mask)
    with pytest.raises(error, match=rf"^The 'mask' argument of {ours.__name__} must be a "
                                    rf"\(batch, timesteps\) tensor.*{pattern}"):
        mine(x, mask=mask)


@pytest.mark.parametrize("dtype", ["complex64", "str"])
@pytest.mark.parametrize(("keras_class", "ours", "extra"), LAYERS, ids=IDS)
def test_sequences_keras_refuses_get_a_seqkit_error(keras_class, ours, extra, dtype):
    mine, theirs = _pair(keras_class, ours, extra, True)
    x = np.ones((BATCH, STEPS, FEATURES)).astype(dtype)
    with pytest.raises(Exception):  # noqa: B017 - any of Keras' or TensorFlow's errors
        theirs(x)
    with pytest.raises(InputTypeError, match=rf"^The 'sequences' input of {ours.__name__} must "
                                             r"hold real numbers .* Got dtype (complex64|str)"):
        mine(x)


@pytest.mark.parametrize(("shape", "pattern"), [
    ((BATCH, STEPS, FEATURES + 1),
     rf"must have {FEATURES} features per step, as when the layer was built\. "
     rf"Got shape \({BATCH}, {STEPS}, {FEATURES + 1}\)"),
    ((BATCH, 0, FEATURES),
     rf"must have at least one time step\. Got shape \({BATCH}, 0, {FEATURES}\)"),
], ids=["features", "no-steps"])
@pytest.mark.parametrize("fast_path", [True, False], ids=["fast", "portable"])
@pytest.mark.parametrize(("keras_class", "ours", "extra"), LAYERS, ids=IDS)
def test_shapes_keras_refuses_deep_in_tensorflow_get_a_seqkit_error(keras_class, ours, extra,
                                                                    fast_path, shape, pattern):
    mine, theirs = _pair(keras_class, ours, extra, fast_path)
    x = np.ones(shape, "float32")
    with pytest.raises(Exception):  # noqa: B017 - any of Keras' or TensorFlow's errors
        theirs(x)
    with pytest.raises(InvalidInputError, match=rf"^The 'sequences' input of {ours.__name__} "
                                                + pattern):
        mine(x)


@pytest.mark.parametrize("ours", [ElmanRNN, PeepholeLSTM], ids=["ElmanRNN", "PeepholeLSTM"])
def test_a_mistyped_argument_is_named_against_the_layer_with_a_hint(ours):
    with pytest.raises(InvalidParameterError,
                       match=rf"^Unrecognized keyword arguments passed to {ours.__name__}: "
                             r"\{'return_sequence': True\}\. "
                             r"Did you mean 'return_sequence' for 'return_sequences'\?"):
        ours(UNITS, return_sequence=True)


@pytest.mark.parametrize("training", [False, None, 0, True])
@pytest.mark.parametrize("fast_path", [True, False], ids=["fast", "portable"])
@pytest.mark.parametrize(("keras_class", "ours", "extra"), LAYERS, ids=IDS)
def test_training_values_keras_takes(keras_class, ours, extra, fast_path, training):
    mine, theirs = _pair(keras_class, ours, extra, fast_path)
    x = np.random.default_rng(2).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    np.testing.assert_allclose(mine(x, training=training), theirs(x, training=training),
                               atol=1e-5)


DROPOUTS = [{"dropout": 0.5}, {"recurrent_dropout": 0.5},
            {"dropout": 0.3, "recurrent_dropout": 0.3}]


@pytest.mark.parametrize("dropouts", DROPOUTS, ids=["inputs", "recurrent", "both"])
@pytest.mark.parametrize("fast_path", [True, False], ids=["fast", "portable"])
@pytest.mark.parametrize(("keras_class", "ours", "extra"), LAYERS, ids=IDS)
def test_dropout_in_training_drops_what_keras_drops_for_the_same_seed(keras_class, ours, extra,
                                                                      fast_path, dropouts):
    """Keras' LSTM draws a mask per gate where ``recurrent_dropout > 0``, one shared mask
    otherwise."""
    options = {"seed": 7, "return_sequences": True, **dropouts}
    mine = ours(UNITS, fast_path=fast_path, **options, **extra)
    theirs = keras_class(UNITS, **options)
    _check_same_dropout(*same_random_weights(mine, theirs, features=FEATURES))


def test_implementation_1_drops_inputs_per_gate_as_keras_lstm_cell_does():
    """``implementation=1`` with input dropout alone: a mask per gate, as Keras'
    ``LSTMCell`` in ``keras.layers.RNN`` (Keras' ``LSTM`` layer fails on it)."""
    options = {"dropout": 0.5, "implementation": 1, "seed": 7}
    mine = keras.layers.RNN(PeepholeLSTMCell(UNITS, **options, **NO_PEEPHOLES),
                            return_sequences=True)
    theirs = keras.layers.RNN(keras.layers.LSTMCell(UNITS, **options), return_sequences=True)
    _check_same_dropout(*same_random_weights(mine, theirs, features=FEATURES))


def _check_same_dropout(mine, theirs):
    x = np.random.default_rng(2).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    want = np.asarray(theirs(x, training=True))
    np.testing.assert_allclose(mine(x, training=True), want, atol=1e-6)
    assert np.abs(want - np.asarray(mine(x, training=False))).max() > 1e-3  # it dropped


def test_use_cudnn_true_is_kept_and_warns_that_it_changes_nothing():
    with pytest.warns(UserWarning, match=r"PeepholeLSTM never runs on cuDNN.*use_cudnn='auto'"):
        layer = PeepholeLSTM(UNITS, use_cudnn=True)
    assert layer.get_config()["use_cudnn"] is True


@pytest.mark.parametrize(
    "make, pattern",
    [
        (lambda: PeepholeLSTM(UNITS, use_cudnn="yes"),
         r"'use_cudnn' parameter of PeepholeLSTM must be one of 'auto', True, False\. Got 'yes'"),
        (lambda: PeepholeLSTM(UNITS, implementation=3),
         r"'implementation' parameter of PeepholeLSTMCell must be one of 1, 2\. Got 3"),
        (lambda: PeepholeLSTMCell(UNITS, implementation=0),
         r"'implementation' parameter of PeepholeLSTMCell must be one of 1, 2\. Got 0"),
    ],
)
def test_steering_arguments_outside_keras_choices_are_refused(make, pattern):
    with pytest.raises(InvalidParameterError, match=pattern):
        make()
