"""Long tables (CSV, Parquet) read in chunks of complete groups, each row with its position.

A CSV row's position is its 1-based file line (the header is line 1; a quoted
field over several lines counts them all); a Parquet row's is its 1-based
data row. Messages name it as ``"line N"`` or ``"row N"``.
"""

import csv
import dataclasses

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.parquet as pq

from seqkit.io.sources import quoted

__all__ = [
    "Chunk", "check_increasing", "complete_groups", "numbers", "read_chunks", "require_columns",
    "texts", "times",
]

MISSING_TEXT = frozenset({"", "nan", "na", "n/a", "null", "none", "<na>", "#n/a"})
"""Cell texts read as a missing value (compared lower-cased, spaces stripped)."""


@dataclasses.dataclass
class Chunk:
    """Consecutive rows of a table.

    Attributes
    ----------
    frame : pandas.DataFrame
        The rows, columns as read (text for CSV), index ``0..n-1``.
    positions : numpy.ndarray of int
        Line (CSV) or row (Parquet) of each row, 1-based.
    unit : {"line", "row"}
    schema : dict
        Column name -> dtype string as read.
    """

    frame: pd.DataFrame
    positions: np.ndarray
    unit: str
    schema: dict

    def where(self, i, column=None):
        """``"line 14, column 'y'"`` for row ``i`` of the chunk."""
        place = f"{self.unit} {self.positions[i]}"
        return place if column is None else f"{place}, column {column!r}"

    def runs(self, keys):
        """``(start, stop)`` of each run of equal ``keys`` (an array, one per row)."""
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else []
        stops = [*starts[1:], len(keys)]
        return list(zip(starts, stops, strict=True))

    def rows(self, start, stop):
        """The chunk of rows ``start:stop``."""
        frame = self.frame.iloc[start:stop].reset_index(drop=True)
        return Chunk(frame, self.positions[start:stop], self.unit, self.schema)


def read_chunks(opened, chunk_rows):
    """Yield the rows of a CSV or Parquet source as :class:`Chunk` objects.

    ``chunk_rows=None`` yields one chunk holding every row.

    Raises
    ------
    DataFileError
        For a malformed CSV (a row with another number of fields than the
        header, a broken quote, duplicate or missing header), a file that is
        not Parquet, or a table with no data rows.
    """
    chunks = _csv_chunks(opened, chunk_rows) if opened.format == "csv" else _parquet_chunks(
        opened, chunk_rows
    )
    empty = True
    for chunk in chunks:
        empty = False
        yield chunk
    if empty:
        raise opened.error(None, "the table has no data rows (a header only)")


def _csv_chunks(opened, chunk_rows):
    reader = csv.reader(text for _, text in opened.lines())
    header, start = None, 1
    rows, positions = [], []
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if header is None:
                header = _header(opened, [name.strip() for name in record])
                schema = dict.fromkeys(header, "str")
            elif record:
                if len(record) != len(header):
                    raise opened.error(
                        f"line {line}", f"expected {len(header)} fields as in the header; got "
                        f"{len(record)}"
                    )
                rows.append(record)
                positions.append(line)
                if chunk_rows is not None and len(rows) == chunk_rows:
                    yield _chunk(rows, positions, header, schema)
                    rows, positions = [], []
    except csv.Error as exc:
        raise opened.not_this_format(f"line {reader.line_num}: {exc}") from exc
    if rows:
        yield _chunk(rows, positions, header, schema)


def _header(opened, names):
    if not any(names):
        raise opened.error("line 1", "expected a header line of column names; got an empty line")
    seen = set()
    for name in names:
        if name in seen:
            raise opened.error("line 1", f"column names must be unique; {name!r} appears twice")
        seen.add(name)
    return names


def _chunk(rows, positions, header, schema):
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    return Chunk(frame, np.asarray(positions, dtype=np.int64), "line", schema)


def _parquet_chunks(opened, chunk_rows):
    try:
        parquet = pq.ParquetFile(opened.parquet_file(whole=chunk_rows is None))
        schema = {field.name: str(field.type) for field in parquet.schema_arrow}
        batches = (
            [parquet.read()] if chunk_rows is None else parquet.iter_batches(chunk_rows)
        )
        done = 0
        for batch in batches:
            if batch.num_rows:
                positions = np.arange(done + 1, done + batch.num_rows + 1)
                done += batch.num_rows
                yield Chunk(batch.to_pandas(), positions, "row", schema)
    except (pyarrow.ArrowException, OSError) as exc:
        raise opened.not_this_format(str(exc)) from exc


def require_columns(opened, chunk, columns):
    """Raise naming the columns present if one of ``columns`` is not in the table."""
    missing = [name for name in columns if name not in chunk.frame.columns]
    if missing:
        place = "line 1 (the header)" if chunk.unit == "line" else "the schema"
        raise opened.error(
            place,
            f"missing column{'s' if len(missing) > 1 else ''} {quoted(missing)}; the columns are "
            f"{quoted(chunk.frame.columns, most=20)}",
        )


def texts(values):
    """Cells as stripped strings, missing ones (None, NaN) as ""."""
    series = pd.Series(values.to_numpy(dtype=object))
    return series.where(series.notna(), "").astype(str).str.strip()


def numbers(opened, chunk, column, hint=""):
    """The values of ``column`` as float64, missing ones as NaN.

    Missing: an empty cell, ``NaN``, ``NA``, ``null``, ``None`` (any case) or a
    Parquet null. Raises naming the first cell that is not a finite number, and
    ``hint`` (what to do) after it if that cell is not a number.
    """
    values = chunk.frame[column]
    if values.dtype.kind in "iuf":
        result = values.to_numpy(dtype=np.float64)
        text = None
    else:
        text = texts(values)
        result = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        bad = np.isnan(result) & ~text.str.lower().isin(MISSING_TEXT).to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise opened.error(chunk.where(i, column),
                               f"values must be numbers; got {text[i]!r}{hint}")
    infinite = np.isinf(result)
    if infinite.any():
        i = int(np.flatnonzero(infinite)[0])
        found = text[i] if text is not None else result[i]
        raise opened.error(chunk.where(i, column), f"values must be finite numbers; got {found!r}")
    return result


def _datetimes(text, utc=False):
    try:
        stamps = pd.DatetimeIndex(pd.to_datetime(text, errors="coerce", utc=utc))
        if stamps.isna().any():  # formats that differ from the first value's
            stamps = pd.DatetimeIndex(pd.to_datetime(text, errors="coerce", format="mixed",
                                                     utc=utc))
    except ValueError:
        # Offsets that change (+01:00, then +02:00 from a daylight-saving change) name
        # instants: read in UTC, hourly data across the change stay on one grid.
        if utc or not _mixed_offsets(text):
            raise
        return _datetimes(text, utc=True)
    return stamps


def _offset(value):
    """The UTC offset a time carries (None if none); ValueError if it is not a time."""
    return pd.Timestamp(value).utcoffset()


def _mixed_offsets(text):
    """Whether every time carries a UTC offset, and not all the same one."""
    try:
        offsets = {_offset(value) for value in pd.unique(text)}
    except ValueError:
        return False
    return None not in offsets and len(offsets) > 1


def _first_other_zone(text):
    """The first time that carries a UTC offset where the first does not, or the reverse."""
    try:
        aware = np.array([_offset(value) is not None for value in text])
    except ValueError:
        return None
    other = np.flatnonzero(aware != aware[0])
    return int(other[0]) if len(other) else None


def times(opened, chunk, column):
    """The values of a time column and their kind.

    Returns
    -------
    values : pandas.DatetimeIndex or numpy.ndarray
        Datetimes, or numbers (int64 when all are integers, else float64).
    kind : {"datetime", "integer", "number"}

    Raises
    ------
    DataFileError
        Naming the first cell that is empty or not readable as a datetime
        (anything :func:`pandas.to_datetime` reads) or a number.
    """
    values = chunk.frame[column]
    if values.dtype.kind == "M":
        stamps = pd.DatetimeIndex(values)
        _no_missing(opened, chunk, column, stamps.isna(), "a time")
        return stamps, "datetime"
    if values.dtype.kind in "iu":
        return values.to_numpy(dtype=np.int64), "integer"
    text = texts(values) if values.dtype.kind != "f" else None
    empty = (text == "") if text is not None else values.isna()
    _no_missing(opened, chunk, column, empty, "a time")
    numeric = pd.to_numeric(text, errors="coerce") if text is not None else values
    if not numeric.isna().any():
        numeric = numeric.to_numpy(dtype=np.float64)
        if np.all(numeric == np.round(numeric)) and np.all(np.abs(numeric) < 2**53):
            return numeric.astype(np.int64), "integer"
        return numeric, "number"
    try:
        stamps = _datetimes(text)
    except (ValueError, TypeError) as exc:
        i = _first_other_zone(text)
        if i is not None:
            first, this = (("carries one", "does not") if _offset(text[0]) is not None
                           else ("carries none", "does"))
            raise opened.error(chunk.where(i, column), (
                f"times must all carry a UTC offset, or none do: {text[0]!r} "
                f"({chunk.where(0)}) {first} and {text[i]!r} {this}"
            )) from None
        raise opened.error(chunk.where(0, column),
                           f"cannot read the times as datetimes: {exc}") from exc
    bad = stamps.isna()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise opened.error(
            chunk.where(i, column), f"values must be datetimes or numbers; got {text[i]!r}"
        )
    return stamps, "datetime"


def check_increasing(opened, part, column, owner, stamps):
    """Raise naming both rows if ``stamps`` (the times of one group) repeat or go back.

    Returns the times as integers (nanoseconds or the given integers).
    """
    values = stamps.asi8 if isinstance(stamps, pd.DatetimeIndex) else np.asarray(stamps)
    steps = np.diff(values)
    bad = np.flatnonzero(steps <= 0)
    if bad.size:
        i = int(bad[0])
        before = f"{part.unit} {part.positions[i]}"
        if steps[i] == 0:
            problem = f"duplicate time {stamps[i + 1]} in {owner}: {before} has it too"
        else:
            problem = (f"times must increase within {owner}; {stamps[i + 1]} comes after "
                       f"{stamps[i]} ({before}); sort the rows by id and time")
        raise opened.error(part.where(i + 1, column), problem)
    return values


def _no_missing(opened, chunk, column, missing, what):
    missing = np.asarray(missing)
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise opened.error(chunk.where(i, column), f"{what} is missing (empty)")


def complete_groups(opened, chunks, id_column, noun):
    """Yield ``(chunk, keys)`` holding whole groups of rows with the same id.

    The rows of the last id of a chunk carry over to the next, so each group
    is yielded whole, once. ``keys`` are the ids as strings.

    Raises
    ------
    DataFileError
        If an id is missing, or the rows of one id are not contiguous (naming
        the last line of its earlier rows and the first of its later ones).
    """
    carry = None
    finished = {}  # id -> position of the last row of its (finished) group
    for chunk in chunks:
        if carry is not None:
            chunk = Chunk(
                pd.concat([carry.frame, chunk.frame], ignore_index=True),
                np.concatenate([carry.positions, chunk.positions]), chunk.unit, chunk.schema,
            )
        keys = texts(chunk.frame[id_column]).to_numpy(dtype=object)
        _no_missing(opened, chunk, id_column, keys == "", f"the {noun} id")
        runs = chunk.runs(keys)
        for start, stop in runs[:-1]:
            _finish(opened, chunk, keys, start, stop, finished, noun)
        last = runs[-1][0]
        if last:
            yield chunk.rows(0, last), keys[:last]
        carry = chunk.rows(last, len(keys))
    if carry is not None:
        keys = texts(carry.frame[id_column]).to_numpy(dtype=object)
        _finish(opened, carry, keys, 0, len(keys), finished, noun)
        yield carry, keys


def _finish(opened, chunk, keys, start, stop, finished, noun):
    key = keys[start]
    if key in finished:
        nouns = noun if noun.endswith("s") else f"{noun}s"  # "series" is its own plural
        raise opened.error(
            chunk.where(start),
            f"the rows of one {noun} must be contiguous; {noun} {key!r} continues here after "
            f"rows of other {nouns} (its rows before end at {chunk.unit} {finished[key]}); sort "
            "the rows by id",
        )
    finished[key] = chunk.positions[stop - 1]
