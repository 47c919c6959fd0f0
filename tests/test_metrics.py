"""Tests of the forecasting and tagging metrics against hand-computed values."""

import numpy as np
import pytest
from seqeval.scheme import BILOU, IOB2

from seqkit.exceptions import InputTypeError, InvalidInputError, InvalidParameterError
from seqkit.metrics import (
    entity_f1,
    mean_absolute_scaled_error,
    symmetric_mean_absolute_percentage_error,
    token_accuracy,
)


def test_mase_divides_by_the_in_sample_naive_error():
    y_train = [1.0, 3.0, 2.0, 6.0]  # naive errors 2, 1, 4 -> mean 7/3
    value = mean_absolute_scaled_error([5.0, 5.0], [6.0, 3.0], y_train)
    assert value == pytest.approx(1.5 / (7 / 3))


def test_mase_with_a_season_compares_with_the_seasonal_naive_forecast():
    y_train = [1.0, 10.0, 2.0, 12.0, 4.0, 13.0]  # m=2 errors 1, 2, 2, 1 -> 1.5
    assert mean_absolute_scaled_error(
        [5.0], [8.0], y_train, season_length=2
    ) == pytest.approx(3.0 / 1.5)


def test_mase_seasonal_period_is_the_former_name_of_season_length():
    y_train = [1.0, 10.0, 2.0, 12.0, 4.0, 13.0]
    with pytest.warns(FutureWarning, match=r"'seasonal_period' parameter of "
                                           r"mean_absolute_scaled_error was renamed "
                                           r"'season_length'.* Use season_length=2") as caught:
        value = mean_absolute_scaled_error([5.0], [8.0], y_train, seasonal_period=2)
    assert value == pytest.approx(3.0 / 1.5)
    assert caught[0].filename == __file__  # the warning names the caller's line
    with pytest.raises(InvalidParameterError, match=r"set only 'season_length'\. Got "
                                                    r"season_length=3 and seasonal_period=2"):
        mean_absolute_scaled_error([5.0], [8.0], y_train, season_length=3, seasonal_period=2)
    with pytest.warns(FutureWarning), pytest.raises(InvalidParameterError,
                                                    match="'seasonal_period' parameter"):
        mean_absolute_scaled_error([5.0], [8.0], y_train, seasonal_period=0)


def test_mase_averages_targets_each_with_its_own_scale():
    y_train = np.array([[0.0, 0.0], [1.0, 10.0]])
    value = mean_absolute_scaled_error([[1.0, 1.0]], [[2.0, 11.0]], y_train)
    assert value == pytest.approx((1.0 / 1.0 + 10.0 / 10.0) / 2)


def test_mase_refuses_a_constant_training_series():
    with pytest.raises(InvalidInputError, match="MASE is undefined"):
        mean_absolute_scaled_error([1.0], [2.0], [3.0, 3.0, 3.0])


def test_smape_matches_the_m4_definition_and_counts_double_zeros_as_zero():
    value = symmetric_mean_absolute_percentage_error([100.0, 0.0], [110.0, 0.0])
    assert value == pytest.approx(200.0 * (10.0 / 210.0) / 2)


def test_smape_rejects_nan():
    with pytest.raises(InvalidInputError, match="y_pred contains NaN or inf"):
        symmetric_mean_absolute_percentage_error([1.0], [np.nan])


@pytest.mark.parametrize("call, match", [
    (lambda: symmetric_mean_absolute_percentage_error([], []),
     r"y_true must have at least one value\. Got shape \(0,\)"),
    (lambda: mean_absolute_scaled_error([], [], [1.0, 2.0, 3.0]),
     r"y_true must have at least one value"),
    (lambda: mean_absolute_scaled_error([[1, 2], [3]], [[1, 1], [3]], [[1, 2, 3], [1, 2]]),
     r"y_true must be numbers of shape \(steps,\) or \(steps, n_targets\), every row as long"),
])
def test_forecast_metrics_refuse_empty_and_ragged_input_by_name(call, match):
    with pytest.raises(InvalidInputError, match=match):
        call()


def test_token_accuracy_counts_steps_not_sequences():
    y_true = [["a", "b", "c"], ["a"]]
    y_pred = [["a", "x", "x"], ["a"]]
    assert token_accuracy(y_true, y_pred) == pytest.approx(2 / 4)


def test_token_accuracy_needs_sequences_of_matching_lengths():
    with pytest.raises(InvalidInputError, match=r"y_true\[0\] and y_pred\[0\] must have the same"):
        token_accuracy([["a", "b"]], [["a"]])


def test_entity_f1_scores_whole_entities():
    y_true = [["B-PER", "I-PER", "O", "B-LOC"]]
    y_pred = [["B-PER", "O", "O", "B-LOC"]]  # the person is cut short: 1 of 2 entities right
    assert entity_f1(y_true, y_pred) == pytest.approx(0.5)
    assert entity_f1(y_true, y_true, scheme=IOB2, mode="strict") == pytest.approx(1.0)


def test_entity_f1_refuses_labels_that_are_not_iob_tags():
    """seqeval only warns on them and scores 'Walking' / 'Running' as whatever their first
    letter spells (here 1.0 for all-wrong labels)."""
    with pytest.raises(InvalidInputError,
                       match=r"entity_f1 takes IOB tags in y_pred: 'O', or B, I, E or S, alone "
                             r"or with a type \('B-PER'\)\. Got 'Running' at "
                             r"y_pred\[0\]\[1\]\. Score plain labels with token_accuracy"):
        entity_f1([["O", "B-PER"]], [["O", "Running"]])
    with pytest.raises(InvalidInputError, match=r"in y_true.* Got '1' at y_true\[1\]\[0\]"):
        entity_f1([["O"], [1]], [["O"], ["O"]])
    with pytest.raises(InvalidInputError, match=r"Got 'U-PER'"):  # not in the lenient reading
        entity_f1([["S-PER", "O"]], [["U-PER", "O"]])
    assert entity_f1([["S-PER", "O"]], [["S-PER", "O"]]) == pytest.approx(1.0)
    assert entity_f1([["B", "I", "O"]], [["B", "I", "O"]]) == pytest.approx(1.0)  # untyped
    bilou = [["U-PER", "O", "B-LOC", "L-LOC"]]  # a scheme: seqeval checks the tags itself
    assert entity_f1(bilou, bilou, scheme=BILOU, mode="strict") == pytest.approx(1.0)


TAG_METRICS = [entity_f1, token_accuracy]


@pytest.mark.parametrize("metric", TAG_METRICS, ids=lambda m: m.__name__)
def test_tag_metrics_refuse_no_sequences_by_saying_what_they_take(metric):
    for empty in ([], ()):
        with pytest.raises(InvalidInputError,
                           match=rf"{metric.__name__} takes y_true as a list of label sequences, "
                                 r"one list of labels per sequence, e\.g\. \[\['B-PER', 'I-PER', "
                                 r"'O'\]\], and at least one sequence\. Got 0 sequences\."):
            metric(empty, empty)
    with pytest.raises(InvalidInputError, match=r"takes y_pred .* Got 0 sequences"):
        metric([["O"]], [])


@pytest.mark.parametrize("metric", TAG_METRICS, ids=lambda m: m.__name__)
def test_tag_metrics_refuse_one_flat_sequence_of_tags(metric):
    """A list of tags is not a list of sequences: its tags are not read as sequences of
    characters."""
    with pytest.raises(InputTypeError, match=r"y_true as a list of label sequences.* Got "
                                             r"'B-PER' at y_true\[0\]: wrap one sequence in a "
                                             r"list, \[y_true\]\."):
        metric(["B-PER", "O"], ["B-PER", "O"])
    with pytest.raises(InputTypeError, match=r"Got NoneType\."):
        metric(None, [["O"]])


def test_token_accuracy_of_empty_sequences_only_is_refused_and_entity_f1_is_0():
    with pytest.raises(InvalidInputError, match=r"token_accuracy needs at least one label\. "
                                                r"Got only empty sequences\."):
        token_accuracy([[]], [[]])
    assert entity_f1([[]], [[]]) == 0.0  # no entity on either side, as documented
