"""read_series, iter_series, SeriesData: one test per rule, the happy paths, chunking."""

import numpy as np
import pandas as pd
import pytest

from seqkit.exceptions import InvalidParameterError
from seqkit.io import SeriesData, iter_series, read_series, season_length_for

TWO = ("unique_id,ds,y,price\n"
       "a,2020-01-01,1,10\na,2020-01-02,2,11\na,2020-01-03,3,12\n"
       "b,2020-01-01,4,20\nb,2020-01-02,5,21\nb,2020-01-03,6,22\n")


def test_many_series_with_covariates(write):
    data = read_series(write("s.csv", TWO), covariates=["price"])
    assert isinstance(data, SeriesData)
    assert data.ids == ["a", "b"] and data.freq == "D" and data.season_length == 7
    assert data.filled == 0 and data.info.n_items == 2 and data.info.n_rows == 6
    y = data.y[1]
    assert y.name == "b" and y.dtype == np.float64 and y.tolist() == [4.0, 5.0, 6.0]
    assert isinstance(y.index, pd.DatetimeIndex) and y.index.freqstr == "D"
    assert data.X[0]["price"].tolist() == [10.0, 11.0, 12.0]
    assert data.X[0].index.equals(data.y[0].index)
    assert list(data.frame.columns) == ["unique_id", "ds", "y", "price"]
    assert data.frame["y"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]


def test_one_series_without_an_id_column_takes_the_target_name(write):
    data = read_series(write("s.csv", "month,sales\n2020-01,1\n2020-02,2\n2020-03,3\n"),
                       time_column="month", target="sales")
    assert data.ids == ["sales"] and data.freq == "MS" and data.season_length == 12
    assert data.X is None and data.frame["unique_id"].tolist() == ["sales"] * 3


def test_integer_times(write):
    data = read_series(write("s.csv", "ds,y\n0,1\n2,2\n4,3\n"))
    assert data.freq is None and data.season_length == 1
    assert data.y[0].index.tolist() == [0, 2, 4]


def test_offsets_that_change_at_daylight_saving_are_read_as_utc_instants(write):
    # Berlin, 30-31 March 2024: 02:00 local does not exist; the offset goes +01:00 -> +02:00.
    local = pd.date_range("2024-03-30 22:00", periods=6, freq="h", tz="Europe/Berlin")
    text = "ds,y\n" + "".join(f"{t.isoformat()},{i}\n" for i, t in enumerate(local))
    assert "01:00:00+01:00" in text and "03:00:00+02:00" in text
    data = read_series(write("s.csv", text))
    assert data.freq == "h"
    assert data.y[0].index.equals(local.tz_convert("UTC"))
    assert data.y[0].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


def test_times_with_and_without_an_offset_are_refused_naming_the_first_that_differs(
        write, refused):
    write("s.csv", "ds,y\n2024-03-31T00:00+01:00,1\n2024-03-31T01:00+01:00,2\n"
                   "2024-03-31T02:00,3\n")
    refused(lambda: read_series("s.csv"),
            "s.csv, line 4, column 'ds': times must all carry a UTC offset, or none do: "
            "'2024-03-31T00:00+01:00' (line 2) carries one and '2024-03-31T02:00' does not.")


def test_parquet_rows_are_named_as_rows(write, refused, tmp_path):
    frame = pd.DataFrame({"unique_id": ["a"] * 3, "ds": pd.date_range("2021", periods=3,
                                                                    freq="h"),
                          "y": [1.0, np.nan, 3.0]})
    frame.to_parquet(tmp_path / "s.parquet")
    refused(lambda: read_series("s.parquet"),
            "s.parquet, row 2, column 'y': missing value (empty or NaN); pass fill= (--fill on "
            "the command line) to fill it.")
    data = read_series("s.parquet", fill="interpolate")
    assert data.y[0].tolist() == [1.0, 2.0, 3.0] and data.freq == "h" and data.filled == 1
    assert data.info.format == "parquet" and data.info.schema["y"] == "double"


@pytest.mark.parametrize(
    ("fill", "expected"),
    [("interpolate", [1.0, 2.0, 3.0, 4.0, 5.0]), ("ffill", [1.0, 1.0, 3.0, 3.0, 5.0]),
     ("zero", [1.0, 0.0, 3.0, 0.0, 5.0])],
)
def test_fill_inserts_missing_steps_and_values(write, fill, expected):
    name = write("s.csv", "ds,y\n2020-01-01,1\n2020-01-02,\n2020-01-03,3\n2020-01-05,5\n")
    data = read_series(name, fill=fill)
    assert data.y[0].tolist() == expected and data.filled == 2
    assert data.y[0].index.freqstr == "D" and len(data.frame) == 5


@pytest.mark.parametrize("gappy_first", [True, False], ids=["gappy-first", "gappy-second"])
def test_fill_takes_daily_series_with_and_without_gaps(write, gappy_first):
    """A daily series with a gap is inferred as "D", as one without: the two agree."""
    gappy = "a,2020-01-01,1\na,2020-01-02,2\na,2020-01-04,4\na,2020-01-05,5\n"
    whole = "b,2020-01-01,1\nb,2020-01-02,2\nb,2020-01-03,3\nb,2020-01-04,4\n"
    rows = gappy + whole if gappy_first else whole + gappy
    data = read_series(write("s.csv", "unique_id,ds,y\n" + rows), fill="interpolate")
    assert data.freq == "D" and data.filled == 1
    assert data.y[data.ids.index("a")].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_fill_cannot_fill_a_first_value(write, refused):
    name = write("s.csv", "ds,y\n2020-01-01,\n2020-01-02,2\n2020-01-03,3\n")
    refused(lambda: read_series(name, fill="ffill"),
            "s.csv, line 2, column 'y': series 'y' starts with a missing value: fill='ffill' has "
            "no value before it.")


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        (TWO.replace("price", "cost"), {"covariates": ["price"]},
         "s.csv, line 1 (the header), column 'price' is missing"),
        (TWO, {"id_column": "store"}, None),
        ("ds,y\n2020-01-01,1\n2020-01-02,abc\n", {},
         "s.csv, line 3, column 'y': values must be numbers; got 'abc'."),
        ("t,value\n2020-01-01,1\n", {},  # the columns named are the file's own
         "s.csv, line 1 (the header): missing columns 'ds', 'y'; the columns are 't', 'value'."),
        (TWO.replace("a,2020-01-02,2,11", "a,2020-01-02,2,x"), {"covariates": ["price"]},
         "s.csv, line 3, column 'price': values must be numbers; got 'x'."),
        ("ds,y\n2020-01-01,1\n2020-01-02,inf\n", {},
         "s.csv, line 3, column 'y': values must be finite numbers; got 'inf'."),
        ("ds,y\n2020-01-01,1\n2020-01-02,NaN\n2020-01-03,3\n", {},
         "s.csv, line 3, column 'y': missing value (empty or NaN); pass fill= (--fill on the "
         "command line) to fill it."),
        ("ds,y\n2020-01-01,1\n2020-01-01,2\n2020-01-02,3\n", {},
         "s.csv, line 3, column 'ds': duplicate time 2020-01-01 00:00:00 in series 'y' (the "
         "whole file, read as one series: it has no 'unique_id' column): line 2 has it too."),
        ("ds,y\n2020-01-02,1\n2020-01-01,2\n2020-01-03,3\n", {},
         "s.csv, line 3, column 'ds': times must increase within series 'y' (the whole file, "
         "read as one series: it has no 'unique_id' column); 2020-01-01 00:00:00 comes after "
         "2020-01-02 00:00:00 (line 2); sort the rows by id and time."),
        ("unique_id,ds,y\na,2020-01-02,1\na,2020-01-01,2\n", {},  # an id column: no note
         "s.csv, line 3, column 'ds': times must increase within series 'a'; 2020-01-01 "
         "00:00:00 comes after 2020-01-02 00:00:00 (line 2); sort the rows by id and time."),
        ("unique_id,ds,y\na,1,1\nb,1,1\na,2,2\n", {},
         "s.csv, line 4: the rows of one series must be contiguous; series 'a' continues here "
         "after rows of other series (its rows before end at line 2); sort the rows by id."),
        ("ds,y\n2020-01-01,1\n2020-01-02,2\n2020-01-03,3\n2020-01-04 12:00,4\n", {},
         "s.csv, line 2, column 'ds': series 'y' (4 steps) has no regular frequency (irregular "
         "steps, or a single step); give the frequency, a pandas offset alias such as 'D' or "
         "'MS' (freq= in Python, --freq on the command line)."),
        ("ds,y\n2020-01-01,1\n", {},
         "s.csv, line 2, column 'ds': series 'y' (1 step) has no regular frequency (irregular "
         "steps, or a single step); give the frequency, a pandas offset alias such as 'D' or "
         "'MS' (freq= in Python, --freq on the command line)."),
        ("ds,y\n2020-01-01,1\n2020-01-02,2\n2020-01-03,3\n2020-01-04 12:00,4\n", {"freq": "D"},
         "s.csv, line 5, column 'ds': 2020-01-04 12:00:00 is not a step of the regular 'D' "
         "grid of series 'y' (irregular steps)."),
        ("ds,y\n2020-01-04,1\n2020-01-05,2\n2020-01-06,3\n2020-01-09,4\n", {},
         "s.csv, line 5, column 'ds': series 'y' misses 2 steps of its regular grid, the first "
         "2020-01-07 00:00:00 (after line 4); pass fill= (--fill on the command line) to "
         "insert them."),
        ("unique_id,ds,y\na,2020-01-01,1\na,2020-01-02,2\na,2020-01-03,3\n"
         "b,2020-01-01,1\nb,2020-02-01,2\nb,2020-03-01,3\n", {},
         "s.csv, line 5, column 'ds': series frequencies differ: series 'b' is 'MS', series "
         "'a' is 'D'."),
        ("ds,y\n2020-01-01,1\n2020-01-02,2\n", {"freq": "MS"},
         "s.csv, line 3, column 'ds': 2020-01-02 00:00:00 is not a step of the regular 'MS' "
         "grid of series 'y' (irregular steps)."),
        ("ds,y\n0,1\n1,2\n", {"freq": "D"},
         "s.csv, line 2, column 'ds': times are integers (0), so the frequency 'D' does not "
         "apply; leave it out (freq=None in Python, no --freq on the command line)."),
        ("ds,y\n0,1\n2,2\n5,3\n", {},
         "s.csv, line 4, column 'ds': 5 is not a step of the regular grid of series 'y' (start "
         "0, step 2; irregular steps)."),
        ("ds,y\n2020-01-01,1\nyesterday,2\n", {},
         "s.csv, line 3, column 'ds': values must be datetimes or numbers; got 'yesterday'."),
        ("ds,y\n0.5,1\n1.5,2\n", {},
         "s.csv, line 2, column 'ds': times must be datetimes or integers; got np.float64(0.5)."),
        ("ds,y\n2020-01-01,1\n,2\n", {}, "s.csv, line 3, column 'ds': a time is missing (empty)."),
        ("ds,y\n2020-01-01,1\n2020-01-02,2,3\n", {},
         "s.csv, line 3: expected 2 fields as in the header; got 3."),
    ],
)
def test_rules(write, refused, content, options, message):
    name = write("s.csv", content)
    if message is None:  # a non-default id column that is missing
        message = ("s.csv, line 1 (the header): missing column 'store'; the columns are "
                   "'unique_id', 'ds', 'y', 'price'.")
    elif message.endswith("is missing"):
        message = ("s.csv, line 1 (the header): missing column 'price'; the columns are "
                   "'unique_id', 'ds', 'y', 'cost'.")
    refused(lambda: read_series(name, **options), message)


def test_parameters_are_checked(write):
    name = write("s.csv", TWO)
    with pytest.raises(InvalidParameterError, match="'fill' parameter of read_series"):
        read_series(name, fill="mean")
    with pytest.raises(InvalidParameterError, match="'freq' parameter of read_series"):
        read_series(name, freq="fortnightly")
    with pytest.raises(InvalidParameterError, match="'covariates' parameter of read_series"):
        read_series(name, covariates=["y"])


@pytest.mark.parametrize(
    ("freq", "season"),
    [("YS", 1), ("QE", 4), ("MS", 12), ("ME", 12), ("W-SAT", 52), ("D", 7), ("B", 5),
     ("h", 24), ("min", 60), ("s", 1), ("2D", 1), (None, 1)],
)
def test_season_length_for(freq, season):
    assert season_length_for(freq) == season


def test_season_length_given(write):
    assert read_series(write("s.csv", TWO), season_length=3).season_length == 3


def test_split_and_check_length(write, refused):
    data = read_series(write("s.csv", TWO), covariates=["price"])
    train, test = data.split(1)
    assert [len(y) for y in train.y] == [2, 2] and [len(y) for y in test.y] == [1, 1]
    assert test.y[0].index[0] == pd.Timestamp("2020-01-03") and test.X[1]["price"].tolist() == [22]
    assert train.frame["y"].tolist() == [1.0, 2.0, 4.0, 5.0]
    refused(lambda: data.split(3),
            "s.csv: series 'a' has 3 steps; split(horizon=3) (3 to test, 1 to train) needs at "
            "least 4.")
    refused(lambda: data.check_length(5, "lookback 3 + horizon 2"),
            "s.csv: series 'a' has 3 steps; lookback 3 + horizon 2 needs at least 5.")


def test_chunks_give_the_same_series_as_a_whole_read(write):
    rows = [f"{s},{d.date()},{i}" for s in "abc" for i, d in
            enumerate(pd.date_range("2020-01-01", periods=7 if s != "b" else 12))]
    name = write("s.csv", "unique_id,ds,y\n" + "\n".join(rows) + "\n")
    whole = read_series(name)
    parts = list(iter_series(name, chunk_rows=5))  # smaller than every series
    assert [part.ids for part in parts] == [["a"], ["b"], ["c"]]
    assert all(part.info.sha256 == "" for part in parts)
    for i, y in enumerate(y for part in parts for y in part.y):
        pd.testing.assert_series_equal(y, whole.y[i])
    pd.testing.assert_frame_equal(pd.concat([p.frame for p in parts], ignore_index=True),
                                  whole.frame)


def test_chunks_keep_checking_contiguity_and_frequency(write, refused):
    name = write("s.csv", "unique_id,ds,y\na,1,1\na,2,1\nb,1,1\nb,2,1\na,3,1\n")
    refused(lambda: list(iter_series(name, chunk_rows=2)),
            "s.csv, line 6: the rows of one series must be contiguous; series 'a' continues here "
            "after rows of other series (its rows before end at line 3); sort the rows by id.")


def test_parquet_chunks_give_the_same_series_as_a_whole_read(write, tmp_path):
    frame = pd.DataFrame({"unique_id": ["a"] * 5 + ["b"] * 4, "ds": list(range(5)) + list(range(4)),
                          "y": np.arange(9.0)})
    frame.to_parquet(tmp_path / "s.pq")
    whole = read_series("s.pq")
    parts = list(iter_series("s.pq", chunk_rows=2))
    assert [part.ids for part in parts] == [["a"], ["b"]]
    pd.testing.assert_frame_equal(pd.concat([p.frame for p in parts], ignore_index=True),
                                  whole.frame)
