"""Tests of padding and validation of sequences, SequenceScaler and Vocabulary."""

import numpy as np
import pytest
from sklearn.base import clone

from seqkit._validation import check_sequences
from seqkit.exceptions import InputTypeError, InvalidInputError
from seqkit.preprocessing import (
    OOV_ID,
    PAD_ID,
    SequenceScaler,
    Vocabulary,
    pad_ids,
    sliding_windows,
)


def _ragged(rng):
    return [rng.normal(loc=5.0, scale=3.0, size=(n, 2)) for n in (4, 7, 1)]


def test_check_sequences_pads_ragged_input_with_nan_and_keeps_every_step():
    X = _ragged(np.random.default_rng(0))
    sequences = check_sequences(X)
    assert sequences.values.shape == (3, 7, 2)
    assert sequences.values.dtype == np.float32
    np.testing.assert_array_equal(sequences.lengths, [4, 7, 1])
    for padded, original, n in zip(sequences.values, X, sequences.lengths):
        np.testing.assert_allclose(padded[:n], original, rtol=1e-6)
        assert np.isnan(padded[n:]).all()


@pytest.mark.parametrize(
    ("X", "shape", "univariate"),
    [
        (np.zeros((5, 6, 3)), (5, 6, 3), False),
        (np.zeros((5, 6)), (5, 6, 1), True),
        ([[1.0, 2.0], [3.0]], (2, 2, 1), True),
    ],
)
def test_check_sequences_reads_3d_2d_and_lists_of_1d(X, shape, univariate):
    sequences = check_sequences(X)
    assert sequences.values.shape == shape
    assert sequences.univariate is univariate


def test_check_sequences_names_the_sequence_and_step_of_a_nan():
    X = [np.zeros((3, 2)), np.zeros((6, 2))]
    X[1][5, 0] = np.inf
    with pytest.raises(InvalidInputError, match=r"X contains NaN or inf in sequence 1 at step 5\."):
        check_sequences(X)


def test_check_sequences_rejects_wrong_dimensions_with_the_shape_received():
    with pytest.raises(InvalidInputError, match=r"Got shape \(4,\)\. Reshape your data"):
        check_sequences(np.zeros(4))
    with pytest.raises(InvalidInputError, match=r"Got shape \(2, 3, 4, 5\)"):
        check_sequences(np.zeros((2, 3, 4, 5)))


def test_check_sequences_rejects_sparse_and_strings():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(InputTypeError, match="sparse"):
        check_sequences(scipy_sparse.csr_matrix(np.eye(3)))
    with pytest.raises(InputTypeError, match=r"X\[0\] must hold numbers"):
        check_sequences([["a", "b"]])


def test_check_sequences_checks_the_number_of_features_after_fit():
    with pytest.raises(InvalidInputError, match="X has 2 features, but Owner is expecting 3"):
        check_sequences(np.zeros((1, 4, 2)), owner="Owner", n_features=3)


def test_like_input_gives_back_the_form_of_the_input():
    X = [np.arange(3.0), np.arange(5.0)]
    sequences = check_sequences(X)
    back = sequences.like_input(sequences.values)
    assert [b.shape for b in back] == [(3,), (5,)]
    assert check_sequences(np.zeros((2, 4))).like_input(np.zeros((2, 4, 1))).shape == (2, 4)


def test_sequence_scaler_uses_every_real_step_and_no_padding():
    X = _ragged(np.random.default_rng(1))
    scaler = SequenceScaler().fit(X)
    steps = np.concatenate(X)
    np.testing.assert_allclose(scaler.mean_, steps.mean(axis=0))
    np.testing.assert_allclose(scaler.scale_, steps.std(axis=0))
    scaled = scaler.transform(X)
    assert [s.shape for s in scaled] == [x.shape for x in X]
    np.testing.assert_allclose(np.concatenate(scaled).mean(axis=0), 0.0, atol=1e-12)
    for back, original in zip(scaler.inverse_transform(scaled), X):
        np.testing.assert_allclose(back, original)


def test_sequence_scaler_keeps_constant_features_finite_and_checks_features():
    scaler = SequenceScaler().fit(np.ones((2, 3, 1)))
    np.testing.assert_array_equal(scaler.transform(np.ones((1, 2, 1))), np.zeros((1, 2, 1)))
    with pytest.raises(InvalidInputError, match="X has 2 features, but SequenceScaler"):
        scaler.transform(np.ones((1, 2, 2)))


def test_sequence_scaler_works_in_a_pipeline_clone():
    scaler = clone(SequenceScaler(with_std=False))
    assert scaler.get_params() == {"with_mean": True, "with_std": False}
    out = scaler.fit_transform(np.arange(6.0).reshape(2, 3))
    np.testing.assert_allclose(out, np.arange(6.0).reshape(2, 3) - 2.5)


def test_vocabulary_orders_by_frequency_and_maps_unknown_tokens_to_the_oov_id():
    X = [["the", "cat", "sat"], ["the", "dog", "sat"], ["the"]]
    vocabulary = Vocabulary(min_frequency=2).fit(X)
    assert vocabulary.vocabulary_ == {"the": 2, "sat": 3}
    assert vocabulary.size_ == 4
    ids = vocabulary.transform([["the", "bird", "sat"]])
    np.testing.assert_array_equal(ids[0], [2, OOV_ID, 3])


def test_vocabulary_max_size_keeps_the_most_frequent():
    vocabulary = Vocabulary(max_size=1).fit([["a", "b", "b"]])
    assert vocabulary.vocabulary_ == {"b": 2}


def test_vocabulary_rejects_empty_sequences_and_non_strings():
    with pytest.raises(InvalidInputError, match="Sequence 1 has 0 steps"):
        Vocabulary().fit([["a"], []])
    with pytest.raises(InputTypeError, match=r"X\[0\] must hold only str tokens. Got 3"):
        Vocabulary().fit([["a", 3]])


def test_pad_ids_pads_with_the_padding_id():
    padded, lengths = pad_ids([np.array([5, 6]), np.array([7])])
    np.testing.assert_array_equal(padded, [[5, 6], [7, PAD_ID]])
    np.testing.assert_array_equal(lengths, [2, 1])


def test_sliding_windows_lists_every_run_of_rows():
    windows = sliding_windows(np.arange(10.0).reshape(5, 2), 3)
    assert windows.shape == (3, 3, 2)
    np.testing.assert_array_equal(windows[1], [[2, 3], [4, 5], [6, 7]])


# ----------------------------------------------------------------------- shared with exports


@pytest.mark.parametrize("rule", ["step", "spread"])
def test_window_affine_gives_the_same_numbers_on_arrays_and_inside_a_graph(rule):
    import tensorflow as tf

    from seqkit.preprocessing import STEP_FLOOR, seasonal_offset, window_affine

    rng = np.random.default_rng(0)
    windows = rng.normal(loc=50.0, scale=4.0, size=(6, 8, 2))
    windows[2] = 7.0  # flat
    windows[3, :5] = np.nan  # padded
    loc, scale = (np.asarray(part) for part in window_affine(windows, rule))
    np.testing.assert_array_equal(loc, windows[:, -1:])
    if rule == "step":
        want = np.nanmean(np.abs(np.diff(windows, axis=1)), axis=1, keepdims=True)
        want[2] = STEP_FLOOR * 7.0
    else:
        want = np.nanstd(windows, axis=1, keepdims=True)
        want[2] = 1.0
    np.testing.assert_allclose(scale, want, rtol=1e-12)
    graph_loc, graph_scale = tf.function(window_affine)(tf.constant(windows), rule)
    np.testing.assert_array_equal(graph_loc.numpy(), loc)
    np.testing.assert_allclose(graph_scale.numpy(), scale, rtol=1e-15)
    offset = np.asarray(seasonal_offset(windows, 4, 6))
    graph_offset = tf.function(seasonal_offset)(tf.constant(windows), 4, 6)
    np.testing.assert_array_equal(graph_offset.numpy(), offset)


def test_standardize_round_trips_on_arrays_and_tensors():
    import tensorflow as tf

    from seqkit.preprocessing import standardize, unstandardize

    values = np.array([[[1.0, 10.0], [3.0, np.nan]]])
    mean, scale = np.array([2.0, 4.0]), np.array([0.5, 2.0])
    scaled = standardize(values, mean, scale)
    np.testing.assert_array_equal(scaled, [[[-2.0, 3.0], [2.0, np.nan]]])
    np.testing.assert_array_equal(standardize(tf.constant(values), mean, scale).numpy(), scaled)
    np.testing.assert_allclose(unstandardize(scaled, mean, scale), values)


def test_token_lookup_in_tensorflow_equals_the_vocabulary_and_pads_with_the_padding_id():
    from seqkit.preprocessing import lookup_ids, pad_tokens, token_table

    tokens = [["a", "b", "a", "c"], ["b", "z"]]
    vocabulary = Vocabulary().fit(tokens)
    ids = np.asarray(lookup_ids(token_table(vocabulary.vocabulary_),
                                pad_tokens([["a", "z", "c"], ["b"]]).astype(str)))
    want = vocabulary.transform([["a", "z", "c"], ["b"]])
    np.testing.assert_array_equal(ids[0], want[0])
    np.testing.assert_array_equal(ids[1], [want[1][0], PAD_ID, PAD_ID])
    assert ids.dtype == np.int32


def test_an_array_padded_at_the_end_with_nan_steps_holds_sequences_of_their_own_lengths():
    x = np.ones((3, 4, 2))
    x[0, 2:] = np.nan
    x[1, 3:] = np.nan
    sequences = check_sequences(x)
    np.testing.assert_array_equal(sequences.lengths, [2, 3, 4])
    np.testing.assert_array_equal(check_sequences(x[:, :, 0]).lengths, [2, 3, 4])
    x[2, 1] = np.nan  # a whole step of padding before real steps
    with pytest.raises(InvalidInputError, match=r"padding .* before real steps in sequence 2 "
                                                r"at step 1\. Pad sequences at their end"):
        check_sequences(x)
    x[2] = np.nan
    with pytest.raises(InvalidInputError, match=r"empty sequences\. Sequence 2 has 0 steps"):
        check_sequences(x)
    x[2] = 1.0
    x[1, 1, 0] = np.nan  # one feature of a real step
    with pytest.raises(InvalidInputError, match=r"NaN or inf in sequence 1 at step 1\."):
        check_sequences(x)
