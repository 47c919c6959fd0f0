"""read_sequences and iter_sequences on long tables (CSV, Parquet)."""

import numpy as np
import pandas as pd
import pytest

from seqkit.exceptions import InvalidParameterError
from seqkit.io import SequenceData, iter_sequences, read_sequences

TABLE = ("unique_id,ds,acc,gyro,label\n"
         "s1,0,1,2,walk\ns1,1,3,4,walk\n"
         "s2,0,5,6,run\ns2,1,7,8,run\ns2,2,9,10,run\n")


def test_sequence_labels(write):
    data = read_sequences(write("t.csv", TABLE))
    assert isinstance(data, SequenceData)
    assert data.ids == ["s1", "s2"] and data.channels == ["acc", "gyro"]
    assert data.y.tolist() == ["walk", "run"] and data.y.dtype.kind == "U"
    assert [x.shape for x in data.X] == [(2, 2), (3, 2)] and data.X[0].dtype == np.float32
    np.testing.assert_array_equal(data.X[1], [[5, 6], [7, 8], [9, 10]])
    assert (data.info.n_rows, data.info.n_items) == (5, 2)


def test_step_labels(write):
    name = write("t.csv", TABLE.replace("s2,1,7,8,run", "s2,1,7,8,walk"))
    data = read_sequences(name, labels="step")
    assert [y.tolist() for y in data.y] == [["walk", "walk"], ["run", "walk", "run"]]


def test_ignored_labels_and_no_time_column(write):
    data = read_sequences(write("t.csv", "unique_id,v\na,1\na,2\nb,3\n"), labels="ignore")
    assert data.y is None and data.channels == ["v"]
    assert [x[:, 0].tolist() for x in data.X] == [[1.0, 2.0], [3.0]]
    with_label = read_sequences(write("l.csv", TABLE), labels="ignore")
    assert with_label.y is None and with_label.channels == ["acc", "gyro"]


def test_parquet(write, tmp_path):
    pd.read_csv(tmp_path / write("t.csv", TABLE)).to_parquet(tmp_path / "t.pq")
    data = read_sequences("t.pq")
    assert data.y.tolist() == ["walk", "run"] and data.info.format == "parquet"
    np.testing.assert_array_equal(data.X[0], [[1, 2], [3, 4]])


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        (TABLE.replace("unique_id", "id"), {},
         "t.csv, line 1 (the header): missing column 'unique_id'; the columns are 'id', 'ds', "
         "'acc', 'gyro', 'label'."),
        (TABLE.replace(",label", ",class"), {},
         "t.csv, line 1 (the header): missing column 'label'; the columns are 'unique_id', 'ds', "
         "'acc', 'gyro', 'class'."),
        (TABLE.replace("s2,1,7,8", "s2,1,7,eight"), {},
         "t.csv, line 5, column 'gyro': values must be numbers; got 'eight'. Every column other "
         "than the id, time and label is a channel; if it holds the labels, name it as the "
         "label column (now 'label': label_column= in Python, --label-column on the command "
         "line)."),
        (TABLE.replace(",label", ",activity"), {"labels": "ignore"},
         "t.csv, line 2, column 'activity': values must be numbers; got 'walk'. Every column "
         "other than the id, time and label is a channel; if it holds the labels, name it as "
         "the label column (now 'label': label_column= in Python, --label-column on the "
         "command line)."),
        (TABLE.replace("s2,1,7,8", "s2,1,,8"), {},
         "t.csv, line 5, column 'acc': missing value (empty or NaN); channels must be complete."),
        (TABLE.replace("s2,1,7,8,run", "s2,1,7,8,walk"), {},
         "t.csv, line 5, column 'label': the label must be the same on every row of a sequence "
         "(labels='sequence'); sequence 's2' has 'run' (line 4) and 'walk' here."),
        (TABLE.replace("s2,1,7,8,run", "s2,1,7,8,"), {"labels": "step"},
         "t.csv, line 5, column 'label': the label is missing (empty)."),
        (TABLE + "s1,2,0,0,walk\n", {},
         "t.csv, line 7: the rows of one sequence must be contiguous; sequence 's1' continues "
         "here after rows of other sequences (its rows before end at line 3); sort the rows by "
         "id."),
        (TABLE.replace("s2,2,9", "s2,1,9"), {},
         "t.csv, line 6, column 'ds': duplicate time 1 in sequence 's2': line 5 has it too."),
        (TABLE.replace("s2,2,9", "s2,0,9"), {},
         "t.csv, line 6, column 'ds': times must increase within sequence 's2'; 0 comes after 1 "
         "(line 5); sort the rows by id and time."),
        ("unique_id,ds,label\na,1,x\n", {},
         "t.csv, line 1 (the header): no channel columns: the columns are only the id, time and "
         "label ('unique_id', 'ds', 'label')."),
        (",unique_id,v,label\n0,a,1,x\n", {},
         "t.csv, line 1 (the header): column 1 has no name; every column other than the id, "
         "time and label is a channel."),
        ("unique_id,v,label\n,1,x\n", {}, "t.csv, line 2, column 'unique_id': the sequence id is "
                                          "missing (empty)."),
    ],
)
def test_rules(write, refused, content, options, message):
    name = write("t.csv", content)
    refused(lambda: read_sequences(name, **options), message)


def test_labels_parameter_is_checked(write):
    with pytest.raises(InvalidParameterError, match="'labels' parameter of read_sequences"):
        read_sequences(write("t.csv", TABLE), labels="all")


def test_chunks_give_the_same_sequences_as_a_whole_read(write):
    rows = [f"q{s},{t},{s * t},{s + t},{'ab'[s % 2]}" for s in range(5) for t in range(4 + s)]
    name = write("t.csv", "unique_id,ds,u,v,label\n" + "\n".join(rows) + "\n")
    whole = read_sequences(name)
    parts = list(iter_sequences(name, chunk_rows=3))  # smaller than every sequence
    assert [i for part in parts for i in part.ids] == whole.ids
    for x, expected in zip([x for part in parts for x in part.X], whole.X, strict=True):
        np.testing.assert_array_equal(x, expected)
    np.testing.assert_array_equal(np.concatenate([part.y for part in parts]), whole.y)
    assert sum(part.info.n_rows for part in parts) == whole.info.n_rows == len(rows)
