"""The "auto" training budget, the learning-rate plateau schedule and the input scaling that
the estimators' defaults use."""

import logging

import keras
import numpy as np
import pytest
import tensorflow as tf

from seqkit import datasets, training
from seqkit.estimators import SequenceClassifier, SequenceForecaster, SequenceTagger
from seqkit.estimators._budget import resolve
from seqkit.exceptions import InvalidParameterError
from seqkit.networks import build_many_to_one
from seqkit.networks.pooling import StepPooling
from seqkit.training.loop import _HalveOnPlateau

AUTO = {"batch_size": "auto", "epochs": "auto", "validation_fraction": "auto"}


@pytest.mark.parametrize("n, batch, epochs, fraction", [
    (20, 8, 667, 0.0),     # Chinatown: 3 batches an epoch
    (8, 8, 1000, 0.0),     # 1 batch an epoch, capped at 1,000 epochs
    (100, 8, 154, 0.0),    # ECG200: 13 batches an epoch, 2,002 updates
    (270, 15, 118, 0.1),   # JapaneseVowels: 243 to train, 17 batches an epoch
    (16000, 32, 5, 0.1),   # part of speech: 450 batches an epoch, at least 5 epochs
])
def test_auto_aims_at_2000_updates_with_a_batch_for_small_data(n, batch, epochs, fraction):
    budget = resolve(n, **AUTO)
    assert (budget.batch_size, budget.epochs, budget.validation_fraction) == (
        batch, epochs, fraction)
    n_train = n - int(n * fraction)
    assert budget.updates == epochs * -(-n_train // batch)


def test_given_values_are_kept_and_patience_counts_updates_on_small_data():
    budget = resolve(28, batch_size=4, epochs=3, validation_fraction=0.25)
    assert (budget.batch_size, budget.epochs, budget.validation_fraction) == (4, 3, 0.25)
    assert budget.batches_per_epoch == 6  # 21 to train
    assert budget.patience(10) == 27      # 10 epochs of 16 batches: 160 updates
    assert resolve(5000, batch_size=32, epochs=3, validation_fraction=0.1).patience(10) == 10


def test_a_classifier_on_few_sequences_holds_none_out_and_says_so(caplog):
    X, y, _, _ = datasets.load_classification("japanese_vowels")
    with caplog.at_level(logging.INFO, logger="seqkit"):
        clf = SequenceClassifier(units=4, epochs=2, random_state=0).fit(X[:40], y[:40])
    assert clf.budget_.validation_fraction == 0.0 and clf.budget_.batch_size == 8
    assert set(clf.history_) == {"loss"}
    assert "40 training samples, none held out (watching the training loss); batch size 8, " \
        "at most 2 epochs (10 optimizer updates)" in caplog.text
    assert not clf.model_.optimizer.use_ema  # too few updates for the average to forget


def test_fits_with_nothing_held_out_and_enough_updates_end_on_the_average_of_their_weights():
    auto = resolve(40, batch_size="auto", epochs="auto", validation_fraction="auto")
    assert auto.updates == 2000 and auto.averages_weights
    assert "and ending on the moving average of the weights" in auto.describe()
    assert resolve(40, batch_size=8, epochs=100, validation_fraction=0.0).averages_weights
    assert not resolve(40, batch_size=8, epochs=99, validation_fraction=0.0).averages_weights
    assert not resolve(4000, batch_size=8, epochs=100, validation_fraction=0.1).averages_weights
    assert not resolve(40, batch_size=8, epochs=100, validation_fraction=0.0,
                       n_validation=5).averages_weights


def test_a_forecaster_says_it_watches_its_held_out_windows(caplog):
    # It held out the latest windows of each series apart from the fraction, and said
    # "none held out (watching the training loss)" while watching their loss.
    y = datasets.load_series("airline")
    with caplog.at_level(logging.INFO, logger="seqkit"):
        forecaster = SequenceForecaster(lookback=12, horizon=3, units=4, epochs=2,
                                        random_state=0).fit(y)
    budget = forecaster.budget_
    assert set(forecaster.history_) == {"loss", "val_loss"}
    assert budget.validation_fraction == 0.0 and budget.n_validation > 0
    assert (f"{budget.n_samples} training samples, {budget.n_validation} more held out for "
            "validation; batch size") in caplog.text


def test_the_plateau_schedule_halves_the_rate_down_to_a_hundredth():
    model = build_many_to_one(2, 2, cell="elman", units=3)
    training.compile_model(model, loss="sparse_categorical_crossentropy", learning_rate=0.5)
    schedule = _HalveOnPlateau("loss", patience=2)
    schedule.set_model(model)
    schedule.on_train_begin()
    rates = []
    for epoch, loss in enumerate([1.0, 0.9, 0.95, 0.91, 0.92, 0.8] + [0.85] * 20):
        schedule.on_epoch_end(epoch, {"loss": loss})
        rates.append(float(model.optimizer.learning_rate.value.numpy()))
    # No better than 0.9 for two epochs (0.95, 0.91): halved; 0.8 is the best again; then
    # every second epoch halves until the floor, 1/100 of 0.5.
    np.testing.assert_allclose(rates[:8], [0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.125],
                               rtol=1e-6)
    assert rates[-1] == pytest.approx(0.005, rel=1e-6) and min(rates) >= 0.005 * (1 - 1e-6)


def test_the_schedule_needs_something_to_watch():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 5, 2)).astype("float32"), rng.integers(0, 2, 16)
    model = build_many_to_one(2, 2, cell="elman", units=3)
    training.compile_model(model, loss="sparse_categorical_crossentropy")
    with pytest.raises(InvalidParameterError, match="plateau_patience"):
        training.fit(model, x, y, plateau_patience=2)
    history = training.fit(model, x, y, epochs=3, monitor="loss", plateau_patience=1, seed=0)
    assert set(history) == {"loss"}  # the rate is not written into the history


def test_input_scaling_standardises_inside_the_network_so_raw_values_train():
    """Chinatown-like raw counts (hundreds): the network's first layer sees z-scores."""
    X, y, _, _ = datasets.load_classification("basic_motions")
    raw = [x * 300 + 500 for x in X]
    clf = SequenceClassifier(units=4, epochs=1, random_state=0).fit(raw, y)
    layer = clf.model_.get_layer("input_scaling")
    values = np.concatenate(raw)
    np.testing.assert_allclose(np.asarray(layer.mean).reshape(-1), values.mean(axis=0),
                               rtol=1e-5)
    scaled = keras.Model(clf.model_.inputs, layer.output)(np.stack(raw[:3]).astype("float32"))
    assert abs(float(np.mean(scaled))) < 1.0
    plain = SequenceClassifier(units=4, epochs=1, random_state=0, scaling=None).fit(raw, y)
    assert "input_scaling" not in [layer.name for layer in plain.model_.layers]


def test_a_numeric_tagger_scales_and_a_token_tagger_does_not():
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(6, 2)) * 50 for _ in range(4)]
    numeric = SequenceTagger(units=3, epochs=1, random_state=0).fit(X, [x[:, 0] > 0 for x in X])
    assert "input_scaling" in [layer.name for layer in numeric.model_.layers]
    tokens = SequenceTagger(units=3, epochs=1, random_state=0).fit([["a", "b"]] * 3,
                                                                   [["X", "Y"]] * 3)
    assert "input_scaling" not in [layer.name for layer in tokens.model_.layers]


def test_a_tagger_puts_a_crf_on_iob2_tags_only_and_reads_spelling_by_default():
    sentences = [["Ada", "met", "Alan", "Turing"], ["Paris", "is", "big"]] * 4
    tags = [["B-PER", "O", "B-PER", "I-PER"], ["B-LOC", "O", "O"]] * 4
    tagger = SequenceTagger(units=3, epochs=1, random_state=0).fit(sentences, tags)
    assert tagger.crf_ and tagger.scheme_ == "iob2" and tagger.subword_features_
    assert tagger.model_.get_layer("crf") is not None
    parts = SequenceTagger(units=3, epochs=1, random_state=0).fit(
        sentences, [["NNP", "VBD", "NNP", "NNP"], ["NNP", "VBZ", "JJ"]] * 4)
    assert not parts.crf_ and "crf" not in [layer.name for layer in parts.model_.layers]
    assert SequenceTagger(crf=True, units=3, epochs=1).fit(
        sentences, [["NNP", "VBD", "NNP", "NNP"], ["NNP", "VBZ", "JJ"]] * 4).crf_


def test_step_pooling_averages_runs_of_real_steps_and_keeps_padding_padding():
    x = np.array([[[1.0], [3.0], [5.0], [7.0], [9.0]],
                  [[2.0], [4.0], [6.0], [np.nan], [np.nan]]], dtype="float32")
    pooled = np.asarray(StepPooling(2)(x))
    np.testing.assert_allclose(pooled[0, :, 0], [2.0, 6.0, 9.0])
    np.testing.assert_allclose(pooled[1, :2, 0], [3.0, 6.0])
    assert np.isnan(pooled[1, 2, 0])  # all padding in: padding out
    assert StepPooling.from_config(StepPooling(3).get_config()).size == 3


def test_a_pooled_classifier_exports_the_same_answers_on_ragged_sequences(tmp_path):
    """BasicMotions cut to ragged lengths of 30-100 steps, pooled by "auto" (1 here: at most
    100 steps) and by 7, which leaves a partial last run in most sequences."""
    X, y, X_test, _ = datasets.load_classification("basic_motions")
    rng = np.random.default_rng(0)
    X = [x[: rng.integers(30, 101)] for x in X]
    assert SequenceClassifier(units=3, epochs=1, step_pooling="auto", random_state=0).fit(
        X, y).step_pooling_ == 1
    clf = SequenceClassifier(units=3, epochs=2, step_pooling=7, random_state=0).fit(X, y)
    assert clf.model_.get_layer("step_pooling").size == 7
    requests = [x[: rng.integers(8, 101)] for x in X_test[:6]]
    served = tf.saved_model.load(str(clf.export(tmp_path / "pooled")))
    padded = np.full((6, 100, 6), np.nan, "float32")
    for row, x in zip(padded, requests):
        row[: len(x)] = x
    probabilities = served.signatures["predict_proba"](sequences=tf.constant(padded))
    np.testing.assert_allclose(next(iter(probabilities.values())).numpy(),
                               clf.predict_proba(requests), atol=1e-5)
