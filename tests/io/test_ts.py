"""UEA/UCR .ts files through read_sequences and iter_sequences."""

import numpy as np
import pytest

from seqkit.io import iter_sequences, read_sequences

HEADER = ("# a comment\n@problemName Toy\n@timeStamps false\n@missing false\n"
          "@univariate {uni}\n{dims}@equalLength {equal}\n{length}@classLabel true a b\n@data\n")


def ts(cases, *, uni="false", dims="@dimensions 2\n", equal="true", length="@seriesLength 3\n"):
    return HEADER.format(uni=uni, dims=dims, equal=equal, length=length) + cases


EQUAL = ts("1,2,3:4,5,6:a\n7,8,9:1,1,1:b\n")


def test_multivariate_equal_length(write):
    data = read_sequences(write("c.ts", EQUAL))
    assert data.channels == ["dim_0", "dim_1"] and data.ids == ["0", "1"]
    assert data.y.tolist() == ["a", "b"]
    np.testing.assert_array_equal(data.X[0], [[1, 4], [2, 5], [3, 6]])
    assert data.X[0].dtype == np.float32 and data.X[0].flags.c_contiguous
    assert data.info.format == "ts" and (data.info.n_rows, data.info.n_items) == (2, 2)
    assert data.info.schema == {"problem_name": "Toy", "dimensions": 2, "equal_length": True,
                                "series_length": 3, "class_labels": ["a", "b"]}


def test_univariate_unequal_length_without_dimensions(write):
    name = write("u.ts", ts("1,2:a\n3,4,5,6:b\n", uni="true", dims="", equal="false", length=""))
    data = read_sequences(name)
    assert [x.shape for x in data.X] == [(2, 1), (4, 1)] and data.channels == ["dim_0"]


def test_class_label_false_is_prediction_input(write, refused):
    content = ts("1,2,3:4,5,6\n").replace("@classLabel true a b", "@classLabel false")
    name = write("p.ts", content)
    assert read_sequences(name, labels="ignore").y is None
    refused(lambda: read_sequences(name),
            "p.ts: labels='sequence' needs class labels, and the file has @classLabel false; pass "
            "labels='ignore' for prediction input.")


def test_ignored_class_labels(write):
    data = read_sequences(write("c.ts", EQUAL), labels="ignore")
    assert data.y is None and len(data.X) == 2


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        (ts("1,?,3:4,5,6:a\n"), {},
         "c.ts, line 11, dimension 0: missing values ('?') are not supported; got '?'."),
        (ts("1,2,3:4,NaN,6:a\n"), {},
         "c.ts, line 11, dimension 1: missing values ('?') are not supported; got 'NaN'."),
        (ts("1,2,3:4,x,6:a\n"), {}, "c.ts, line 11, dimension 1: values must be numbers; got 'x'."),
        (ts("1,2,3:4,5,6:c\n"), {},
         "c.ts, line 11: class label 'c' is not one of the @classLabel labels ('a', 'b')."),
        (ts("1,2,3:a\n"), {},
         "c.ts, line 11: expected 2 dimensions and a class label separated by ':'; got 2 fields."),
        (ts("1,2,3:4,5:a\n"), {},
         "c.ts, line 11: the dimensions of a case must have the same length; got lengths [2, 3]."),
        (ts("1,2:4,5:a\n"), {},
         "c.ts, line 11: expected 3 values per dimension (equal length); got 2."),
        (EQUAL, {"labels": "step"},
         "c.ts: labels='step' needs a label per step, which .ts files do not hold; use a CSV or "
         "Parquet table."),
        (EQUAL.replace("@timeStamps false", "@timeStamps true"), {},
         "c.ts, line 3: timestamped .ts files (@timeStamps true) are not supported; write the "
         "values alone."),
        (EQUAL.replace("@classLabel true a b\n", ""), {},
         "c.ts, line 9: expected @classLabel true <labels> or @classLabel false before @data."),
        (EQUAL.replace("@equalLength true", "@equalLength yes"), {},
         "c.ts, line 7: @equalLength must be true or false; got 'yes'."),
        (EQUAL.replace("@data\n", ""), {},
         "c.ts: is not a .ts file: line 10: expected @ header lines before @data; got "
         "'1,2,3:4,5,6:a'."),
    ],
)
def test_rules(write, refused, content, options, message):
    name = write("c.ts", content)
    refused(lambda: read_sequences(name, **options), message)


def test_cases_in_chunks_equal_a_whole_read(write):
    cases = "".join(f"{i},{i + 1},{i + 2}:{i},{i},{i}:{'ab'[i % 2]}\n" for i in range(7))
    name = write("c.ts", ts(cases))
    whole = read_sequences(name)
    parts = list(iter_sequences(name, chunk_rows=3))
    assert [len(part.X) for part in parts] == [3, 3, 1]
    assert [i for part in parts for i in part.ids] == whole.ids == [str(i) for i in range(7)]
    np.testing.assert_array_equal(np.stack([x for p in parts for x in p.X]), np.stack(whole.X))
    assert np.concatenate([p.y for p in parts]).tolist() == whole.y.tolist()
