"""Sequences to classify or tag: long tables (CSV, Parquet) and UEA/UCR ``.ts`` files."""

import dataclasses

import numpy as np

from seqkit._validation import check_choice, check_int
from seqkit.io.sources import SourceInfo, open_source
from seqkit.io.tables import (
    check_increasing,
    complete_groups,
    numbers,
    read_chunks,
    require_columns,
    texts,
    times,
)
from seqkit.io.ts import ts_cases, ts_header

__all__ = ["SequenceData", "iter_sequences", "read_sequences"]

LABELS = ("sequence", "step", "ignore")
_FORMATS = ("csv", "parquet", "ts")


@dataclasses.dataclass
class SequenceData:
    """Checked sequences, with their labels.

    Attributes
    ----------
    X : list of numpy.ndarray
        One float32 array of shape ``(steps, channels)`` per sequence
        (lengths may differ).
    y : numpy.ndarray or list of numpy.ndarray or None
        ``labels="sequence"``: a 1-D string array, a label per sequence;
        ``labels="step"``: a 1-D string array per sequence, a label per step;
        ``labels="ignore"``: ``None``.
    ids : list of str
        Sequence ids; for ``.ts`` files the case number, from 0 in file order.
    channels : list of str
        Channel (column) names; ``"dim_0"``, ``"dim_1"``... for ``.ts`` files.
    info : SourceInfo
    """

    X: list
    y: object
    ids: list
    channels: list
    info: SourceInfo


def read_sequences(source, *, id_column="unique_id", time_column="ds", label_column="label",
                   labels="sequence"):
    """Read and check sequences for classification, tagging or prediction.

    Parameters
    ----------
    source : str or path-like
        Local path, ``file://`` URI or fsspec URI of a ``.ts`` file (UEA/UCR
        format, as documented by sktime and aeon; see :mod:`seqkit.io.ts`) or
        a long table (CSV, ``.csv.gz``, Parquet) with one row per sequence
        and step.
    id_column : str, default="unique_id"
        Table column of sequence ids (required). The rows of a sequence must
        be contiguous.
    time_column : str, default="ds"
        Optional table column of times (datetimes or numbers), which must
        increase within a sequence; without it the rows are in file order.
    label_column : str, default="label"
        Table column of labels (required unless ``labels="ignore"``).
    labels : {"sequence", "step", "ignore"}, default="sequence"
        ``"sequence"``: one label per sequence (the column must be constant
        within a sequence); ``"step"``: a label per step (tables only);
        ``"ignore"``: prediction input, a label column or ``.ts`` class label
        is ignored if present.

    Every other table column is a channel and must hold finite numbers, none missing.

    Returns
    -------
    SequenceData

    Raises
    ------
    DataFileError
        Naming the file, line (CSV, ``.ts``) or row (Parquet) and column or
        dimension, for: a wrong extension or content, a missing file or
        column, a channel value that is missing or not a number, a missing
        label, a label that changes within a sequence, non-contiguous rows,
        times that do not increase, a ``.ts`` rule (see :func:`seqkit.io.ts.ts_cases`),
        an empty file.
    InvalidParameterError
        For a ``labels`` outside the choices.
    """
    check_choice(labels, "labels", "read_sequences", LABELS)
    options = (id_column, time_column, label_column, labels)
    with open_source(source, _FORMATS, "sequences") as opened:
        parts = list(_parts(opened, options, None))
        sha256 = opened.sha256
    first = parts[0]
    y = first.y
    if len(parts) > 1 and labels == "sequence":
        y = np.concatenate([part.y for part in parts])
    elif len(parts) > 1 and labels == "step":
        y = [steps for part in parts for steps in part.y]
    info = dataclasses.replace(first.info, sha256=sha256,
                               n_rows=sum(p.info.n_rows for p in parts),
                               n_items=sum(p.info.n_items for p in parts))
    return SequenceData([x for part in parts for x in part.X], y,
                        [i for part in parts for i in part.ids], first.channels, info)


def iter_sequences(source, *, id_column="unique_id", time_column="ds", label_column="label",
                   labels="sequence", chunk_rows=100_000):
    """Read sequences in chunks of complete sequences, with bounded memory.

    Parameters are those of :func:`read_sequences`, and:

    Parameters
    ----------
    chunk_rows : int, default=100_000
        Table rows, or ``.ts`` cases, read at a time. The sequence of a
        chunk's last id carries over to the next chunk.

    Yields
    ------
    SequenceData
        Complete sequences, every check of :func:`read_sequences` applied
        (across chunks too). ``info.sha256`` is ``""``; ``info.n_rows`` and
        ``info.n_items`` count that chunk's rows (or cases) and sequences.
    """
    check_choice(labels, "labels", "iter_sequences", LABELS)
    chunk_rows = check_int(chunk_rows, "chunk_rows", "iter_sequences", minimum=1)
    with open_source(source, _FORMATS, "sequences") as opened:
        yield from _parts(opened, (id_column, time_column, label_column, labels), chunk_rows)


def _parts(opened, options, chunk_rows):
    if opened.format == "ts":
        return _ts_parts(opened, options[3], chunk_rows)
    return _table_parts(opened, options, chunk_rows)


def _ts_parts(opened, labels, chunk_rows):
    lines = opened.lines()
    header = ts_header(opened, lines)
    if labels == "step":
        raise opened.error(None, "labels='step' needs a label per step, which .ts files do not "
                                 "hold; use a CSV or Parquet table")
    if labels == "sequence" and header.class_labels is None:
        raise opened.error(None, "labels='sequence' needs class labels, and the file has "
                                 "@classLabel false; pass labels='ignore' for prediction input")
    X, y, done = [], [], 0
    for _, values, label in ts_cases(opened, lines, header):
        X.append(values)
        y.append(label)
        if len(X) == chunk_rows:
            yield _ts_part(opened, header, X, y, labels, done)
            done += len(X)
            X, y = [], []
    if X:
        yield _ts_part(opened, header, X, y, labels, done)
    elif not done:
        raise opened.error(None, "no cases after @data")


def _ts_part(opened, header, X, y, labels, done):
    channels = [f"dim_{d}" for d in range(header.dimensions)]
    info = SourceInfo(opened.uri, "ts", "", len(X), len(X), header.schema())
    ids = [str(done + i) for i in range(len(X))]
    return SequenceData(X, np.array(y) if labels == "sequence" else None, ids, channels, info)


def _table_parts(opened, options, chunk_rows):
    id_column, time_column, label_column, labels = options
    chunks = read_chunks(opened, chunk_rows)
    columns = None
    for chunk, keys in complete_groups(opened, _checked(opened, chunks, options), id_column,
                                       "sequence"):
        if columns is None:
            columns = _columns(opened, chunk, options)
        has_time, has_label, channels = columns
        hint = (f". Every column other than the id, time and label is a channel; if it holds "
                f"the labels, name it as the label column (now {label_column!r}: label_column= "
                "in Python, --label-column on the command line)")
        values = np.column_stack([numbers(opened, chunk, name, hint) for name in channels])
        missing = np.isnan(values)
        if missing.any():
            row, col = (int(v[0]) for v in np.nonzero(missing))
            raise opened.error(chunk.where(row, channels[col]),
                               "missing value (empty or NaN); channels must be complete")
        stamps = times(opened, chunk, time_column)[0] if has_time else None
        tags = texts(chunk.frame[label_column]).to_numpy(dtype=str) if has_label else None
        X, y, ids = [], [], []
        for start, stop in chunk.runs(keys):
            part = chunk.rows(start, stop)
            owner = f"sequence {keys[start]!r}"
            if has_time:
                check_increasing(opened, part, time_column, owner, stamps[start:stop])
            X.append(values[start:stop].astype(np.float32))
            ids.append(str(keys[start]))
            if has_label:
                y.append(_labels(opened, part, label_column, owner, tags[start:stop], labels))
        info = SourceInfo(opened.uri, opened.format, "", len(keys), len(ids), chunk.schema)
        yield SequenceData(X, np.array(y, dtype=str) if labels == "sequence" else
                           (y if labels == "step" else None), ids, channels, info)


def _checked(opened, chunks, options):
    id_column, _, label_column, labels = options
    for chunk in chunks:
        require_columns(opened, chunk, [id_column] + ([label_column] if labels != "ignore" else []))
        yield chunk


def _columns(opened, chunk, options):
    """Whether the table has a time and a label column, and its channel columns."""
    id_column, time_column, label_column, labels = options
    has_time = time_column in chunk.frame.columns
    has_label = labels != "ignore"
    skip = {id_column, time_column, label_column}
    channels = [name for name in chunk.frame.columns if name not in skip]
    place = "line 1 (the header)" if chunk.unit == "line" else "the schema"
    if "" in channels:
        raise opened.error(place, f"column {list(chunk.frame.columns).index('') + 1} has no name; "
                                  "every column other than the id, time and label is a channel")
    if not channels:
        raise opened.error(place, f"no channel columns: the columns are only the id, time and "
                                  f"label ({', '.join(map(repr, chunk.frame.columns))})")
    return has_time, has_label, channels


def _labels(opened, part, column, owner, tags, labels):
    empty = np.flatnonzero(tags == "")
    if empty.size:
        raise opened.error(part.where(int(empty[0]), column), "the label is missing (empty)")
    if labels == "step":
        return tags
    changed = np.flatnonzero(tags != tags[0])
    if changed.size:
        i = int(changed[0])
        raise opened.error(
            part.where(i, column),
            f"the label must be the same on every row of a sequence (labels='sequence'); "
            f"{owner} has {str(tags[0])!r} ({part.where(0)}) and {str(tags[i])!r} here",
        )
    return tags[0]
