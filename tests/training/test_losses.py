"""SmoothedSparseCrossentropy against its equation in NumPy."""

import keras
import numpy as np
import pytest

from seqkit.exceptions import InvalidParameterError
from seqkit.training import SmoothedSparseCrossentropy


def _probabilities(rng, batch, classes):
    logits = rng.normal(size=(batch, classes))
    return (np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)).astype("float32")


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 0.5])
def test_the_loss_is_the_cross_entropy_against_smoothed_one_hot_targets(label_smoothing):
    rng = np.random.default_rng(0)
    p, labels = _probabilities(rng, 6, 4), np.array([0, 3, 1, 1, 2, 0])
    q = np.full((6, 4), label_smoothing / 4)
    q[np.arange(6), labels] += 1 - label_smoothing
    want = -(q * np.log(p)).sum(axis=1)
    loss = SmoothedSparseCrossentropy(label_smoothing, reduction=None)
    np.testing.assert_allclose(loss(labels, p), want, rtol=1e-5)
    np.testing.assert_allclose(loss(labels[:, None], p), want, rtol=1e-5)  # (batch, 1) labels
    if label_smoothing == 0.0:
        plain = keras.losses.SparseCategoricalCrossentropy(reduction=None)(labels, p)
        np.testing.assert_allclose(loss(labels, p), plain, rtol=1e-5)


def test_the_loss_survives_its_config_and_refuses_a_smoothing_of_1():
    loss = SmoothedSparseCrossentropy(0.2)
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(again, SmoothedSparseCrossentropy) and again.label_smoothing == 0.2
    with pytest.raises(InvalidParameterError, match=r"'label_smoothing' parameter of "
                                                    r"SmoothedSparseCrossentropy .* Got 1\.0"):
        SmoothedSparseCrossentropy(1.0)
