"""The convolutional branch (LSTM-FCN) beside the recurrent layers of a many-to-one network."""

import keras
import numpy as np
import pytest

from seqkit import SequenceClassifier, datasets, export, networks
from seqkit.exceptions import InvalidParameterError
from seqkit.networks.conv import RECURRENT_DROPOUT, ConvBranch


def _reference(branch, x):
    """The branch in NumPy: 'same' convolutions (zero padding, the extra step on the right for
    even widths, as Keras pads), inference-mode batch normalisation, ReLU, and with
    ``branch.pool`` the mean over time."""
    h = x
    for convolution, norm in zip(branch.convolutions, branch.norms):
        kernel = keras.ops.convert_to_numpy(convolution.kernel)  # (width, in, out)
        width = kernel.shape[0]
        left = (width - 1) // 2
        padded = np.pad(h, ((left, width - 1 - left), (0, 0)))
        h = np.stack([np.einsum("wi,wio->o", padded[t:t + width], kernel)
                      for t in range(len(h))])
        gamma, beta, mean, variance = (keras.ops.convert_to_numpy(w) for w in norm.weights)
        h = np.maximum(gamma * (h - mean) / np.sqrt(variance + norm.epsilon) + beta, 0.0)
    return h.mean(axis=0) if branch.pool else h


def _trained_statistics(branch, rng):
    """Give the batch normalisations statistics other than 0 and 1, as training would."""
    for norm in branch.norms:
        for weight in norm.weights:
            weight.assign(rng.uniform(0.5, 1.5, weight.shape).astype("float32"))


@pytest.mark.parametrize("pool", [True, False], ids=["mean over time", "per step"])
def test_the_branch_matches_its_numpy_reference_on_each_sequence_of_a_ragged_batch(pool):
    rng = np.random.default_rng(0)
    branch = ConvBranch(filters=(4, 6, 3), kernel_sizes=(8, 5, 3), pool=pool)
    lengths = (12, 5, 9)
    x = np.zeros((3, 12, 2), "float32")
    for row, n in zip(x, lengths):
        row[:n] = rng.normal(size=(n, 2))
    mask = np.arange(12)[None, :] < np.array(lengths)[:, None]
    branch(x, mask=mask)
    _trained_statistics(branch, rng)
    out = keras.ops.convert_to_numpy(branch(x, mask=mask, training=False))
    assert out.shape == ((3, 3) if pool else (3, 12, 3))
    for row, sequence, n in zip(out, x, lengths):
        real = row if pool else row[:n]
        np.testing.assert_allclose(real, _reference(branch, sequence[:n]), rtol=1e-5, atol=1e-5)
        if not pool:
            assert not row[n:].any()
        alone = keras.ops.convert_to_numpy(branch(sequence[None, :n], training=False))[0]
        np.testing.assert_allclose(alone, real, atol=1e-5)


def test_batch_normalisation_in_training_counts_the_real_steps_only():
    branch = ConvBranch(filters=(3,), kernel_sizes=(1,))
    x = np.zeros((2, 6, 1), "float32")
    x[0, :6, 0] = np.arange(6)
    x[1, :2, 0] = (10.0, 20.0)
    mask = np.arange(6)[None, :] < np.array([6, 2])[:, None]
    branch(x, mask=mask)
    branch.norms[0].momentum = 0.0  # the moving statistics become this batch's
    branch(x, mask=mask, training=True)
    real = (branch.convolutions[0].kernel.numpy()[0, 0] * x[mask][:, :1]).astype("float64")
    np.testing.assert_allclose(branch.norms[0].moving_mean.numpy(), real.mean(axis=0),
                               rtol=1e-5, atol=1e-6)


def test_a_network_with_the_branch_merges_it_before_the_readout_and_round_trips(tmp_path):
    model = networks.build_many_to_one(2, 3, cell="elman", units=4, conv_branch=True, seed=0)
    assert model.get_layer("conv_merge").output.shape == (None, 4 + 64)
    x = np.random.default_rng(1).normal(size=(2, 20, 2)).astype("float32")
    x[1, 14:] = np.nan
    model.save(tmp_path / "net.keras")
    loaded = keras.saving.load_model(tmp_path / "net.keras")
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)
    np.testing.assert_allclose(model(x[1:, :14])[0], model(x)[1], atol=1e-5)


@pytest.mark.parametrize("build", [networks.build_many_to_one, networks.build_many_to_many],
                         ids=["many-to-one", "many-to-many, at every step"])
def test_the_recurrent_output_is_dropped_at_the_papers_rate_in_training_only(build):
    model = build(2, 3, cell="elman", units=16, conv_branch=True, seed=0)
    merged = keras.Model(model.input, model.get_layer("conv_merge").output)
    x = np.random.default_rng(3).normal(size=(64, 10, 2)).astype("float32")
    kept = keras.ops.convert_to_numpy(merged(x, training=False))[..., :16]
    dropped = keras.ops.convert_to_numpy(merged(x, training=True))[..., :16]
    zeros = dropped == 0
    assert abs(zeros.mean() - RECURRENT_DROPOUT) < 0.04  # of at least 1,024 values
    np.testing.assert_allclose(dropped[~zeros], kept[~zeros] / (1 - RECURRENT_DROPOUT),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(x)),
                                  keras.ops.convert_to_numpy(model(x)))


def test_a_tagging_network_with_the_branch_merges_it_at_every_step(tmp_path):
    model = networks.build_many_to_many(2, 3, cell="elman", units=4, conv_branch=True, seed=0)
    assert model.get_layer("conv_merge").output.shape == (None, None, 4 + 64)
    x = np.random.default_rng(1).normal(size=(2, 20, 2)).astype("float32")
    x[1, 14:] = np.nan
    model.save(tmp_path / "net.keras")
    loaded = keras.saving.load_model(tmp_path / "net.keras")
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)
    np.testing.assert_allclose(model(x[1:, :14])[0], model(x)[1, :14], atol=1e-5)
    real = np.arange(20)[None, :] < np.array([20, 14])[:, None]
    np.testing.assert_array_equal(model(x)._keras_mask, real)  # the loss leaves padding out
    with pytest.raises(InvalidParameterError, match="conv_branch=False"):
        networks.stateful_twin(model)


def test_the_stateful_twin_refuses_a_network_with_the_branch_or_pooled_steps():
    model = networks.build_many_to_one(2, 3, cell="elman", units=4, conv_branch=True, seed=0)
    with pytest.raises(InvalidParameterError, match="conv_branch=False"):
        networks.stateful_twin(model)
    pooled = networks.build_many_to_one(2, 3, cell="elman", units=4, step_pooling=2, seed=0)
    with pytest.raises(InvalidParameterError, match="step_pooling=1"):
        networks.stateful_twin(pooled)


def test_the_probed_twin_keeps_the_branch():
    model = networks.build_many_to_one(2, 3, cell="elman", units=4, conv_branch=True, seed=0)
    twin = networks.probed_twin(model)
    x = np.random.default_rng(2).normal(size=(2, 7, 2)).astype("float32")
    np.testing.assert_allclose(twin([x, np.zeros((2, 7, 4), "float32")]), model(x), atol=1e-6)


def test_filters_and_kernel_sizes_must_pair_up():
    with pytest.raises(InvalidParameterError, match="as many"):
        ConvBranch(filters=(4, 4), kernel_sizes=(3,))


@pytest.mark.slow
def test_a_classifier_with_the_branch_and_pooled_steps_exports_to_onnx_with_its_answers(tmp_path):
    pytest.importorskip("tf2onnx")
    ort = pytest.importorskip("onnxruntime")
    X, y, X_test, _ = datasets.load_classification("basic_motions")
    rng = np.random.default_rng(0)
    X = [x[: rng.integers(60, 101)] for x in X]
    clf = SequenceClassifier(units=3, epochs=2, step_pooling=7, random_state=0).fit(X, y)
    assert {"conv_branch", "step_pooling"} <= {layer.name for layer in clf.model_.layers}
    requests = [x[: rng.integers(8, 101)] for x in X_test[:5]]
    padded = np.full((5, 100, 6), np.nan, "float32")
    for row, x in zip(padded, requests):
        row[: len(x)] = x
    path = export.export_onnx(clf, tmp_path / "clf.onnx", signature="predict_proba")
    session = ort.InferenceSession(str(path))
    (got,) = session.run(None, {"sequences": padded})
    np.testing.assert_allclose(got, clf.predict_proba(requests), atol=1e-5)
