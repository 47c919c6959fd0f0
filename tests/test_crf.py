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


def test_one_step_batches_in_a_graph_of_unknown_shape(problem):
    """An export or a training step traces the CRF for any batch and length; a batch of
    one-step sequences then has no step to scan, which TensorFlow's stack of an empty list
    refused (in the loss too: a tagger could not train on one-token sentences)."""
    import tensorflow as tf

    emissions, transitions, start, _, _ = problem
    first = emissions[:, :1]
    spec = tf.TensorSpec([None, None, N_LABELS], tf.float32)
    for algorithm in (crf.viterbi, crf.marginals, crf.log_partition):
        traced = tf.function(lambda e, algorithm=algorithm: algorithm(e, transitions, start),
                             input_signature=[spec])
        np.testing.assert_allclose(np.asarray(traced(first)),
                                   np.asarray(algorithm(first, transitions, start)), atol=1e-6)
    layer = crf.LinearChainCRF(N_LABELS)
    layer.build((None, None, N_LABELS))
    layer.transitions.assign(transitions)
    layer.start.assign(start)
    labels = keras.ops.zeros(first.shape[:2], dtype="int32")
    loss = tf.function(lambda e: crf.CRFLoss(layer).call(labels, e), input_signature=[spec])
    np.testing.assert_allclose(np.asarray(loss(first)),
                               np.asarray(crf.CRFLoss(layer).call(labels, first)), atol=1e-6)
    want = np.exp(start + first[:, 0])
    np.testing.assert_allclose(np.asarray(crf.marginals(first, transitions, start))[:, 0],
                               want / want.sum(axis=1, keepdims=True), atol=1e-6)


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


# ---------------------------------------------------------------- constraints (IOB2)

IOB2_LABELS = ["B-A", "B-B", "I-A", "I-B", "O"]


def _may_follow(previous, tag):
    """Written apart from seqkit: ``I-X`` only right after ``B-X`` or ``I-X``."""
    return not tag.startswith("I-") or previous in ("B" + tag[1:], tag)


def _valid_iob2(tags):
    return all(_may_follow(previous, tag) for previous, tag in zip(["O", *tags], tags))


@pytest.fixture(scope="module")
def iob2_problem():
    """Scores that favour ``I-`` tags everywhere, so that unconstrained paths break IOB2."""
    rng = np.random.default_rng(1)
    n = len(IOB2_LABELS)
    emissions = rng.normal(size=(len(LENGTHS), max(LENGTHS), n)).astype("float32")
    emissions[..., 2:4] += 3.0
    transitions = rng.normal(size=(n, n)).astype("float32")
    transitions[4, 2:4] += 3.0  # O -> I-A, O -> I-B
    start = rng.normal(size=n).astype("float32")
    start[2:4] += 3.0
    mask = np.arange(max(LENGTHS))[None] < np.array(LENGTHS)[:, None]
    return emissions, transitions, start, mask


def allowed_paths(emissions, transitions, start, length):
    """The label paths that keep IOB2 (by their names) and their scores."""
    paths, scores = [], []
    for path in itertools.product(range(len(IOB2_LABELS)), repeat=length):
        if _valid_iob2([IOB2_LABELS[i] for i in path]):
            paths.append(path)
            scores.append(start[path[0]] + emissions[np.arange(length), path].sum()
                          + sum(transitions[a, b] for a, b in zip(path, path[1:])))
    return paths, np.array(scores, dtype=np.float64)


def test_iob2_constraints_allow_i_only_after_b_or_i_of_its_type():
    allowed, starts = crf.iob2_constraints(np.array(IOB2_LABELS))
    assert starts.tolist() == [True, True, False, False, True]
    for a, previous in enumerate(IOB2_LABELS):
        for b, label in enumerate(IOB2_LABELS):
            assert allowed[a, b] == _may_follow(previous, label), (previous, label)
    with pytest.raises(ValueError, match=r"must each be 'O', 'B-<type>' or 'I-<type>'\. "
                                         r"Got 'B-'\."):
        crf.iob2_constraints(["O", "B-"])


def test_constrained_viterbi_marginals_and_likelihood_equal_enumeration_of_allowed_paths(
        iob2_problem):
    emissions, transitions, start, mask = iob2_problem
    scores = crf.constrained(transitions, start, *crf.iob2_constraints(IOB2_LABELS))
    best = np.asarray(crf.viterbi(emissions, *scores, mask))
    probabilities = np.asarray(crf.marginals(emissions, *scores, mask))
    unconstrained = np.asarray(crf.viterbi(emissions, transitions, start, mask))
    broken = 0
    for b, length in enumerate(LENGTHS):
        paths, path_scores = allowed_paths(emissions[b], transitions, start, length)
        assert tuple(best[b, :length]) == paths[int(np.argmax(path_scores))]
        weights = np.exp(path_scores - np.logaddexp.reduce(path_scores))
        want = np.zeros((length, len(IOB2_LABELS)))
        for path, weight in zip(paths, weights):
            want[np.arange(length), path] += weight
        np.testing.assert_allclose(probabilities[b, :length], want, atol=1e-5)
        assert probabilities[b, 0, 2:4].tolist() == [0.0, 0.0]  # I- never starts
        gold = paths[b * 7 % len(paths)]
        labels = np.zeros((1, max(LENGTHS)), dtype=int)
        labels[0, :length] = gold
        got = crf.log_likelihood(emissions[b:b + 1], labels, *scores, mask[b:b + 1])
        want_ll = path_scores[paths.index(gold)] - np.logaddexp.reduce(path_scores)
        assert float(np.asarray(got)[0]) == pytest.approx(want_ll, abs=1e-4)
        broken += not _valid_iob2([IOB2_LABELS[i] for i in unconstrained[b, :length]])
    assert broken == len(LENGTHS)  # the test data would break IOB2 without the constraints


def test_constrained_layer_decodes_trains_and_round_trips(iob2_problem, tmp_path):
    emissions, transitions, start, mask = iob2_problem
    allowed, starts = crf.iob2_constraints(IOB2_LABELS)
    inputs = keras.Input((None, len(IOB2_LABELS)))
    model = crf.add_crf(keras.Model(inputs, keras.layers.Identity()(inputs)),
                        allowed_transitions=allowed, allowed_starts=starts)
    layer = model.get_layer("crf")
    layer.transitions.assign(transitions)
    layer.start.assign(start)
    scores = crf.constrained(transitions, start, allowed, starts)
    np.testing.assert_array_equal(np.asarray(layer.decode(emissions, mask)),
                                  np.asarray(crf.viterbi(emissions, *scores, mask)))
    np.testing.assert_allclose(np.asarray(layer.marginals(emissions, mask)),
                               np.asarray(crf.marginals(emissions, *scores, mask)), atol=1e-6)
    # The loss is the constrained negative log-likelihood.
    labels = np.array([[0, 2, 4, 1], [1, 3, 0, 0], [4, 0, 0, 0]])
    per_step = np.asarray(crf.CRFLoss(layer).call(keras.ops.convert_to_tensor(labels),
                                                  keras.ops.convert_to_tensor(emissions)))
    want = -np.asarray(crf.log_likelihood(emissions, labels, *scores, mask))
    np.testing.assert_allclose([per_step[b, :n].sum() for b, n in enumerate(LENGTHS)], want,
                               rtol=1e-5)
    assert np.isfinite(per_step).all()  # padded steps too (masked out by Keras)
    # A .keras round trip keeps the constraints.
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras").get_layer("crf")
    assert again.get_config() == layer.get_config()
    assert again.get_config()["allowed_starts"] == starts.tolist()
    np.testing.assert_array_equal(np.asarray(again.decode(emissions, mask)),
                                  np.asarray(layer.decode(emissions, mask)))


def test_float16_likelihood_stays_finite_where_a_padded_step_breaks_a_constraint(iob2_problem):
    # Padded steps may hold any label; in float16 DISALLOWED rounds to -inf.
    emissions, transitions, start, mask = iob2_problem
    scores = crf.constrained(transitions, start, *crf.iob2_constraints(IOB2_LABELS))
    labels = np.array([[0, 2, 4, 1], [4, 4, 2, 2], [4, 2, 3, 2]])  # O -> I-A at padded steps
    want = np.asarray(crf.log_likelihood(emissions, labels, *scores, mask))
    half = [keras.ops.cast(a, "float16") for a in (emissions, *scores)]
    got = np.asarray(crf.log_likelihood(half[0], labels, *half[1:], mask), dtype=np.float32)
    assert np.isfinite(want).all()
    np.testing.assert_allclose(got, want, rtol=2e-2, atol=2e-2)


def test_layer_decodes_the_float16_emissions_of_a_mixed_precision_model(iob2_problem):
    emissions, transitions, start, mask = iob2_problem
    layer = crf.LinearChainCRF(len(IOB2_LABELS), *crf.iob2_constraints(IOB2_LABELS))
    layer.build(emissions.shape)
    layer.transitions.assign(transitions)
    layer.start.assign(start)
    half = keras.ops.cast(emissions, "float16")
    np.testing.assert_array_equal(np.asarray(layer.decode(half, mask)),
                                  np.asarray(layer.decode(emissions, mask)))
    marginals = layer.marginals(half, mask)
    assert marginals.dtype == "float32"
    np.testing.assert_allclose(np.asarray(marginals),
                               np.asarray(layer.marginals(emissions, mask)), atol=1e-2)


@pytest.mark.parametrize("name, value", [("allowed_transitions", np.ones((3, 2), bool)),
                                         ("allowed_starts", [1, 0, 1])])
def test_layer_rejects_constraints_of_the_wrong_shape_or_kind(name, value):
    with pytest.raises(ValueError, match=rf"'{name}' parameter of LinearChainCRF must be None "
                                         r"or a bool array of shape"):
        crf.LinearChainCRF(N_LABELS, **{name: value})
