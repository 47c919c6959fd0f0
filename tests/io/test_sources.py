"""Opening sources: paths, URIs, formats, content, SourceInfo."""

import gzip
import hashlib

import pandas as pd
import pytest

from seqkit.io import SourceInfo, read_conll, read_sequences, read_series

SERIES = "ds,y\n2020-01-01,1\n2020-01-02,2\n2020-01-03,3\n"


def test_source_info_of_a_csv(write):
    name = write("s.csv", SERIES)
    info = read_series(name).info
    assert isinstance(info, SourceInfo)
    assert info.uri == "s.csv" and info.format == "csv"
    assert info.sha256 == hashlib.sha256(SERIES.encode()).hexdigest()
    assert (info.n_rows, info.n_items) == (3, 1)
    assert info.schema == {"ds": "str", "y": "str"}
    with pytest.raises(AttributeError):
        info.uri = "other.csv"  # frozen


def test_path_objects_and_file_uris(write, tmp_path):
    write("s.csv", SERIES)
    by_path = read_series(tmp_path / "s.csv")
    by_uri = read_series((tmp_path / "s.csv").as_uri())
    assert by_uri.info.uri.startswith("file://")
    pd.testing.assert_frame_equal(by_path.frame, by_uri.frame)


def test_gzip_csv_hashes_the_stored_bytes(write):
    stored = gzip.compress(SERIES.encode())
    name = write("s.csv.gz", stored)
    data = read_series(name)
    assert data.info.sha256 == hashlib.sha256(stored).hexdigest()
    assert data.y[0].tolist() == [1.0, 2.0, 3.0]


def test_a_csv_over_http(write, http_folder):
    write("s.csv", SERIES)
    data = read_series(f"{http_folder}/s.csv")
    assert data.y[0].tolist() == [1.0, 2.0, 3.0]
    assert data.info.sha256 == hashlib.sha256(SERIES.encode()).hexdigest()


def test_missing_file_over_http(refused, http_folder):
    refused(lambda: read_series(f"{http_folder}/none.csv"),
            f"{http_folder}/none.csv: no such file.")


def test_missing_protocol_package_is_named(refused):
    refused(lambda: read_series("s3://bucket/sales.csv"),
            "s3://bucket/sales.csv: reading s3:// URIs needs the package 's3fs' (pip install "
            "s3fs); fsspec says: Install s3fs to access S3.")


def test_missing_file(write, refused):
    write("other.csv", SERIES)
    refused(lambda: read_series("sales.csv"), "sales.csv: no such file.")


def test_wrong_extension_names_the_accepted_ones(write, refused):
    name = write("sales.xlsx", SERIES)
    refused(lambda: read_series(name),
            "sales.xlsx: series are read from files ending in .csv, .csv.gz, .parquet, .pq; got "
            "the extension '.xlsx'.")
    refused(lambda: read_conll(write("sales.csv", SERIES)),
            "sales.csv: tagged sentences are read from files ending in .conll, .iob, .bio, .txt; "
            "got the extension '.csv'.")


def test_parquet_content_must_start_with_its_magic_bytes(write, refused):
    name = write("s.parquet", SERIES)
    refused(lambda: read_series(name),
            "s.parquet: is not a Parquet file: it does not start with b'PAR1'; got b'ds,y'.")


def test_text_must_be_utf8(write, refused):
    name = write("s.csv", b"ds,y\n2020-01-01,1\n2020-01-02,\xff2\n")
    refused(lambda: read_series(name),
            "s.csv: is not a CSV file: line 3 is not UTF-8 text (byte 0xff at byte 12).")


def test_text_must_hold_no_nul_byte(write, refused):
    name = write("s.txt", b"EU\tB-ORG\nrejects\x00\tO\n")
    refused(lambda: read_conll(name),
            "s.txt: is not a CoNLL file: line 2 holds a NUL byte (at byte 8).")


def test_a_parquet_file_named_csv_is_not_a_csv(write, refused, tmp_path):
    pd.DataFrame({"ds": [1, 2], "y": [1.0, 2.0]}).to_parquet(tmp_path / "p.parquet")
    name = write("p.csv", (tmp_path / "p.parquet").read_bytes())
    with pytest.raises(Exception, match=r"^p\.csv: is not a CSV file: line 1 "):
        read_series(name)


def test_ts_needs_header_lines_before_data(write, refused):
    name = write("c.ts", "1,2,3:a\n")
    refused(lambda: read_sequences(name),
            "c.ts: is not a .ts file: line 1: expected @ header lines before @data; got "
            "'1,2,3:a'.")


@pytest.mark.parametrize(
    ("name", "content", "read", "message"),
    [
        ("e.csv", "", read_series, "e.csv: the file is empty (0 bytes)."),
        ("h.csv", "ds,y\n", read_series, "h.csv: the table has no data rows (a header only)."),
        ("h.ts", "@classLabel true a b\n@data\n", read_sequences, "h.ts: no cases after @data."),
        ("b.conll", "\n-DOCSTART- O\n\n", read_conll,
         "b.conll: no sentences (only blank or -DOCSTART- lines)."),
    ],
)
def test_empty_files(write, refused, name, content, read, message):
    refused(lambda: read(write(name, content)), message)


def test_empty_parquet(write, refused, tmp_path):
    empty = pd.DataFrame({"ds": pd.Series([], dtype="int64"), "y": pd.Series([], dtype="float64")})
    empty.to_parquet(tmp_path / "e.parquet")
    refused(lambda: read_series("e.parquet"),
            "e.parquet: the table has no data rows (a header only).")
