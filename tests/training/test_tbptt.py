"""Truncated BPTT: carried states, chunk borders, static inputs, models it cannot run."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from seqkit import networks, training
from seqkit.crf import CRFLoss, add_crf
from seqkit.exceptions import InvalidInputError, InvalidParameterError
from tests.training.tiny import flat_weights, tiny_data, tiny_model


def _chunked(trainer, x, *static):
    outputs, states = [], None
    for start, stop in trainer.chunks(x.shape[1]):
        y_pred, states = trainer.forward([x[:, start:stop], *static], states)
        outputs.append(np.asarray(y_pred))
    return outputs


@pytest.mark.parametrize("cell", networks.CELL_NAMES)
def test_chunks_with_carried_states_equal_the_whole_sequence(cell):
    x, _ = tiny_data(n=2)
    x[1, 4:] = np.nan  # padding crosses a chunk border
    model = tiny_model(cell=cell, num_layers=2)
    chunks = _chunked(training.TruncatedBPTT(model, 3), x)
    np.testing.assert_allclose(np.concatenate(chunks, axis=1), model(x), atol=1e-5)


def test_many_to_one_chunks_end_in_the_whole_sequence_output():
    x, _ = tiny_data(n=2)
    model = tiny_model(per_step=False, num_layers=2)
    last = _chunked(training.TruncatedBPTT(model, 4), x)[-1]
    np.testing.assert_allclose(last, model(x), atol=1e-5)


def _spy(trainer, name):
    calls, original = [], getattr(trainer, name)

    def spy(inputs, *args):
        out = original(inputs, *args)
        calls.append((args[-1], out[-1] if name == "train_chunk" else out))
        return out

    setattr(trainer, name, spy)
    return calls


@pytest.mark.parametrize("per_step", [True, False], ids=["many_to_many", "many_to_one"])
def test_state_is_carried_between_chunks_and_reset_between_sequences(per_step):
    x, y = tiny_data(per_step=per_step)
    trainer = training.TruncatedBPTT(tiny_model(per_step=per_step), 2)
    learned, carried = _spy(trainer, "train_chunk"), _spy(trainer, "advance")
    for batch in (slice(0, 4), slice(4, 8)):
        trainer.train_batch([x[batch]], y[batch])
    if per_step:
        assert len(learned) == 6 and not carried
        sequence = learned
    else:
        assert len(learned) == 2 and len(carried) == 4  # chunks 1-2 carry, chunk 3 learns
        sequence = [carried[0], carried[1], learned[0], carried[2], carried[3], learned[1]]
    for j, (states_in, _) in enumerate(sequence):
        if j % 3 == 0:
            assert states_in is None  # a new batch of sequences starts from the initial state
        else:
            for entering, leaving in zip(states_in, sequence[j - 1][1]):
                np.testing.assert_array_equal(entering, leaving)


def test_no_gradient_crosses_a_chunk_border():
    x, _ = tiny_data(n=2)
    trainer = training.TruncatedBPTT(tiny_model(), 3)
    first, second = tf.constant(x[:, :3]), tf.constant(x[:, 3:])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([first, second])
        _, states = trainer.forward([first])
        y_pred, _ = trainer.forward([second], states)
        loss = ops.sum(y_pred)
    assert tape.gradient(loss, first) is None
    assert np.abs(tape.gradient(loss, second)).sum() > 0


@pytest.mark.parametrize("steps", [6, 2])
def test_truncated_bptt_with_whole_sequence_chunks_is_full_bptt(steps):
    x, y = tiny_data()
    start = tiny_model().get_weights()
    full, truncated = (training.compile_model(tiny_model(), loss="mse", optimizer="sgd",
                                              learning_rate=0.5) for _ in range(2))
    for model in (full, truncated):
        model.set_weights(start)
    full.fit(x, y, batch_size=len(x), epochs=1, verbose=0, shuffle=False)
    trainer = training.TruncatedBPTT(truncated, steps)
    trainer.train_batch([x], y)
    if steps == 6:
        np.testing.assert_allclose(flat_weights(truncated), flat_weights(full), atol=1e-6)
    else:  # three updates, each from a chunk's own gradient
        assert not np.allclose(flat_weights(truncated), flat_weights(full), atol=1e-3)


def test_truncated_bptt_scales_the_loss_under_mixed_precision():
    # The loss-scaling optimizer of mixed_float16 divides the gradients by its scale
    # (2^15): an unscaled loss gave updates 20,000 times too small.
    x, y = tiny_data()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        keras.utils.set_random_seed(0)
        start = tiny_model().get_weights()
        full, truncated = (training.compile_model(tiny_model(), loss="mse", optimizer="sgd",
                                                  learning_rate=0.5) for _ in range(2))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    for model in (full, truncated):
        model.set_weights(start)
    full.fit(x, y, batch_size=len(x), epochs=1, verbose=0, shuffle=False)
    training.TruncatedBPTT(truncated, 6).train_batch([x], y)
    moved = flat_weights(full) - np.concatenate([w.ravel() for w in start])
    assert np.abs(moved).max() > 0.01
    np.testing.assert_allclose(flat_weights(truncated), flat_weights(full), atol=2e-3)


def test_chunks_of_padding_only_take_no_step():
    x, y = tiny_data(n=8, steps=4)
    padded_x = np.concatenate([x, np.full((8, 8, x.shape[2]), np.nan, "float32")], axis=1)
    padded_y = np.concatenate([y, np.zeros((8, 8, y.shape[2]), "float32")], axis=1)
    found = []
    for data in ((x, y), (padded_x, padded_y)):
        keras.utils.set_random_seed(0)
        model = tiny_model()  # Adam: a zero gradient would still move the weights
        history = training.fit(model, *data, epochs=2, batch_size=8, tbptt_steps=4, seed=0)
        found.append((history, int(model.optimizer.iterations), flat_weights(model)))
    assert found[1][:2] == found[0][:2] == (found[0][0], 2)
    np.testing.assert_array_equal(found[1][2], found[0][2])


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
def test_the_reported_loss_is_the_whole_batch_loss(weighted):
    # Chunks of 3, 3 and 1 steps, two sequences padded across chunk borders: an
    # unweighted mean of the chunks' losses gave 0.883 against 0.726.
    x, y = tiny_data(n=4, steps=7)
    x[1, 3:] = np.nan
    x[2, 5:] = np.nan
    weights = np.random.default_rng(1).uniform(0.5, 2, (4, 7)).astype("float32")
    weights = weights if weighted else None
    # A learning rate too small to move a float32 weight: every chunk sees the same weights.
    model = tiny_model(compile_kwargs={"optimizer": "sgd", "learning_rate": 1e-30})
    whole = model.compute_loss(y=y, y_pred=model(x), sample_weight=weights)
    reported = training.TruncatedBPTT(model, 3).train_batch([x], y, weights)
    np.testing.assert_allclose(reported, float(whole), rtol=1e-5)


def test_a_batch_of_padding_only_is_refused_by_name():
    x, y = tiny_data(n=2, steps=4)
    with pytest.raises(InvalidInputError, match=r"must hold a real step"):
        training.TruncatedBPTT(tiny_model(), 2).train_batch([np.full_like(x, np.nan)], y)


@pytest.mark.slow
def test_fit_with_truncated_bptt_learns_and_validates():
    x, y = tiny_data(n=16, steps=12)
    model = tiny_model(compile_kwargs={"learning_rate": 0.05, "metrics": ["mae"]})
    history = training.fit(model, x, y, epochs=6, batch_size=8, tbptt_steps=4,
                           validation_fraction=0.25, seed=0)
    assert set(history) == {"loss", "mae", "val_loss", "val_mae"}
    assert history["loss"][-1] < 0.7 * history["loss"][0]


def test_static_features_start_the_first_chunk_only():
    x, y = tiny_data()
    model = tiny_model(n_static=2)
    static = np.ones((8, 2), "float32")
    chunks = _chunked(training.TruncatedBPTT(model, 3), x, static)
    np.testing.assert_allclose(np.concatenate(chunks, axis=1), model([x, static]), atol=1e-5)
    history = training.fit(model, [x, static], y, epochs=1, tbptt_steps=3)
    assert np.isfinite(history["loss"][0])


# ---------------------------------------------------------------------- bad input


def test_chunks_longer_than_the_sequence_are_refused():
    x, y = tiny_data()
    with pytest.raises(InvalidParameterError) as err:
        training.fit(tiny_model(), x, y, tbptt_steps=7)
    assert str(err.value) == (
        "The 'tbptt_steps' parameter of fit must be an int in [1, 6]. Got 7 instead."
    )


@pytest.mark.parametrize("model, match", [
    (lambda: tiny_model(bidirectional=True), "Got the Bidirectional layer 'recurrent_1'"),
    (lambda: training.compile_model(keras.Sequential(
        [keras.Input((None, 4)), keras.layers.GRU(3, return_sequences=True, name="plain")]),
        loss="mse"), "return_state=True .* Got layer 'plain' with return_state=False"),
    (lambda: training.compile_model(networks.build_encoder_decoder(4, 1, 6, units=3),
                                    loss="mse"), "exactly one input with a time axis"),
    (lambda: training.compile_model(
        add_crf(networks.build_many_to_many(4, 3, units=3, output_activation=None)),
        loss=CRFLoss()), "must not end in a CRF .* Got the layer 'crf'"),
])
def test_models_truncated_bptt_cannot_run_are_refused(model, match):
    _, y = tiny_data()
    model = model()
    x = [np.zeros((8, *(size or 6 for size in t.shape[1:])), "float32") for t in model.inputs]
    with pytest.raises(InvalidParameterError, match=match):
        training.fit(model, x, y, tbptt_steps=2)
