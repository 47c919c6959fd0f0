"""The network builders: shapes, masks, read-outs, feedback, teacher forcing, errors."""

import keras
import numpy as np
import pytest

from seqkit import networks
from seqkit.exceptions import InvalidInputError, InvalidParameterError
from tests.cells.reference import elman_step, run_reference

CELLS = networks.CELL_NAMES


def _padded(lengths, features=4, seed=0):
    """NaN-padded sequences of the given lengths, and the unpadded ones."""
    rng = np.random.default_rng(seed)
    alone = [rng.normal(size=(n, features)).astype("float32") for n in lengths]
    padded = np.full((len(lengths), max(lengths), features), np.nan, "float32")
    for row, seq in zip(padded, alone):
        row[: len(seq)] = seq
    return padded, alone


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_padding_mask_zeroes_nan_and_masks_all_nan_steps():
    x = np.array([[[1.0, np.nan], [np.nan, np.nan], [3.0, 4.0]]], "float32")
    layer = networks.PaddingMask()
    np.testing.assert_array_equal(layer(x), [[[1.0, 0.0], [0.0, 0.0], [3.0, 4.0]]])
    np.testing.assert_array_equal(layer.compute_mask(x), [[True, False, True]])


@pytest.mark.parametrize("cell", CELLS)
def test_many_to_one_shapes_and_softmax(cell):
    model = networks.build_many_to_one(4, 4, cell=cell, units=4, num_layers=2, dropout=0.2)
    out = np.asarray(model(np.ones((2, 4, 4), "float32")))
    assert out.shape == (2, 4)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    assert "recurrent_dropout_1" in [layer.name for layer in model.layers]


def test_elman_many_to_one_is_softmax_of_v_h_last():
    model = networks.build_many_to_one(4, 3, cell="elman", units=4)
    x, _ = _padded([4, 4])
    layer, readout = model.get_layer("recurrent_1"), model.get_layer("readout")
    _, (h_last,) = run_reference(elman_step(layer.get_weights()), x, [np.zeros((2, 4))])
    kernel, bias = readout.get_weights()
    np.testing.assert_allclose(model(x), _softmax(h_last @ kernel + bias), atol=1e-5)


@pytest.mark.parametrize("bidirectional", [False, True], ids=["forward", "bidirectional"])
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("build", [networks.build_many_to_one, networks.build_many_to_many])
def test_padded_batch_equals_each_sequence_alone(build, cell, bidirectional):
    # Features = units = 4 and two lengths keep the compiled loops few (and shared).
    padded, alone = _padded([4, 2])
    model = build(4, 3, cell=cell, units=4, num_layers=2, bidirectional=bidirectional)
    batch = np.asarray(model(padded))
    for row, seq in zip(batch, alone):
        single = np.asarray(model(seq[None]))[0]
        expected = single if single.ndim == 1 else single[: len(seq)]
        got = row if row.ndim == 1 else row[: len(seq)]
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_initial_states_from_static_features_keep_the_padding_mask():
    """Keras gives a layer called with ``initial_state`` no mask of its own: the first layer,
    started from the static features, must still skip the padded steps."""
    padded, alone = _padded([4, 2])
    static = np.array([[0.5, -1.0], [1.0, 0.3]], "float32")
    model = networks.build_many_to_one(4, 3, cell="gru", units=4, n_static=2)
    np.testing.assert_allclose(model([padded, static])[1],
                               model([alone[1][None], static[1:]])[0], atol=1e-5)


def test_padded_steps_do_not_count_in_the_loss():
    padded, _ = _padded([4, 2])
    model = networks.build_many_to_many(4, 1, cell="gru", units=4, output_activation=None)
    model.compile(loss="mse")
    y = np.zeros((2, 4, 1), "float32")
    clean = model.evaluate(padded, y, verbose=0)
    y[1, 2:] = 1e3  # targets of padded steps
    assert model.evaluate(padded, y, verbose=0) == pytest.approx(clean)
    y[1, 1] = 1e3  # a real step
    assert model.evaluate(padded, y, verbose=0) > clean + 1.0


@pytest.mark.parametrize("build", [networks.build_many_to_one, networks.build_many_to_many])
def test_token_ids_padded_with_zero_equal_each_sequence_alone(build):
    model = build(None, 2, cell="elman", units=4, vocab_size=7, embedding_dim=3)
    batch = np.asarray(model(np.array([[3, 1, 4, 6], [2, 5, 0, 0]])))
    alone = np.asarray(model(np.array([[2, 5]])))[0]
    np.testing.assert_allclose(batch[1] if batch.ndim == 2 else batch[1, :2], alone, atol=1e-5)


def test_static_features_set_a_subset_of_the_initial_state():
    """Elman with W = 0, U = I, b = 0 and an identity read-out shows h_1 = tanh(h_0)."""
    model = networks.build_many_to_many(
        1, 3, cell="elman", units=3, n_static=2, static_units=1, output_activation=None
    )
    layer, readout = model.get_layer("recurrent_1"), model.get_layer("readout")
    layer.set_weights([np.zeros((1, 3)), np.eye(3), np.zeros(3)])
    readout.set_weights([np.eye(3), np.zeros(3)])
    static = np.array([[1.0, -2.0], [0.5, 0.5]], "float32")
    out = np.asarray(model([np.zeros((2, 1, 1), "float32"), static]))[:, 0]
    kernel, bias = model.get_layer("initial_state_1").get_weights()
    np.testing.assert_allclose(out[:, 0], np.tanh(np.tanh(static @ kernel + bias))[:, 0], atol=1e-6)
    np.testing.assert_array_equal(out[:, 1:], 0.0)


@pytest.mark.parametrize("bidirectional", [False, True], ids=["forward", "bidirectional"])
def test_static_initial_states_reach_every_state_and_direction(bidirectional):
    model = networks.build_many_to_one(
        4, 2, cell="peephole_lstm", units=4, n_static=3, bidirectional=bidirectional
    )
    names = {layer.name for layer in model.layers if layer.name.startswith("initial_state")}
    assert len(names) == (4 if bidirectional else 2)  # h and c, per direction
    x = np.ones((1, 4, 4), "float32")
    a, b = (model([x, np.full((1, 3), v, "float32")]) for v in (0.0, 1.0))
    assert not np.allclose(a, b)


def test_saved_network_reloads_with_the_same_outputs(tmp_path):
    model = networks.build_many_to_one(
        4, 2, cell="peephole_lstm", units=4, num_layers=2, bidirectional=True, n_static=1,
        static_units=2, dropout=0.1,
    )
    x, _ = _padded([4, 2])
    inputs = [x, np.ones((2, 1), "float32")]
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded(inputs), model(inputs), atol=1e-6)


# ----------------------------------------------------------------- one-to-many


def _elman_generation(model, v, input_as):
    """NumPy: h_t = tanh(x_t W + h_{t-1} U + b), y_t = h_t V + c, x_{t+1} = y_t."""
    generator = model.get_layer("generator")
    kernel, recurrent, bias, v_kernel, v_bias = generator.get_weights()[:5]
    if input_as == "first_input":
        h, x = np.zeros((len(v), recurrent.shape[0])), v
    else:
        a_kernel, a_bias = model.get_layer("initial_state_1").get_weights()
        h = np.tanh(v @ a_kernel + a_bias)
        x = h @ v_kernel + v_bias
    outputs = []
    for _ in range(generator.length):
        h = np.tanh(x @ kernel + h @ recurrent + bias)
        x = h @ v_kernel + v_bias
        outputs.append(x)
    return np.stack(outputs, axis=1)


@pytest.mark.parametrize("input_as", ["state", "first_input"])
def test_one_to_many_feeds_each_output_back(input_as):
    model = networks.build_one_to_many(2, 2, 5, cell="elman", units=3, input_as=input_as)
    v = np.array([[0.5, -1.0], [1.0, 0.3]], "float32")
    np.testing.assert_allclose(model(v), _elman_generation(model, v, input_as), atol=1e-5)


@pytest.mark.parametrize("cell", CELLS)
def test_one_to_many_deep_reloads_with_the_same_outputs(cell, tmp_path):
    model = networks.build_one_to_many(3, 2, 4, cell=cell, units=4, num_layers=2, dropout=0.3)
    v = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    assert model(v).shape == (5, 4, 2)
    model.save(tmp_path / "g.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "g.keras")(v), model(v),
                               atol=1e-6)


@pytest.mark.slow
def test_one_to_many_learns_through_the_feedback_loop():
    """Three constant vectors generate three ramps; dropout between the layers in training."""
    model = networks.build_one_to_many(3, 1, 5, cell="gru", units=8, num_layers=2, dropout=0.1,
                                       seed=1)
    model.compile(optimizer=keras.optimizers.Adam(0.03), loss="mse")
    v = np.eye(3, dtype="float32")
    y = (np.arange(1, 4)[:, None] * np.linspace(0.1, 0.5, 5))[..., None].astype("float32")
    first = model.evaluate(v, y, verbose=0)
    model.fit(v, y, epochs=60, verbose=0)
    assert model.evaluate(v, y, verbose=0) < 0.1 * first


@pytest.mark.parametrize("cell", ["elman", "lstm"])
def test_one_to_many_draws_new_cell_dropout_masks_each_call(cell):
    model = networks.build_one_to_many(3, 1, 4, cell=cell, units=5, cell_kwargs={
        "dropout": 0.3, "recurrent_dropout": 0.3})
    v = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    first, second = (np.asarray(model(v, training=True)) for _ in range(2))
    assert np.abs(first - second).max() > 1e-3
    assert model(v[:2], training=True).shape == (2, 4, 1)  # no mask of the last batch size
    np.testing.assert_array_equal(model(v), model(v))


def test_one_to_many_first_input_needs_as_many_inputs_as_outputs():
    with pytest.raises(InvalidParameterError, match="'n_inputs' parameter of build_one_to_many "
                       "must equal n_outputs=2 .* Got 3 instead"):
        networks.build_one_to_many(3, 2, 4, input_as="first_input")


# ------------------------------------------------------------- encoder-decoder


def test_teacher_forcing_inputs_shift_the_targets_behind_the_start():
    y = np.arange(6, dtype="float32").reshape(1, 3, 2)
    start = np.array([[-1.0, -2.0]], "float32")
    covariates = np.array([[[10.0], [11.0], [12.0]]], "float32")
    got = networks.teacher_forcing_inputs(y, start, covariates)
    np.testing.assert_array_equal(
        got, [[[-1, -2, 10], [0, 1, 11], [2, 3, 12]]]
    )


@pytest.mark.parametrize("cell, bidirectional, covariates", [
    ("elman", False, 0), ("peephole_lstm", True, 2), ("lstm", False, 1), ("gru", True, 0),
])
def test_inference_feeds_back_what_teacher_forcing_is_given(cell, bidirectional, covariates):
    """Free-running outputs, given back as teacher-forced inputs, are reproduced exactly; the
    true targets instead change every step after the first."""
    horizon, batch = 4, 3
    model = networks.build_encoder_decoder(
        4, 2, horizon, cell=cell, units=4, num_layers=2, bidirectional=bidirectional,
        n_future_covariates=covariates, dropout=0.2,
    )
    rng = np.random.default_rng(0)
    x, _ = _padded([4, 2, 3])
    start = rng.normal(size=(batch, 2)).astype("float32")
    future = rng.normal(size=(batch, horizon, covariates)).astype("float32") if covariates else None
    free = networks.predict_autoregressive(model, x, start, future)
    assert free.shape == (batch, horizon, 2)
    forced = model([x, networks.teacher_forcing_inputs(free, start, future)])
    np.testing.assert_allclose(forced, free, atol=1e-5)
    truth = rng.normal(size=free.shape).astype("float32")
    forced = np.asarray(model([x, networks.teacher_forcing_inputs(truth, start, future)]))
    np.testing.assert_allclose(forced[:, 0], free[:, 0], atol=1e-5)
    assert not np.allclose(forced[:, 1:], free[:, 1:], atol=1e-3)


@pytest.mark.slow
def test_inference_follows_training():
    model = networks.build_encoder_decoder(1, 1, 3, cell="gru", units=4)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    x = np.random.default_rng(0).normal(size=(16, 5, 1)).astype("float32")
    start = x[:, -1]
    before = networks.predict_autoregressive(model, x, start)
    y = np.ones((16, 3, 1), "float32")
    model.fit([x, networks.teacher_forcing_inputs(y, start)], y, epochs=20, verbose=0)
    after = networks.predict_autoregressive(model, x, start)
    assert np.abs(after - 1).mean() < 0.5 * np.abs(before - 1).mean()


# ------------------------------------------------------------------- bad input


@pytest.mark.parametrize("build, args", [
    (networks.recurrent_layer, ("rnn", 4)),
    (networks.build_many_to_one, (2, 2)),
    (networks.build_one_to_many, (2, 2, 3)),
    (networks.build_encoder_decoder, (2, 2, 3)),
])
def test_unknown_cell_names_the_argument(build, args):
    kwargs = {} if build is networks.recurrent_layer else {"cell": "rnn"}
    with pytest.raises(InvalidParameterError) as err:
        build(*args, **kwargs)
    assert str(err.value) == (
        f"The 'cell' parameter of {build.__name__} must be one of 'elman', 'peephole_lstm', "
        "'lstm', 'gru'. Got 'rnn' instead."
    )


def test_horizon_below_one_is_refused():
    with pytest.raises(InvalidParameterError) as err:
        networks.build_encoder_decoder(2, 1, 0)
    assert str(err.value) == (
        "The 'horizon' parameter of build_encoder_decoder must be an int >= 1. Got 0 instead."
    )


@pytest.mark.parametrize("kwargs, match", [
    ({"units": 0}, "'units' parameter of build_many_to_one must be an int >= 1. Got 0"),
    ({"dropout": 1.0}, "'dropout' parameter of build_many_to_one must be a float in"),
    ({"static_units": 9, "n_static": 1}, "'static_units' .* must be an int in \\[1, 8\\]"),
    ({"output_activation": "nope"}, "'output_activation' parameter of build_many_to_one"),
])
def test_bad_builder_parameters_are_named(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        networks.build_many_to_one(2, 2, **{"units": 8, **kwargs})


@pytest.fixture(scope="module")
def seq2seq():
    return networks.build_encoder_decoder(3, 2, 4, cell="elman", units=4, n_future_covariates=1)


@pytest.mark.parametrize("arrays, match", [
    ((np.zeros((2, 5, 4)), np.zeros((2, 2)), np.zeros((2, 4, 1))),
     r"'encoder_inputs' argument of predict_autoregressive must have shape \(2, any, 3\). "
     r"Got shape \(2, 5, 4\)"),
    ((np.zeros((2, 5, 3)), np.zeros((2, 1)), np.zeros((2, 4, 1))),
     r"'start' argument of predict_autoregressive must have shape \(2, 2\). Got shape \(2, 1\)"),
    ((np.zeros((2, 5, 3)), np.zeros((2, 2)), np.zeros((2, 3, 1))),
     r"'future_covariates' .* must have shape \(2, 4, 1\). Got shape \(2, 3, 1\)"),
    ((np.zeros((2, 5, 3)), np.zeros((2, 2)), None),
     r"'future_covariates' argument of predict_autoregressive is required"),
])
def test_incompatible_encoder_decoder_shapes_are_named(seq2seq, arrays, match):
    with pytest.raises(InvalidInputError, match=match):
        networks.predict_autoregressive(seq2seq, *arrays)


def test_teacher_forcing_start_must_match_the_targets():
    with pytest.raises(InvalidInputError, match=r"'start' argument of teacher_forcing_inputs "
                       r"must have shape \(2, 3\). Got shape \(2, 1\)"):
        networks.teacher_forcing_inputs(np.zeros((2, 4, 3)), np.zeros((2, 1)))


def test_autoregressive_model_needs_an_encoder_decoder():
    with pytest.raises(InvalidParameterError, match="must be built by build_encoder_decoder"):
        networks.autoregressive_model(networks.build_many_to_one(2, 2, units=3))
