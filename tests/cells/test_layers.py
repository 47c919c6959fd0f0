"""The layers behave as Keras layers: RNN, Bidirectional, stacks, states, masks, config, saving."""

import inspect
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from seqkit.cells import ElmanRNN, ElmanRNNCell, PeepholeLSTM, PeepholeLSTMCell
from seqkit.exceptions import InputTypeError, InvalidInputError, InvalidParameterError
from tests.cells.reference import random_weights

PAIRS = [(ElmanRNNCell, ElmanRNN), (PeepholeLSTMCell, PeepholeLSTM)]
PAIR_IDS = ["elman", "peephole_lstm"]


def _x(batch=3, steps=6, features=4, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, steps, features)).astype("float32")


@pytest.mark.parametrize("cell_class, layer_class", PAIRS, ids=PAIR_IDS)
def test_cell_in_keras_rnn_equals_layer(cell_class, layer_class):
    x = _x()
    layer = layer_class(5, return_sequences=True)
    generic = keras.layers.RNN(cell_class(5), return_sequences=True)
    layer(x)
    generic(x)
    weights = random_weights(layer)
    layer.set_weights(weights)
    generic.set_weights(weights)
    np.testing.assert_allclose(layer(x), generic(x), atol=1e-5)


def test_stacked_cells_and_stacked_layers_agree():
    x = _x()
    stacked = keras.layers.RNN([ElmanRNNCell(5), PeepholeLSTMCell(3)], return_sequences=True)
    layers = [ElmanRNN(5, return_sequences=True), PeepholeLSTM(3, return_sequences=True)]
    stacked(x)
    out = x
    for layer in layers:
        out = layer(out)
    weights = random_weights(stacked)
    stacked.set_weights(weights)
    layers[0].set_weights(weights[:3])
    layers[1].set_weights(weights[3:])
    np.testing.assert_allclose(stacked(x), layers[1](layers[0](x)), atol=1e-5)


@pytest.mark.parametrize("cell_class, layer_class", PAIRS, ids=PAIR_IDS)
def test_bidirectional_fast_path_equals_portable(cell_class, layer_class):
    x = _x()
    mask = np.arange(6)[None, :] < np.array([[6], [4], [2]])
    fast = keras.layers.Bidirectional(layer_class(5, return_sequences=True))
    portable = keras.layers.Bidirectional(layer_class(5, return_sequences=True, fast_path=False))
    fast(x)
    portable(x)
    weights = random_weights(fast)
    fast.set_weights(weights)
    portable.set_weights(weights)
    out = fast(x, mask=mask)
    assert out.shape == (3, 6, 10)
    np.testing.assert_allclose(out, portable(x, mask=mask), atol=1e-5)


@pytest.mark.parametrize("cell_class, layer_class", PAIRS, ids=PAIR_IDS)
def test_padded_batch_equals_each_sequence_alone(cell_class, layer_class):
    """Masks from Masking (numeric) and Embedding(mask_zero=True) (tokens) skip padding."""
    rng = np.random.default_rng(2)
    lengths = [7, 3, 5]
    sequences = [rng.normal(size=(n, 4)).astype("float32") for n in lengths]
    padded = keras.utils.pad_sequences(sequences, padding="post", dtype="float32", value=0.0)
    inputs = keras.Input((None, 4))
    outputs = layer_class(6)(keras.layers.Masking(0.0)(inputs))
    model = keras.Model(inputs, outputs)
    batch = model.predict(padded, verbose=0)
    for row, sequence in zip(batch, sequences):
        np.testing.assert_allclose(row, model.predict(sequence[None], verbose=0)[0], atol=1e-5)

    tokens = [rng.integers(1, 20, size=n) for n in lengths]
    ids = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(20, 4, mask_zero=True)(ids)
    token_model = keras.Model(ids, layer_class(6, go_backwards=True)(embedded))
    token_batch = token_model.predict(keras.utils.pad_sequences(tokens, padding="post"), verbose=0)
    for row, sequence in zip(token_batch, tokens):
        alone = token_model.predict(sequence[None], verbose=0)[0]
        np.testing.assert_allclose(row, alone, atol=1e-5)


@pytest.mark.parametrize("cell_class, layer_class", PAIRS, ids=PAIR_IDS)
def test_stateful_layer_carries_state_across_calls(cell_class, layer_class):
    x = _x(batch=2, steps=8)
    whole = layer_class(5)
    whole(x)
    weights = random_weights(whole)
    whole.set_weights(weights)
    stateful = layer_class(5, stateful=True)
    stateful.build((2, None, 4))
    stateful.set_weights(weights)
    stateful(x[:, :3])
    np.testing.assert_allclose(stateful(x[:, 3:]), whole(x), atol=1e-5)
    stateful.reset_state()
    np.testing.assert_allclose(stateful(x), whole(x), atol=1e-5)


@pytest.mark.parametrize("cell_class, layer_class", PAIRS, ids=PAIR_IDS)
def test_return_state_and_initial_state(cell_class, layer_class):
    x = _x()
    layer = layer_class(5, return_sequences=True, return_state=True)
    output, *states = layer(x)
    assert output.shape == (3, 6, 5)
    assert len(states) == (1 if layer_class is ElmanRNN else 2)
    np.testing.assert_allclose(output[:, -1], states[0], atol=1e-6)
    continued = layer(x, initial_state=states)[0]
    # Starting from the final states continues the sequence: x then x again, in one call.
    whole = layer(np.concatenate([x, x], axis=1))[0]
    np.testing.assert_allclose(continued, whole[:, x.shape[1]:], atol=1e-5)


NON_DEFAULT = {
    "units": 3, "activation": "relu", "use_bias": False, "kernel_initializer": "he_normal",
    "recurrent_initializer": "glorot_normal", "bias_initializer": "ones",
    "kernel_regularizer": "l2", "recurrent_regularizer": "l1",
    "bias_regularizer": keras.regularizers.L1L2(0.1, 0.2),
    "kernel_constraint": "non_neg", "recurrent_constraint": "unit_norm",
    "bias_constraint": "max_norm", "dropout": 0.25, "recurrent_dropout": 0.125, "seed": 7,
    "recurrent_activation": "hard_sigmoid", "peepholes": "full", "peephole_initializer": "ones",
    "peephole_regularizer": "l2", "peephole_constraint": "non_neg", "unit_forget_bias": False,
    "cell_clip": 2.0, "return_sequences": True, "return_state": True, "go_backwards": True,
    "stateful": True, "unroll": True, "zero_output_for_mask": True, "fast_path": False,
    "implementation": 1, "use_cudnn": False,
}
"""A value other than the default for every argument of the cells and layers."""


def _own_arguments(klass):
    """The ``__init__`` arguments of ``klass`` and of its seqkit bases (and, for a layer, of
    its cell, which it proxies), read from their own signatures."""
    classes = [c for c in klass.__mro__ if c.__module__.startswith("seqkit.")]
    if getattr(klass, "cell_class", None) is not None:
        classes += [c for c in klass.cell_class.__mro__ if c.__module__.startswith("seqkit.")]
    return {name for c in classes for name in inspect.signature(c.__init__).parameters
            if name not in ("self", "kwargs")}


@pytest.mark.parametrize("klass", [c for pair in PAIRS for c in pair], ids=lambda c: c.__name__)
def test_every_init_argument_round_trips_through_the_config_with_a_non_default_value(klass):
    names = _own_arguments(klass)
    assert names - set(NON_DEFAULT) == set(), "give the new arguments a non-default value here"
    config = klass(**{name: NON_DEFAULT[name] for name in names}).get_config()
    default_config = klass(units=5).get_config()
    rebuilt = klass.from_config(config).get_config()
    for name in sorted(names):
        assert name in config, f"{klass.__name__}.get_config() lacks {name!r}"
        assert config[name] != default_config[name], f"{name!r} is not in the config as given"
        assert rebuilt[name] == config[name], f"{name!r} is lost by from_config"
        value = NON_DEFAULT[name]
        if isinstance(value, (bool, int, float)) or name in ("activation", "peepholes",
                                                              "recurrent_activation"):
            assert config[name] == value, name
    assert rebuilt == config


@pytest.mark.parametrize("cell_class, layer_class", PAIRS, ids=PAIR_IDS)
def test_keras_archive_round_trip(tmp_path, cell_class, layer_class):
    inputs = keras.Input((None, 4))
    hidden = keras.layers.Bidirectional(layer_class(5, return_sequences=True))(inputs)
    stacked = keras.layers.RNN([cell_class(3), cell_class(2)])(hidden)
    model = keras.Model(inputs, keras.layers.Dense(2)(stacked))
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    x = _x()
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


def test_savedmodel_runs_without_seqkit_at_any_length(tmp_path):
    inputs = keras.Input((None, 4))
    hidden = ElmanRNN(5, return_sequences=True)(keras.layers.Masking(0.0)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2)(PeepholeLSTM(4)(hidden)))
    export_dir = tmp_path / "saved"
    model.export(str(export_dir), verbose=False)
    xs = {steps: _x(steps=steps, seed=steps) for steps in (1, 6, 23)}
    for steps, x in xs.items():
        np.save(tmp_path / f"x{steps}.npy", x)
        np.save(tmp_path / f"want{steps}.npy", model.predict(x, verbose=0))
    script = f"""
import sys
sys.modules["seqkit"] = None  # importing seqkit now fails
import numpy as np, tensorflow as tf
loaded = tf.saved_model.load({str(export_dir)!r})
for steps in (1, 6, 23):
    x = np.load({str(tmp_path)!r} + f"/x{{steps}}.npy")
    got = loaded.serve(tf.constant(x)).numpy()
    np.testing.assert_allclose(got, np.load({str(tmp_path)!r} + f"/want{{steps}}.npy"), atol=1e-5)
print("ok")
"""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: ElmanRNN(0), InvalidParameterError, r"'units' parameter of ElmanRNNCell.*Got 0"),
        (lambda: PeepholeLSTM(2.5), InputTypeError, r"'units'.*int >= 1.*Got 2.5"),
        (lambda: ElmanRNN(3, activation="swoosh"), InvalidParameterError,
         r"'activation' parameter of ElmanRNNCell.*'swoosh'"),
        (lambda: PeepholeLSTM(3, recurrent_activation="nope"), InvalidParameterError,
         r"'recurrent_activation'.*'nope'"),
        (lambda: PeepholeLSTM(3, peepholes="diag"), InvalidParameterError,
         r"'peepholes'.*'diagonal', 'full', None.*Got 'diag'"),
        (lambda: ElmanRNN(3, dropout=1.5), InvalidParameterError, r"'dropout'.*Got 1.5"),
        (lambda: PeepholeLSTM(3, cell_clip=-1), InvalidParameterError, r"'cell_clip'.*Got -1"),
    ],
)
def test_bad_parameters_name_the_argument(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("cell_class, layer_class", PAIRS, ids=PAIR_IDS)
def test_bad_inputs_name_the_argument(cell_class, layer_class):
    layer = layer_class(3)
    with pytest.raises(ValueError, match=r"expected ndim=3, found ndim=2.*\(4, 5\)"):
        layer(np.zeros((4, 5), "float32"))
    with pytest.raises(InputTypeError, match=r"'sequences' input of .* real numbers.*dtype str"):
        layer(np.full((4, 5, 2), "a"))
    with pytest.raises(InvalidInputError, match=r"'initial_state'.*\(batch, 3\).*\(4, 7\)"):
        states = [np.zeros((4, 7), "float32")] * len(layer.cell.get_initial_state(4))
        layer(np.zeros((4, 5, 2), "float32"), initial_state=states)


def test_other_keras_backend_gets_a_clear_message():
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run([sys.executable, "-c", "import seqkit.cells"], capture_output=True,
                            text=True, env=env, timeout=120)
    assert result.returncode != 0
    assert "KERAS_BACKEND is set to 'jax'" in result.stderr
    assert "Set KERAS_BACKEND=tensorflow" in result.stderr
