"""The probed twin: zero probes give the network's numbers; a probe enters the first layer's
hidden state inside its recurrence, as the cell equations with ``h_t + d_t`` say."""

import keras
import numpy as np
import pytest
from keras import ops

from seqkit import networks
from seqkit.exceptions import InputTypeError, InvalidParameterError
from tests.cells.reference import elman_step, peephole_lstm_step

FEATURES, UNITS, STEPS = 3, 4, 5


def _sequences(batch=3, steps=STEPS, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, steps, FEATURES)).astype("float32")


def _tokens(batch=3, steps=STEPS, subword_features=0, seed=0):
    rng = np.random.default_rng(seed)
    ids = np.concatenate([rng.integers(1, 9, size=(batch, steps, 1)),
                          rng.integers(0, 5, size=(batch, steps, subword_features))], axis=-1)
    ids[1, 3:] = 0  # padding
    return ids.astype("int32") if subword_features else ids[..., 0].astype("int32")


NETWORKS = {
    "many_to_one_elman": (
        lambda: networks.build_many_to_one(FEATURES, 2, cell="elman", units=UNITS),
        lambda: [_sequences()]),
    "many_to_many_bidirectional_lstm_padded": (
        lambda: networks.build_many_to_many(FEATURES, 2, cell="peephole_lstm", units=UNITS,
                                            num_layers=2, bidirectional=True),
        lambda: [np.where(np.arange(STEPS)[None, :, None] < [[[5]], [[2]], [[4]]],
                          _sequences(), np.nan).astype("float32")]),
    "many_to_one_static_bidirectional_gru": (
        lambda: networks.build_many_to_one(FEATURES, 1, cell="gru", units=UNITS, n_static=2,
                                           static_units=3, bidirectional=True,
                                           output_activation=None),
        lambda: [_sequences(), np.random.default_rng(1).normal(size=(3, 2)).astype("float32")]),
    "many_to_many_tokens_subwords_bidirectional": (
        lambda: networks.build_many_to_many(None, 3, cell="lstm", units=UNITS, vocab_size=9,
                                            embedding_dim=2, subword_features=2,
                                            subword_vocab_size=5, bidirectional=True),
        lambda: [_tokens(subword_features=2)]),
    "many_to_many_tokens": (
        lambda: networks.build_many_to_many(None, 3, cell="elman", units=UNITS, vocab_size=9,
                                            embedding_dim=2),
        lambda: [_tokens()]),
}


def _zero_probes(twin, n_inputs, batch=3, steps=STEPS):
    return [ops.zeros((batch, steps, t.shape[-1])) for t in twin.inputs[n_inputs:]]


@pytest.mark.parametrize("loaded", [False, True])
@pytest.mark.parametrize("name", NETWORKS)
def test_zero_probes_give_the_network_output(name, loaded, tmp_path):
    build, data = NETWORKS[name]
    model = build()
    if loaded:
        model.save(tmp_path / "network.keras")
        model = keras.models.load_model(tmp_path / "network.keras")
    twin = networks.probed_twin(model)
    bidirectional = "bidirectional" in name
    names = ["probe_forward", "probe_backward"] if bidirectional else ["probe"]
    assert [t.name for t in twin.inputs] == [*(t.name for t in model.inputs), *names]
    assert all(t.shape[-1] == UNITS for t in twin.inputs[len(model.inputs):])
    assert twin.get_layer("readout") is model.get_layer("readout")
    inputs = [ops.convert_to_tensor(a) for a in data()]
    expected = model(inputs if len(inputs) > 1 else inputs[0])
    np.testing.assert_allclose(twin([*inputs, *_zero_probes(twin, len(inputs))]), expected,
                               atol=1e-6)


def _probed_reference(step, x, probes, backwards=False):
    """The first layer's outputs by the cell equations, ``d_t`` added to ``h_t`` after each
    step (in input positions, whichever way the layer reads)."""
    states = None
    outputs = [None] * x.shape[1]
    for t in (reversed(range(x.shape[1])) if backwards else range(x.shape[1])):
        if states is None:
            states = [np.zeros((len(x), probes.shape[-1]), "float32")] * step.n_states
        h, states = step(x[:, t], states)
        h = h + probes[:, t]
        states = [h, *states[1:]]
        outputs[t] = h
    return np.stack(outputs, axis=1)


def _step(cell, weights):
    step = {"elman": elman_step, "peephole_lstm": peephole_lstm_step}[cell](weights)
    step.n_states = 2 if cell == "peephole_lstm" else 1
    return step


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", ["elman", "peephole_lstm"])
def test_a_probe_enters_the_hidden_state_inside_the_recurrence(cell, bidirectional):
    """Probes at every step, each direction its own: the read-out of every step equals the cell
    equations run by hand with ``h_t + d_t`` read by the next step."""
    model = networks.build_many_to_many(FEATURES, 2, cell=cell, units=UNITS,
                                        bidirectional=bidirectional, output_activation=None)
    twin = networks.probed_twin(model)
    x = _sequences()
    rng = np.random.default_rng(5)
    probes = [rng.normal(size=(3, STEPS, UNITS)).astype("float32")
              for _ in twin.inputs[1:]]
    layer = model.get_layer("recurrent_1")
    directions = [layer.forward_layer, layer.backward_layer] if bidirectional else [layer]
    hidden = np.concatenate([
        _probed_reference(_step(cell, direction.get_weights()), x, probe,
                          backwards=direction.go_backwards)
        for direction, probe in zip(directions, probes)
    ], axis=-1)
    kernel, bias = model.get_layer("readout").get_weights()
    got = twin([ops.convert_to_tensor(x), *map(ops.convert_to_tensor, probes)])
    np.testing.assert_allclose(got, hidden @ kernel + bias, atol=1e-5)
    assert not np.allclose(got, model(x), atol=1e-2)


@pytest.mark.parametrize("build, match", [
    (lambda: networks.build_encoder_decoder(2, 1, 3, units=3),
     "The 'model' parameter of probed_twin must be a network built by build_many_to_one or "
     "build_many_to_many. Got a model named 'encoder_decoder'"),
    (lambda: networks.build_one_to_many(2, 2, 3, units=3), "Got a model named 'one_to_many'"),
])
def test_networks_without_a_probed_twin_are_refused(build, match):
    with pytest.raises(InvalidParameterError, match=match):
        networks.probed_twin(build())


def test_a_layer_is_not_a_network():
    with pytest.raises(InputTypeError, match="'model' parameter of probed_twin must be a "
                       "keras.Model. Got GRU instead"):
        networks.probed_twin(keras.layers.GRU(3))
