"""Linear-chain CRF: algorithms against brute force over all label paths; the layer; the loss."""

import itertools

import keras
import numpy as np
import pytest

from seqkit import crf

N_LABELS = 3
LENGTHS = [4, 2, 1]  # padded to 4 steps


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    emissions = rng.normal(size=(len(LENGTHS), max(LENGTHS), N_LABELS)).astype("float32")
    transitions = rng.normal(size=(N_LABELS, N_LABELS)).astype("float32")
    start = rng.normal(size=N_LABELS).astype("float32")
    mask = np.arange(max(LENGTHS))[None] < np.array(LENGTHS)[:, None]
    labels = rng.integers(0, N_LABELS, size=mask.shape)
    return emissions, transitions, start, mask, labels


def brute_force(emissions, transitions, start, length):
    """Every label path of one sequence of ``length`` steps and its score."""
    paths = list(itertools.product(range(N_LABELS), repeat=length))
    scores = []
    for path in paths:
        score = start[path[0]] + emissions[0, path[0]]
        for t in range(1, length):
            score += transitions[path[t - 1], path[t]] + emissions[t, path[t]]
        scores.append(score)
    return paths, np.array(scores, dtype=np.float64)


def test_log_likelihood_equals_brute_force_enumeration(problem):
    emissions, transitions, start, mask, labels = problem
    got = np.asarray(crf.log_likelihood(emissions, labels, transitions, start, mask))
    for b, length in enumerate(LENGTHS):
        paths, scores = brute_force(emissions[b], transitions, start, length)
        log_z = np.log(np.exp(scores).sum())
        want = scores[paths.index(tuple(labels[b, :length]))] - log_z
        assert got[b] == pytest.approx(want, abs=1e-5)


def test_viterbi_equals_brute_force_argmax(problem):
    emissions, transitions, start, mask, _ = problem
    got = np.asarray(crf.viterbi(emissions, transitions, start, mask))
    assert got.shape == mask.shape and got.dtype == np.int32
    for b, length in enumerate(LENGTHS):
        paths, scores = brute_force(emissions[b], transitions, start, length)
        assert tuple(got[b, :length]) == paths[int(np.argmax(scores))]


def test_marginals_equal_brute_force_sums(problem):
    emissions, transitions, start, mask, _ = problem
    got = np.asarray(crf.marginals(emissions, transitions, start, mask))
    for b, length in enumerate(LENGTHS):
        paths, scores = brute_force(emissions[b], transitions, start, length)
        weights = np.exp(scores - np.log(np.exp(scores).sum()))
        want = np.zeros((length, N_LABELS))
        for path, weight in zip(paths, weights):
            want[np.arange(length), path] += weight
        np.testing.assert_allclose(got[b, :length], want, atol=1e-5)


def test_one_step_sequences(problem):
    emissions, transitions, start, _, _ = problem
    first = emissions[:, :1]
    np.testing.assert_array_equal(np.asarray(crf.viterbi(first, transitions, start))[:, 0],
                                  np.argmax(start + first[:, 0], axis=-1))


def test_loss_spreads_the_negative_log_likelihood_over_the_steps(problem):
    emissions, transitions, start, mask, labels = problem
    layer = crf.LinearChainCRF(N_LABELS)
    layer.build((None, None, N_LABELS))
    layer.transitions.assign(transitions)
    layer.start.assign(start)
    per_step = np.asarray(crf.CRFLoss(layer).call(keras.ops.convert_to_tensor(labels),
                                                  keras.ops.convert_to_tensor(emissions)))
    likelihood = np.asarray(crf.log_likelihood(emissions, labels, transitions, start, mask))
    sums = np.array([per_step[b, :n].sum() for b, n in enumerate(LENGTHS)])
    np.testing.assert_allclose(sums, -likelihood, atol=1e-5)


def test_layer_passes_scores_and_mask_through_and_serialises():
    inputs = keras.Input((None,), dtype="int32")
    scores = keras.layers.Dense(N_LABELS)(keras.layers.Embedding(5, 4, mask_zero=True)(inputs))
    model = crf.add_crf(keras.Model(inputs, scores))
    layer = model.get_layer("crf")
    assert [w.shape for w in layer.weights] == [(N_LABELS, N_LABELS), (N_LABELS,)]
    ids = np.array([[1, 2, 0]])
    output = model(ids)
    assert keras.ops.convert_to_numpy(output._keras_mask).tolist() == [[True, True, False]]
    config = layer.get_config()
    assert config["n_labels"] == N_LABELS
    assert crf.LinearChainCRF.from_config(config).get_config() == config


def test_layer_rejects_a_bad_label_count():
    with pytest.raises(ValueError, match=r"'n_labels' parameter of LinearChainCRF must be an int"):
        crf.LinearChainCRF(0)
