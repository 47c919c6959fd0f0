"""Tests of the bundled data sets and their loaders."""

import hashlib
import re
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from seqkit import datasets
from seqkit.exceptions import InvalidParameterError
from tests.helpers.datasets import DATA_DIR, copy_data_files


def _is_iob2(tags):
    previous = "O"
    for tag in tags:
        if not re.fullmatch(r"O|[BI]-[A-Z]+", tag):
            return False
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            return False
        previous = tag
    return True


def test_list_datasets_by_task():
    assert datasets.list_datasets("forecasting") == ["airline", "co2", "sunspots"]
    assert datasets.list_datasets("classification") == ["basic_motions", "japanese_vowels"]
    assert datasets.list_datasets("tagging") == ["basic_motions_segmentation", "japanese_ner"]
    assert len(datasets.list_datasets()) == 7


def test_list_datasets_rejects_unknown_task():
    with pytest.raises(InvalidParameterError, match="The 'task' parameter of list_datasets"):
        datasets.list_datasets("regression")


@pytest.mark.parametrize("name", datasets.list_datasets())
def test_registered_checksums_match_the_shipped_files(name):
    info = datasets.dataset_info(name)
    assert set(info) == {"name", "task", "files", "sha256", "licence", "source", "description"}
    for file_name in info["files"]:
        actual = hashlib.sha256((DATA_DIR / file_name).read_bytes()).hexdigest()
        assert actual == info["sha256"][file_name]
    assert datasets.verify(name) == [DATA_DIR / f for f in info["files"]]


def test_data_files_are_documented_and_small():
    readme = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    for name in datasets.list_datasets():
        for file_name, digest in datasets.dataset_info(name)["sha256"].items():
            assert file_name in readme
            assert digest in readme
            assert (DATA_DIR / file_name).stat().st_size < 2_000_000


@pytest.mark.parametrize(
    ("name", "freq", "length", "first", "last"),
    [
        ("sunspots", "YS-JAN", 309, "1700-01-01", "2008-01-01"),
        ("co2", "W-SAT", 2284, "1958-03-29", "2001-12-29"),
        ("airline", "MS", 144, "1949-01-01", "1960-12-01"),
    ],
)
def test_load_series_index(name, freq, length, first, last):
    series = datasets.load_series(name)
    assert isinstance(series.index, pd.DatetimeIndex)
    assert series.index.freqstr == freq
    assert len(series) == length
    assert series.index[0] == pd.Timestamp(first)
    assert series.index[-1] == pd.Timestamp(last)
    assert series.name == name
    assert not series.isna().any()


def test_load_series_values():
    airline = datasets.load_series("airline")
    assert airline.iloc[0] == 112 and airline.iloc[-1] == 432
    sunspots = datasets.load_series("sunspots")
    assert sunspots[pd.Timestamp("1700-01-01")] == 5


def test_co2_missing_weeks_kept_or_interpolated():
    raw = datasets.load_series("co2", fill_missing=None)
    filled = datasets.load_series("co2")
    missing = raw.isna()
    assert missing.sum() == 59
    assert not missing.iloc[0] and not missing.iloc[-1]
    pd.testing.assert_series_equal(filled[~missing], raw[~missing])
    # A single missing week between two known weeks gets their mean.
    single = missing & ~missing.shift(1, fill_value=True) & ~missing.shift(-1, fill_value=True)
    week = single[single].index[0]
    before, after = raw.shift(1)[week], raw.shift(-1)[week]
    assert filled[week] == pytest.approx((before + after) / 2)


def test_load_series_rejects_unknown_fill_missing():
    with pytest.raises(InvalidParameterError, match="'fill_missing' parameter of load_series"):
        datasets.load_series("co2", fill_missing="zero")


def test_load_japanese_vowels():
    X_train, y_train, X_test, y_test = datasets.load_classification("japanese_vowels")
    assert (len(X_train), len(y_train), len(X_test), len(y_test)) == (270, 270, 370, 370)
    assert all(x.dtype == np.float32 and x.ndim == 2 and x.shape[1] == 12 for x in X_train + X_test)
    lengths = [len(x) for x in X_train + X_test]
    assert (min(lengths), max(lengths)) == (7, 29)
    assert sorted(set(y_train)) == [str(i) for i in range(1, 10)]
    assert Counter(y_train) == {str(i): 30 for i in range(1, 10)}
    assert [Counter(y_test)[str(i)] for i in range(1, 10)] == [31, 35, 88, 44, 29, 24, 40, 50, 29]


def test_load_basic_motions():
    X_train, y_train, X_test, y_test = datasets.load_classification("basic_motions")
    assert len(X_train) == len(X_test) == 40
    assert {x.shape for x in X_train + X_test} == {(100, 6)}
    assert all(x.dtype == np.float32 for x in X_train)
    classes = {"Badminton": 10, "Running": 10, "Standing": 10, "Walking": 10}
    assert Counter(y_train) == Counter(y_test) == classes
    assert y_train.dtype.kind == "U"


def test_load_japanese_ner():
    X_train, y_train, X_test, y_test = datasets.load_tagging("japanese_ner")
    assert (len(X_train), len(X_test)) == (450, 50)
    assert len(y_train) == 450 and len(y_test) == 50
    for tokens, tags in zip(X_train + X_test, y_train + y_test, strict=True):
        assert len(tokens) == len(tags) > 0
        assert all(isinstance(token, str) and token for token in tokens)
        assert _is_iob2(tags)
    types = {tag[2:] for tags in y_train + y_test for tag in tags if tag != "O"}
    assert types == {"ART", "DAT", "LOC", "MON", "ORG", "PER", "PSN", "TIM"}
    assert X_train[0][:4] == ["2005", "年", "7", "月"]


def test_japanese_ner_repairs_only_stray_inside_tags():
    lines = (DATA_DIR / "hironsan_iob_sents.txt").read_text(encoding="utf-8").split("\n")
    raw_tags = [line.split("\t")[-1] for line in lines if line]
    _, y_train, _, y_test = datasets.load_tagging("japanese_ner")
    loaded = [tag for tags in y_train + y_test for tag in tags]
    changed = [(a, b) for a, b in zip(raw_tags, loaded, strict=True) if a != b]
    assert changed == [("I-ART", "B-ART"), ("I-ART", "B-ART")]


def test_load_basic_motions_segmentation():
    X_train, y_train, X_test, y_test = datasets.load_tagging("basic_motions_segmentation")
    assert len(X_train) == len(y_train) == len(X_test) == len(y_test) == 10
    _, y_cls_train, _, _ = datasets.load_classification("basic_motions")
    activities = sorted(set(y_cls_train))
    transitions = Counter()
    for x, labels in zip(X_train + X_test, y_train + y_test, strict=True):
        assert x.shape == (400, 6) and x.dtype == np.float32
        assert labels.shape == (400,)
        blocks = labels.reshape(4, 100)
        assert (blocks == blocks[:, :1]).all()
        assert sorted(blocks[:, 0]) == activities
        transitions.update(zip(blocks[:-1, 0], blocks[1:, 0], strict=True))
    assert len(transitions) == 12  # every ordered pair of activities is adjacent somewhere


def test_segmentation_steps_come_from_the_recordings():
    X_cls, y_cls, _, _ = datasets.load_classification("basic_motions")
    X_seg, y_seg, _, _ = datasets.load_tagging("basic_motions_segmentation")
    first_badminton = X_cls[list(y_cls).index("Badminton")]
    np.testing.assert_array_equal(X_seg[0][:100], first_badminton)
    assert y_seg[0][0] == "Badminton"


@pytest.mark.parametrize(
    ("loader", "allowed"),
    [
        (datasets.load_series, "'airline', 'co2', 'sunspots'"),
        (datasets.load_classification, "'basic_motions', 'japanese_vowels'"),
        (datasets.load_tagging, "'basic_motions_segmentation', 'japanese_ner'"),
    ],
)
def test_unknown_name_raises(loader, allowed):
    message = (
        f"The 'name' parameter of {loader.__name__} must be one of {allowed}. Got 'foo' instead."
    )
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        loader("foo")


def test_dataset_of_another_task_is_rejected():
    with pytest.raises(InvalidParameterError, match="Got 'co2' instead"):
        datasets.load_classification("co2")


def test_data_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQKIT_DATA_DIR", str(copy_data_files("airline", tmp_path)))
    assert datasets.verify("airline") == [tmp_path / "airline.csv"]


