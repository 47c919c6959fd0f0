"""The accuracy suite's readers on the real installed data (``make bench-data``)."""

import accuracy_data
import numpy as np
import pandas as pd
import pytest

from seqkit.exceptions import InvalidParameterError

# The archive's published facts: train size, test size, length (None: variable), classes.
UCR_FACTS = {
    "Coffee": (28, 28, 286, 2),
    "ECG200": (100, 100, 96, 2),
    "CBF": (30, 900, 128, 3),
    "BeetleFly": (20, 20, 512, 2),
    "FaceFour": (24, 88, 350, 4),
    "Chinatown": (20, 343, 24, 2),
    "Car": (60, 60, 577, 4),
    "DiatomSizeReduction": (16, 306, 345, 4),
    "DistalPhalanxOutlineAgeGroup": (400, 139, 80, 3),
    "Beef": (30, 30, 470, 5),
    "AllGestureWiimoteX": (300, 700, None, 10),
    "GesturePebbleZ1": (132, 172, None, 6),
}


# ---------------------------------------------------------------------------- classification


@pytest.mark.parametrize("name", accuracy_data.UCR_SETS)
def test_ucr_sets_have_the_archives_sizes_lengths_and_classes(name):
    n_train, n_test, length, n_classes = UCR_FACTS[name]
    X_train, y_train, X_test, y_test = accuracy_data.load_ucr(name)
    assert (len(X_train), len(y_train), len(X_test), len(y_test)) == (
        n_train, n_train, n_test, n_test)
    assert all(x.ndim == 1 and x.dtype == np.float64 for x in X_train + X_test)
    assert not np.isnan(np.concatenate(X_train + X_test)).any()
    lengths = {len(x) for x in X_train + X_test}
    if length is None:
        assert len(lengths) > 10
    else:
        assert lengths == {length}
    assert len(np.unique(np.concatenate([y_train, y_test]))) == n_classes


def test_ragged_ucr_sequences_end_at_their_last_value():
    X_train, y_train, _, _ = accuracy_data.load_ucr("GesturePebbleZ1")
    rows = np.loadtxt(accuracy_data._ucr_folder() / "GesturePebbleZ1_TRAIN.tsv", delimiter="\t")
    first = rows[0, 1:]
    np.testing.assert_array_equal(X_train[0], first[~np.isnan(first)])
    assert y_train[0] == f"{rows[0, 0]:g}"
    assert min(map(len, X_train)) == 115 and max(map(len, X_train)) == 455


def test_ucr_labels_are_the_files_labels_as_text():
    _, y_train, _, _ = accuracy_data.load_ucr("ECG200")
    assert set(y_train) == {"-1", "1"}


def test_an_unknown_ucr_set_is_refused():
    with pytest.raises(InvalidParameterError, match="'name' parameter of load_ucr .* Got 'Cofee'"):
        accuracy_data.load_ucr("Cofee")


def test_a_missing_data_package_says_to_run_make_bench_data():
    with pytest.raises(ModuleNotFoundError, match="make bench-data"):
        accuracy_data._module("seqkit_no_such_data_package")


def test_bundled_classification_sets_are_seqkits():
    X_train, y_train, X_test, y_test = accuracy_data.load_bundled_classification("basic_motions")
    assert (len(X_train), len(X_test)) == (40, 40) and X_train[0].shape == (100, 6)


# ---------------------------------------------------------------------------- forecasting


def _check_long_table(panel):
    data = panel.data
    assert list(data.columns) == ["unique_id", "ds", "y"]
    assert data.equals(data.sort_values(["unique_id", "ds"], ignore_index=True))
    assert not data["y"].isna().any()
    for _, series in data.groupby("unique_id"):
        expected = pd.date_range(series["ds"].iloc[0], periods=len(series), freq=panel.freq)
        np.testing.assert_array_equal(series["ds"].to_numpy(), expected.to_numpy())


@pytest.mark.parametrize(
    ("name", "n_series", "lengths", "facts", "first", "last"),
    [
        ("visnights", 20, (76, 76), ("QS", 4, 8), "1998-01-01", "2016-10-01"),
        ("us_employment", 148, (225, 969), ("MS", 12, 18), "1939-01-01", "2019-09-01"),
    ],
)
def test_panels_are_sorted_long_tables_without_gaps(name, n_series, lengths, facts, first, last):
    panel = accuracy_data.load_panel(name)
    _check_long_table(panel)
    sizes = panel.data.groupby("unique_id").size()
    assert len(sizes) == n_series and (sizes.min(), sizes.max()) == lengths
    assert (panel.freq, panel.season_length, panel.horizon) == facts
    assert panel.data["ds"].min() == pd.Timestamp(first)
    assert panel.data["ds"].max() == pd.Timestamp(last)


@pytest.mark.parametrize(("name", "season_length", "horizon"),
                         [("visnights", 4, 4), ("us_employment", 1, 6)])
def test_short_cuts_keep_the_last_12_to_20_points_of_each_series(name, season_length, horizon):
    whole = accuracy_data.load_panel(name).data
    panel = accuracy_data.load_panel(name, short=True)
    _check_long_table(panel)
    sizes = panel.data.groupby("unique_id").size()
    assert sizes.between(12, 20).all() and sizes.nunique() > 3
    assert (panel.season_length, panel.horizon) == (season_length, horizon)
    tails = whole.groupby("unique_id", group_keys=False).apply(
        lambda s: s.tail(sizes[s.name]), include_groups=False)
    np.testing.assert_array_equal(panel.data["y"], tails["y"])
    again = accuracy_data.load_panel(name, short=True)
    assert again.data.equals(panel.data)
    assert not accuracy_data.load_panel(name, short=True, seed=1).data.equals(panel.data)


def test_split_panel_holds_out_the_last_horizon_points_of_each_series():
    panel = accuracy_data.load_panel("visnights")
    train, test = accuracy_data.split_panel(panel.data, panel.horizon)
    assert (test.groupby("unique_id").size() == 8).all()
    assert (train.groupby("unique_id").size() == 68).all()
    assert test["ds"].min() == pd.Timestamp("2015-01-01")
    assert train["ds"].max() == pd.Timestamp("2014-10-01")
    rejoined = pd.concat([train, test]).sort_values(["unique_id", "ds"], ignore_index=True)
    assert rejoined.equals(panel.data)


def test_split_panel_refuses_a_horizon_as_long_as_a_series():
    panel = accuracy_data.load_panel("visnights", short=True)
    with pytest.raises(InvalidParameterError, match="'horizon' parameter of split_panel"):
        accuracy_data.split_panel(panel.data, 12)


# ---------------------------------------------------------------------------- tagging


@pytest.fixture(scope="module")
def pos():
    return accuracy_data.load_pos()


def test_pos_corpus_has_20000_sentences_split_80_20(pos):
    X_train, y_train, X_test, y_test = pos
    assert (len(X_train), len(X_test)) == (16_000, 4_000)
    assert [len(s) for s in X_train + X_test] == [len(t) for t in y_train + y_test]
    assert sum(len(s) for s in X_train + X_test) == 360_524
    tags = {tag for tags in y_train + y_test for tag in tags}
    assert {"NN", "VBZ", "PRP$", "."} <= tags and not any("/" in tag for tag in tags)


def test_pos_reads_the_files_first_sentence_and_slashes_in_words(pos):
    X_train, y_train, X_test, y_test = pos
    tagged = dict(zip(map(tuple, X_train + X_test), y_train + y_test))
    first = ("Has", "the", "Internet", "abandoned", "its", "role", "as", "the", "leading",
             "incubator", "of", "political", "rumor", "?")
    assert tagged[first] == ["VBZ", "DT", "NN", "VBD", "PRP$", "NN", "IN", "DT", "VBG", "NN",
                             "IN", "JJ", "NN", "."]
    # Line 192 writes "Honda/NNP &slash;/NN Ford/NNP": a word "/" tagged NN.
    honda = next(s for s in tagged if "Honda" in s and "Ford" in s and "/" in s)
    assert tagged[honda][honda.index("/")] == "NN"


def test_pos_limit_takes_a_part_of_the_same_split(pos):
    X_train, _, X_test, _ = accuracy_data.load_pos(limit=100)
    assert (len(X_train), len(X_test)) == (80, 20)
    assert X_train == pos[0][:80] and X_test == pos[2][:20]


def test_japanese_ner_is_the_bundled_split():
    X_train, y_train, X_test, y_test = accuracy_data.load_japanese_ner()
    assert (len(X_train), len(X_test)) == (450, 50)
    assert all(tag == "O" or tag[:2] in ("B-", "I-") for tags in y_train for tag in tags)


def test_watch_groups_put_each_recording_in_one_sequence_and_no_subject_in_both():
    subjects = np.asarray(accuracy_data._watch()["subject"])
    train, test = accuracy_data.watch_groups(subjects)
    train_ids, test_ids = np.concatenate(train), np.concatenate(test)
    assert sorted(np.concatenate([train_ids, test_ids])) == list(range(140))
    assert not set(subjects[train_ids]) & set(subjects[test_ids])
    assert len(set(subjects[test_ids])) == 3
    assert {len(group) for group in train + test} <= {3, 4}


def test_watch_segmentation_joins_downsampled_recordings_with_per_step_labels():
    X_train, y_train, X_test, y_test = accuracy_data.load_watch_segmentation()
    assert (len(X_train), len(X_test)) == (25, 11)
    assert all(x.ndim == 2 and x.shape[1] == 6 for x in X_train + X_test)
    assert [len(x) for x in X_train + X_test] == [len(y) for y in y_train + y_test]
    assert 250 <= min(map(len, X_train + X_test)) and max(map(len, X_train + X_test)) <= 1050
    exercises = {"PEN", "ABD", "FEL", "IR", "ER", "TRAP", "ROW"}
    assert set(np.concatenate(y_train)) == exercises == set(np.concatenate(y_test))
    # 50 Hz averaged over blocks of 10: each recording keeps a tenth of its steps.
    total = sum(len(x) // 10 for x in accuracy_data._watch()["X"])
    assert sum(map(len, X_train + X_test)) == total
