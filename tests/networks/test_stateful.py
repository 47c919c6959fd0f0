"""The stateful twin: states carried step by step give the whole sequence's numbers."""

import keras
import numpy as np
import pytest
from keras import ops

from seqkit import networks
from seqkit.exceptions import InputTypeError, InvalidParameterError
from tests.cells.reference import elman_step, peephole_lstm_step, run_reference

FEATURES, UNITS, STEPS = 3, 4, 5


def _sequences(batch=2, steps=STEPS, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, steps, FEATURES)).astype("float32")


def _states(twin, n_inputs, batch=2, seed=1):
    """Random states for the twin's state inputs (those after its ``n_inputs`` own inputs)."""
    rng = np.random.default_rng(seed)
    return [ops.convert_to_tensor(rng.uniform(-0.9, 0.9, size=(batch, t.shape[-1])), "float32")
            for t in twin.inputs[n_inputs:]]


def _step_through(twin, x, states, extra=()):
    """Feed ``x`` one step (a sequence of length 1) at a time, carrying the states; return the
    outputs of every step and the states after each step."""
    outputs, history = [], []
    for t in range(x.shape[1]):
        output, *states = twin([ops.convert_to_tensor(x[:, t:t + 1]), *extra, *states])
        outputs.append(np.asarray(output))
        history.append([np.asarray(s) for s in states])
    return outputs, history


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("cell", networks.CELL_NAMES)
def test_steps_with_carried_states_equal_the_whole_sequence(cell, num_layers):
    """Many-to-many: the output of every step and the final states; a padding step in the middle
    leaves every state as it was, to the bit, and repeats the last output as the network does."""
    model = networks.build_many_to_many(FEATURES, 2, cell=cell, units=UNITS,
                                        num_layers=num_layers, output_activation=None)
    twin, first = networks.stateful_twin(model), networks.stateful_twin(model, states_in=False)
    x = _sequences()
    whole, *final = first(ops.convert_to_tensor(x))
    zeros = [ops.zeros((2, size)) for size in networks.recurrent_states(model).values()]
    padded = np.concatenate([x[:, :2], np.full((2, 1, FEATURES), np.nan, "float32"), x[:, 2:]],
                            axis=1)
    outputs, history = _step_through(twin, padded, zeros)
    for before, after in zip(history[1], history[2]):
        np.testing.assert_array_equal(after, before)
    np.testing.assert_allclose(np.concatenate(outputs, axis=1), model(padded), atol=1e-5)
    np.testing.assert_allclose(outputs[2], outputs[1], atol=1e-6)
    del outputs[2], history[2]
    np.testing.assert_allclose(np.concatenate(outputs, axis=1), model(x), atol=1e-5)
    np.testing.assert_allclose(np.concatenate(outputs, axis=1), whole, atol=1e-5)
    assert len(final) == len(history[-1]) == num_layers * (2 if "lstm" in cell else 1)
    for got, expected in zip(history[-1], final):
        np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("cell", networks.CELL_NAMES)
def test_pieces_of_padded_sequences_end_in_each_sequence_output(cell):
    """Many-to-one in pieces of 3 steps (truncated BPTT's chunks): a sequence that ends before
    the last piece, all padding for it, still gets its own output there."""
    model = networks.build_many_to_one(FEATURES, 2, cell=cell, units=UNITS, num_layers=2,
                                       output_activation=None)
    first, twin = networks.stateful_twin(model, states_in=False), networks.stateful_twin(model)
    x = _sequences(batch=3, steps=8)
    x[1, 5:], x[2, 2:] = np.nan, np.nan
    output, *states = first(ops.convert_to_tensor(x[:, :3]))
    for start in (3, 6):
        output, *states = twin([ops.convert_to_tensor(x[:, start:start + 3]), *states])
    np.testing.assert_allclose(output, model(x), atol=1e-5)
    np.testing.assert_allclose(output[2], model(x[2:, :2])[0], atol=1e-5)


@pytest.mark.parametrize("cell, step", [
    ("elman", elman_step), ("peephole_lstm", peephole_lstm_step),
])
def test_given_states_start_the_cell_equations(cell, step):
    """Against the NumPy equations: the twin starts from the states it is given."""
    model = networks.build_many_to_one(FEATURES, 2, cell=cell, units=UNITS, output_activation=None)
    twin = networks.stateful_twin(model)
    x, states = _sequences(), _states(twin, 1)
    output, *final = twin([ops.convert_to_tensor(x), *states])
    _, expected = run_reference(step(model.get_layer("recurrent_1").get_weights()), x,
                                [np.asarray(s) for s in states])
    for got, want in zip(final, expected):
        np.testing.assert_allclose(got, want, atol=1e-5)
    kernel, bias = model.get_layer("readout").get_weights()
    np.testing.assert_allclose(output, expected[0] @ kernel + bias, atol=1e-5)


def test_static_features_set_the_first_piece_and_states_carry_the_rest():
    """The forecaster's network: static features (future covariates) set the initial states of
    the first layer; the twin without state inputs starts there, the one with them goes on."""
    model = networks.build_many_to_one(FEATURES, 2, cell="lstm", units=UNITS, num_layers=2,
                                       n_static=3, static_units=2, output_activation=None)
    first, twin = networks.stateful_twin(model, states_in=False), networks.stateful_twin(model)
    assert [t.name for t in twin.inputs] == ["sequences", "static", "h_1", "c_1", "h_2", "c_2"]
    x = ops.convert_to_tensor(_sequences())
    static = ops.convert_to_tensor(np.random.default_rng(2).normal(size=(2, 3)), "float32")
    _, *states = first([x[:, :2], static])
    output, *_ = twin([x[:, 2:], static, *states])
    np.testing.assert_allclose(output, model([x, static]), atol=1e-5)
    other = twin([x[:, 2:], static * 0.0, *states])[0]
    np.testing.assert_allclose(other, output, atol=1e-6)  # the states given replace static's
    assert not np.allclose(first([x, static * 0.0])[0], model([x, static]), atol=1e-3)


@pytest.mark.parametrize("subword_features", [0, 2])
def test_token_twin_carries_states_and_skips_padding_tokens(subword_features):
    model = networks.build_many_to_many(
        None, 3, cell="gru", units=UNITS, vocab_size=9, embedding_dim=2,
        subword_features=subword_features, subword_vocab_size=5 if subword_features else None,
    )
    twin = networks.stateful_twin(model)
    assert twin.inputs[0].name == "tokens"
    rng = np.random.default_rng(3)
    ids = rng.integers(1, 9, size=(2, 4, 1))
    if subword_features:
        ids = np.concatenate([ids, rng.integers(0, 5, size=(2, 4, subword_features))], axis=-1)
    ids = ids.astype("int32") if subword_features else ids[..., 0].astype("int32")
    pad = np.zeros((2, 1, *ids.shape[2:]), "int32")
    padded = np.concatenate([ids[:, :1], pad, ids[:, 1:]], axis=1)
    outputs, history = _step_through(twin, padded, [ops.zeros((2, UNITS))])
    np.testing.assert_array_equal(history[1][0], history[0][0])
    del outputs[1]
    np.testing.assert_allclose(np.concatenate(outputs, axis=1), model(ids), atol=1e-5)


@pytest.mark.parametrize("cell", ["peephole_lstm", "gru"])
def test_twin_of_a_reloaded_network_shares_its_layers_and_numbers(cell, tmp_path):
    """A .keras round trip (as estimators pickle their networks): the twin is made of the
    loaded network's own layers, so training the network changes the twin."""
    model = networks.build_many_to_one(FEATURES, 2, cell=cell, units=UNITS, num_layers=2,
                                       dropout=0.2, n_static=1, output_activation=None)
    model.save(tmp_path / "network.keras")
    loaded = keras.models.load_model(tmp_path / "network.keras")
    twin = networks.stateful_twin(loaded)
    assert twin.get_layer("recurrent_2") is loaded.get_layer("recurrent_2")
    x = _sequences()
    x[1, 3:] = np.nan
    inputs = [ops.convert_to_tensor(x), ops.ones((2, 1))]
    states = _states(twin, 2)
    expected = networks.stateful_twin(model)([*inputs, *states])
    got = twin([*inputs, *states])
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, atol=1e-6)
    kernel, bias = loaded.get_layer("readout").get_weights()
    loaded.get_layer("readout").set_weights([kernel, bias + 1.0])
    np.testing.assert_allclose(twin([*inputs, *states])[0], np.asarray(got[0]) + 1.0, atol=1e-6)


@pytest.mark.parametrize("build, match", [
    (lambda: networks.build_many_to_one(2, 2, units=3, bidirectional=True),
     "The 'model' parameter of stateful_twin must read its sequences forward only "
     r"\(bidirectional=False\).* Got the Bidirectional layer 'recurrent_1'\."),
    (lambda: networks.build_many_to_many(2, 2, units=3, num_layers=2, bidirectional=True),
     "Got the Bidirectional layer 'recurrent_1'"),
    (lambda: networks.build_encoder_decoder(2, 1, 3, units=3),
     "The 'model' parameter of stateful_twin must be a network built by build_many_to_one or "
     "build_many_to_many. Got a model named 'encoder_decoder'"),
    (lambda: networks.build_one_to_many(2, 2, 3, units=3), "Got a model named 'one_to_many'"),
])
def test_networks_without_a_stateful_twin_are_refused(build, match):
    with pytest.raises(InvalidParameterError, match=match):
        networks.stateful_twin(build())


def test_a_layer_is_not_a_network():
    with pytest.raises(InputTypeError, match="'model' parameter of stateful_twin must be a "
                       "keras.Model. Got GRU instead"):
        networks.stateful_twin(keras.layers.GRU(3))
