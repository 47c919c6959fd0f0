"""Fast tests of the tagging pipeline's own parts (nothing trains here)."""

import pytest

from pipelines.tagging import as_entities

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_as_entities_keeps_iob2_and_turns_runs_into_entities():
    assert as_entities([["B-PSN", "I-PSN", "O"]]) == [["B-PSN", "I-PSN", "O"]]
    assert as_entities([["Walking", "Walking", "Running"]]) == [
        ["B-Walking", "I-Walking", "B-Running"]
    ]
