"""Fast tests of the pipelines' report (nothing trains here); bad input is in
``tests/test_bad_input.py``."""

import pytest

from pipelines._report import Report, format_table

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_format_table_aligns_columns():
    table = format_table(["model", "mase"], [["seqkit", 0.5], ["seasonal_naive", 1.25]])
    assert table.splitlines() == [
        "model             mase",
        "--------------  ------",
        "seqkit          0.5000",
        "seasonal_naive  1.2500",
    ]


def test_report_best_baseline_follows_the_metric_direction():
    metrics = {"seqkit": {"mase": 0.7}, "naive": {"mase": 0.9}, "ets": {"mase": 1.2}}
    assert Report("forecasting", "x", metrics, "mase", False).best_baseline() == ("naive", 0.9)
    metrics = {"seqkit": {"f1": 0.5}, "crf": {"f1": 0.6}, "mft": {"f1": 0.4}}
    assert Report("tagging", "x", metrics, "f1", True).best_baseline() == ("crf", 0.6)
