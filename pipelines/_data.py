"""The data a pipeline works on, read and checked before any run starts, and its lineage.

A pipeline module's ``load(args)`` returns a :class:`Data`: the training and
test parts (each a :class:`seqkit.io.SeriesData`, :class:`seqkit.io.SequenceData`
or :class:`seqkit.io.TokenData`, whether they come from a bundled set or the
user's files), how the test part came about, and the options the run records.
Everything a file can get wrong is refused there, before an MLflow run or a
folder exists. :func:`log_lineage` records both parts as MLflow dataset
inputs once the run is open.
"""

import dataclasses

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from seqkit import datasets, io, tracking
from seqkit._feature_names import differences, in_order
from seqkit.exceptions import DataFileError


@dataclasses.dataclass
class Data:
    """The training and test parts of a pipeline's data.

    Attributes
    ----------
    name : str
        The bundled set's name, or the stem of the user's training file.
    train, test : SeriesData, SequenceData or TokenData
    split : str
        How the test part came about, in words (logged as the parameter ``split``).
    params : dict
        Data facts the run logs as parameters (frequency, counts, ...).
    """

    name: str
    train: object
    test: object
    split: str
    params: dict = dataclasses.field(default_factory=dict)


def bundled_info(name, *, fmt, n_rows, n_items, schema):
    """The :class:`seqkit.io.SourceInfo` of a bundled data set (its first file, its checksum)."""
    path = datasets.verify(name)[0]
    return io.SourceInfo(uri=str(path), format=fmt, sha256=datasets.dataset_info(name)["sha256"][
        path.name], n_rows=n_rows, n_items=n_items, schema=schema)


def bundled_sequences(name, X, y, *, fmt="ts"):
    """Bundled sequences (``(steps, channels)`` arrays) as a :class:`seqkit.io.SequenceData`."""
    channels = [f"dim_{i}" for i in range(X[0].shape[1])]
    info = bundled_info(name, fmt=fmt, n_rows=len(X), n_items=len(X),
                        schema={"channels": len(channels)})
    return io.SequenceData(X=list(X), y=y, ids=[str(i) for i in range(len(X))],
                           channels=channels, info=info)


def named_sequences(part):
    """The sequences of a :class:`seqkit.io.SequenceData`: from a table, as DataFrames with
    its channel names as columns, so that a model fit on them records the names
    (``feature_names_in_``) and its export reads a file's columns by name, in any order;
    from a ``.ts`` file or a bundled set, whose dimensions have no names, as arrays."""
    if part.info.format not in ("csv", "parquet"):
        return list(part.X)
    return [pd.DataFrame(x, columns=part.channels, copy=False) for x in part.X]


def matched_channels(train, test):
    """``test`` (a :class:`seqkit.io.SequenceData`) with its channels in the order of
    ``train``'s, matched by name as ``seqkit predict`` matches them.

    Raises
    ------
    DataFileError
        If the two files' channels differ.
    """
    if test.channels == train.channels:
        return test
    missing, unexpected = differences(train.channels, test.channels)
    if missing or unexpected:
        raise DataFileError(
            f"{test.info.uri}: its channels {test.channels} must be those of "
            f"{train.info.uri}, {train.channels}, in any order; missing {missing}, "
            f"unexpected {unexpected}.")
    return dataclasses.replace(test, X=in_order(test.X, test.channels, train.channels),
                               channels=list(train.channels))


def user_parts(args, read, split, how):
    """The training and test parts of the user's files, and how the test part came about.

    Parameters
    ----------
    args : argparse.Namespace
        With ``data``, ``test_data`` and ``seed``.
    read : callable
        ``read(args, source)`` reads one file.
    split : callable
        ``split(data, seed) -> (train, test)``, for ``--data`` without ``--test-data``.
    how : str
        What ``split`` does, in words.
    """
    if args.test_data is None:
        return (*split(read(args, args.data), args.seed), how)
    return read(args, args.data), read(args, args.test_data), f"--test-data {args.test_data}"


def stratified_split(data, seed, fraction=0.25):
    """Split a :class:`seqkit.io.SequenceData` with one label per sequence, stratified by label.

    Raises
    ------
    DataFileError
        If a class has too few sequences to be on both sides.
    """
    indices = np.arange(len(data.X))
    try:
        train, test = train_test_split(indices, test_size=fraction, stratify=data.y,
                                       random_state=seed)
    except ValueError as err:
        counts = pd.Series(data.y).value_counts()
        raise DataFileError(
            f"{data.info.uri}: cannot split off a stratified test set of {fraction:.0%}: {err} "
            f"(class sizes: {dict(counts.tail(3))}...). Give --test-data, or more sequences "
            "of the rare classes."
        ) from None
    return subset(data, np.sort(train)), subset(data, np.sort(test))


def random_split(data, seed, fraction=0.2):
    """Split sequences with a label per step (or sentences) at random, by whole sequence."""
    n = len(_items(data))
    if n < 2:
        raise DataFileError(f"{data.info.uri}: needs at least 2 sequences to split off a test "
                            f"set; got {n}. Give --test-data.")
    train, test = train_test_split(np.arange(n), test_size=fraction, random_state=seed)
    return subset(data, np.sort(train)), subset(data, np.sort(test))


def _items(data):
    return data.tokens if isinstance(data, io.TokenData) else data.X


def subset(data, rows):
    """The sequences (or sentences) ``rows`` of ``data``; its ``info`` still describes the file."""
    def pick(values):
        return None if values is None else [values[i] for i in rows]

    if isinstance(data, io.TokenData):
        return dataclasses.replace(data, tokens=pick(data.tokens), tags=pick(data.tags))
    y = data.y[rows] if isinstance(data.y, np.ndarray) else pick(data.y)
    return dataclasses.replace(data, X=pick(data.X), y=y, ids=pick(data.ids))


def long_frame(part):
    """One part of the data as a long table, one row per step (or token), for MLflow."""
    if isinstance(part, io.SeriesData):
        return part.frame
    if isinstance(part, io.TokenData):
        return pd.DataFrame({
            "sentence": np.repeat(np.arange(len(part.tokens)), [len(s) for s in part.tokens]),
            "token": [token for sentence in part.tokens for token in sentence],
            "tag": [tag for sentence in part.tags for tag in sentence],
        })
    lengths = [len(x) for x in part.X]
    frame = pd.DataFrame(np.concatenate(part.X), columns=part.channels)
    frame.insert(0, "unique_id", np.repeat(part.ids, lengths))
    frame.insert(1, "step", np.concatenate([np.arange(n) for n in lengths]))
    labels = part.y
    frame["label"] = (np.repeat(labels, lengths) if isinstance(labels, np.ndarray)
                      else np.concatenate(labels))
    return frame


def _target(part):
    if isinstance(part, io.SeriesData):
        return "y"
    return "tag" if isinstance(part, io.TokenData) else "label"


def log_lineage(data):
    """Log the parameters of ``data`` and both of its parts as MLflow dataset inputs.

    Each input carries MLflow's digest and, as tags, the SHA-256 of the whole
    source file, its format, the rows and items (series, sequences or
    sentences) of the part and of the whole file, and how the part was cut.
    """
    tracking.log_params({"data": data.train.info.uri, "test_data": data.test.info.uri,
                         "split": data.split, **data.params})
    for context, part in (("training", data.train), ("evaluation", data.test)):
        info, frame = part.info, long_frame(part)
        items = part.ids if isinstance(part, io.SeriesData) else _items(part)
        tracking.log_input(
            frame, source=info.uri, name=f"{data.name}-{context}", context=context,
            targets=_target(part),
            tags={"sha256": info.sha256, "format": info.format, "rows": len(frame),
                  "items": len(items), "file_rows": info.n_rows, "file_items": info.n_items,
                  "split": data.split},
        )
