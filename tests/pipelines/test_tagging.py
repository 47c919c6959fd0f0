"""Fast tests of the tagging pipeline's own parts (nothing trains here)."""

import pytest

from pipelines.tagging import as_entities, plain_labels

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_as_entities_keeps_iob2_and_turns_runs_into_entities():
    assert not plain_labels([["B-PSN", "I-PSN", "O"]])
    assert as_entities([["B-PSN", "I-PSN", "O"]], False) == [["B-PSN", "I-PSN", "O"]]
    assert plain_labels([["Walking", "Walking", "Running"]])
    assert as_entities([["Walking", "Walking", "Running"]], True) == [
        ["B-Walking", "I-Walking", "B-Running"]
    ]


def test_plain_labels_that_look_like_tags_are_runs_too():
    """Activities 'O' and 'Walking': a prediction of only 'O' is read as runs, as the test
    labels are, not as IOB2's outside tag."""
    assert plain_labels([["O", "Walking"]]) and plain_labels([[0, 1]])
    assert as_entities([["O", "O"]], True) == [["B-O", "I-O"]]
