"""Small real data sets shipped in the repository's ``data/`` folder.

Each data set is registered by name with its files, their sha256 checksums,
its licence, source and task. Every loader checks the checksums of its files
before parsing them (each file is hashed once per process and size/mtime) and
raises :class:`~seqkit.exceptions.DataIntegrityError` for a missing, altered or
malformed file.

The data folder is found in this order: the ``data_dir`` argument of a loader,
the ``SEQKIT_DATA_DIR`` environment variable, then ``data/`` next to the
``seqkit`` package (the repository layout). A non-editable install does not
carry ``data/``: point ``SEQKIT_DATA_DIR`` at the repository's copy.

``data/README.md`` documents the origin, licence and conversion of each file.
"""

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from seqkit._validation import check_choice
from seqkit.exceptions import DataFileError, DataIntegrityError
from seqkit.io import read_conll, read_sequences

__all__ = [
    "TASKS",
    "dataset_info",
    "list_datasets",
    "load_classification",
    "load_series",
    "load_tagging",
    "verify",
]

TASKS = ("forecasting", "classification", "tagging")

_UEA_SOURCE = (
    "UEA/UCR time series classification archive (Bagnall et al., 'The UEA multivariate "
    "time series classification archive, 2018', arXiv:1811.00075); .ts files as bundled "
    "in aeon 1.6.0 (aeon/datasets/data/{0}/), identical to those in sktime 1.2.0."
)
_BASIC_MOTIONS_FILES = {
    "BasicMotions_TRAIN.ts": "8dc43cc6306cb679c888c01e26f91772ac4441a916da43bac8b79734a538b9d6",
    "BasicMotions_TEST.ts": "79213102bc6fca1a398ad98ce1185dff0208fa3d1465e687f48288946b0ff8dc",
}
_BASIC_MOTIONS_LICENCE = (
    "No licence stated by the archive; redistributed unchanged as shipped in aeon "
    "(BSD-3-Clause). Cite Bagnall et al. (2018)."
)

_REGISTRY = {
    "sunspots": {
        "task": "forecasting",
        "files": {
            "sunspots.csv": "f67889b1d9002cd5227f0e0ef54e35b419cdd85a31279adef6f73fb41e5c0a9b",
        },
        "licence": "Public domain",
        "source": (
            "NOAA National Geophysical Data Center, yearly sunspot numbers; file from "
            "statsmodels 0.15.0 (statsmodels/datasets/sunspots/sunspots.csv)."
        ),
        "description": "Yearly mean sunspot number, 1700-2008 (309 years).",
    },
    "co2": {
        "task": "forecasting",
        "files": {
            "co2.csv": "16695fa2786e53414e5a6b54767a3fdf5de99cfbc68617f69d1362d92776a92f",
        },
        "licence": "Public domain",
        "source": (
            "Keeling, C.D. and T.P. Whorf (2004), atmospheric CO2 at Mauna Loa, Carbon "
            "Dioxide Information Analysis Center; file from statsmodels 0.15.0 "
            "(statsmodels/datasets/co2/co2.csv)."
        ),
        "description": (
            "Weekly mean atmospheric CO2 (ppmv) at Mauna Loa, 1958-03-29 to 2001-12-29 "
            "(2284 weeks, 59 of them missing)."
        ),
    },
    "airline": {
        "task": "forecasting",
        "files": {
            "airline.csv": "28af0eb869db6d9fbd31d5af03993a0cbf36c0857c3eb046a068c094b60da851",
        },
        "licence": (
            "Published table (Box, Jenkins and Reinsel 1976, Series G); no licence asserted; "
            "file redistributed as shipped in aeon (BSD-3-Clause)."
        ),
        "source": (
            "Box, G.E.P., Jenkins, G.M. and Reinsel, G.C. (1976), Time Series Analysis, "
            "Forecasting and Control, Series G; file from aeon 1.6.0 "
            "(aeon/datasets/data/Airline/Airline.csv)."
        ),
        "description": (
            "Monthly international airline passengers (thousands), 1949-01 to 1960-12 (144 months)."
        ),
    },
    "japanese_vowels": {
        "task": "classification",
        "files": {
            "JapaneseVowels_TRAIN.ts": (
                "68a430eabd919cc77f40b1f5f3bc0dcafacc1486bca9260785aeb7d262cc78cd"
            ),
            "JapaneseVowels_TEST.ts": (
                "b3d41d6a0ca3bcad3afb9ca7d4365382aa51341e2e58bae2a574babdda5b9462"
            ),
        },
        "licence": "CC BY 4.0 (UCI Machine Learning Repository, doi:10.24432/C5NS47)",
        "source": (
            "Kudo, M., Toyama, J. and Shimbo, M. (1999), 'Multidimensional curve "
            "classification using passing-through regions', Pattern Recognition Letters "
            "20(11-13); " + _UEA_SOURCE.format("JapaneseVowels")
        ),
        "description": (
            "Utterances of /ae/ by 9 male speakers as 12 LPC cepstrum coefficients per "
            "frame, 7-29 frames each; label = speaker '1'..'9'; official split 270 "
            "train / 370 test."
        ),
    },
    "basic_motions": {
        "task": "classification",
        "files": _BASIC_MOTIONS_FILES,
        "licence": _BASIC_MOTIONS_LICENCE,
        "source": _UEA_SOURCE.format("BasicMotions"),
        "description": (
            "Smart-watch 3-D accelerometer and 3-D gyroscope (6 channels), 100 steps at "
            "10 Hz; 4 activities (Badminton, Running, Standing, Walking); official split "
            "40 train / 40 test."
        ),
    },
    "japanese_ner": {
        "task": "tagging",
        "files": {
            "hironsan_iob_sents.txt": (
                "fc55bffe080deea3b63f9923cd33ee9a96b500a997d5719b4a5c03d216ef2a3e"
            ),
        },
        "licence": "MIT (Copyright (c) 2016 Hironsan; see data/LICENSES)",
        "source": (
            "Hironsan corpus, PyPI package hironsancorpus 0.1.2 (hironsan/corpus/iob_sents.txt)."
        ),
        "description": (
            "500 Japanese sentences, MeCab tokens with IREX-style IOB2 tags (ART, DAT, "
            "LOC, MON, ORG, PER, PSN, TIM); the package's split: first 450 sentences "
            "train, last 50 test."
        ),
    },
    "basic_motions_segmentation": {
        "task": "tagging",
        "files": _BASIC_MOTIONS_FILES,
        "licence": _BASIC_MOTIONS_LICENCE,
        "source": "Built at load time from the BasicMotions files; "
        + _UEA_SOURCE.format("BasicMotions"),
        "description": (
            "Activity segmentation: each sequence joins one BasicMotions recording of "
            "each of the 4 activities (400 steps, 6 channels) with the activity as the "
            "label of every step; 10 train sequences from the official train split, 10 "
            "test sequences from the test split."
        ),
    },
}

# name -> (date column, date format, value column, pandas frequency)
_SERIES = {
    "sunspots": ("YEAR", "%Y", "SUNACTIVITY", "YS"),
    "co2": ("date", "%Y%m%d", "co2", "W-SAT"),
    "airline": ("Date", "%Y-%m", "Passengers", "MS"),
}

# Rows of a 4 x 4 balanced Latin square: over 4 consecutive sequences every
# ordered pair of activities is adjacent exactly once.
_ACTIVITY_ORDERS = ((0, 1, 3, 2), (1, 2, 0, 3), (2, 3, 1, 0), (3, 0, 2, 1))

# (resolved path, size, mtime_ns) -> sha256 hex digest
_DIGESTS = {}


def list_datasets(task=None):
    """Return the names of the registered data sets.

    Parameters
    ----------
    task : {"forecasting", "classification", "tagging"} or None, default=None
        Only list data sets for this task; ``None`` lists all.

    Returns
    -------
    list of str
        Sorted data set names.
    """
    if task is not None:
        check_choice(task, "task", "list_datasets", TASKS)
    return sorted(name for name, entry in _REGISTRY.items() if task in (None, entry["task"]))


def dataset_info(name):
    """Return the registry entry of a data set.

    Parameters
    ----------
    name : str
        A name from :func:`list_datasets`.

    Returns
    -------
    dict
        Keys ``name``, ``task``, ``files`` (list of file names in ``data/``),
        ``sha256`` (file name -> hex digest), ``licence``, ``source`` and
        ``description``.
    """
    check_choice(name, "name", "dataset_info", list_datasets())
    entry = _REGISTRY[name]
    return {
        "name": name,
        "task": entry["task"],
        "files": list(entry["files"]),
        "sha256": dict(entry["files"]),
        "licence": entry["licence"],
        "source": entry["source"],
        "description": entry["description"],
    }


def verify(name, *, data_dir=None):
    """Check that every file of a data set is present and has its registered sha256.

    Parameters
    ----------
    name : str
        A name from :func:`list_datasets`.
    data_dir : str or path-like, default=None
        Folder holding the data files; see the module docstring for the default.

    Returns
    -------
    list of pathlib.Path
        The verified files, in registry order (train before test).

    Raises
    ------
    DataIntegrityError
        If the data folder or a file is missing, or a checksum differs.
    """
    check_choice(name, "name", "verify", list_datasets())
    return _verified_paths(name, data_dir)


def load_series(name, *, fill_missing="interpolate", data_dir=None):
    """Load a univariate series with a regular ``DatetimeIndex``.

    Parameters
    ----------
    name : {"airline", "co2", "sunspots"}
        ``"sunspots"`` is yearly (``YS-JAN``, 309 values), ``"co2"`` weekly
        (``W-SAT``, 2284 values) and ``"airline"`` monthly (``MS``, 144 values).
    fill_missing : {"interpolate", None}, default="interpolate"
        How to treat missing values (only ``"co2"`` has them: 59 weeks left
        empty in the file). ``"interpolate"`` fills interior gaps by linear
        interpolation in time (``Series.interpolate(method="time")``); ``None``
        keeps them as NaN.
    data_dir : str or path-like, default=None
        Folder holding the data files; see the module docstring for the default.

    Returns
    -------
    pandas.Series
        Float values indexed by date (index name ``"date"``, frequency set),
        named after the data set.

    Raises
    ------
    InvalidParameterError
        If ``name`` or ``fill_missing`` is not one of the listed values.
    DataIntegrityError
        If the file is missing, fails its checksum or cannot be parsed.
    """
    check_choice(name, "name", "load_series", list_datasets("forecasting"))
    check_choice(fill_missing, "fill_missing", "load_series", ("interpolate", None))
    (path,) = _verified_paths(name, data_dir)
    date_column, date_format, value_column, freq = _SERIES[name]
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataIntegrityError(f"Cannot parse data file {path}: {exc}") from exc
    if list(frame.columns) != [date_column, value_column]:
        raise _malformed(
            path, 1, f"expected the header {date_column},{value_column}; got {list(frame.columns)}"
        )
    if frame.empty:
        raise _malformed(path, 2, "no data rows")
    # Data row i sits on line i + 2 (line 1 is the header).
    dates = pd.to_datetime(frame[date_column], format=date_format, errors="coerce")
    if dates.isna().any():
        i = int(np.flatnonzero(dates.isna())[0])
        raise _malformed(
            path, i + 2, f"cannot read {frame[date_column][i]!r} as a date ({date_format})"
        )
    index = pd.date_range(dates[0], periods=len(dates), freq=freq, name="date")
    gaps = np.flatnonzero(pd.DatetimeIndex(dates) != index)
    if gaps.size:
        i = int(gaps[0])
        raise _malformed(
            path,
            i + 2,
            f"expected the date {index[i].date()} of a regular {freq} series; "
            f"got {frame[date_column][i]!r}",
        )
    text = frame[value_column].str.strip()
    empty = text == ""
    values = pd.to_numeric(text.where(~empty), errors="coerce")
    bad = values.isna() & ~empty
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _malformed(path, i + 2, f"cannot read {text[i]!r} as a number")
    series = pd.Series(values.to_numpy(dtype=float), index=index, name=name)
    if fill_missing == "interpolate":
        series = series.interpolate(method="time", limit_area="inside")
    return series


def load_classification(name, *, data_dir=None):
    """Load a sequence classification data set with its official train/test split.

    Parameters
    ----------
    name : {"basic_motions", "japanese_vowels"}
        ``"japanese_vowels"``: 270 train / 370 test sequences of 7-29 steps,
        12 channels, 9 classes ``"1"``..``"9"``. ``"basic_motions"``: 40 / 40
        sequences of 100 steps, 6 channels, 4 classes.
    data_dir : str or path-like, default=None
        Folder holding the data files; see the module docstring for the default.

    Returns
    -------
    X_train, y_train, X_test, y_test
        ``X_*`` are lists of float32 arrays of shape ``(timesteps, channels)``
        (lengths may differ); ``y_*`` are 1-D numpy arrays of string labels.

    Raises
    ------
    InvalidParameterError
        If ``name`` is not a classification data set.
    DataIntegrityError
        If a file is missing, fails its checksum or cannot be parsed.
    """
    check_choice(name, "name", "load_classification", list_datasets("classification"))
    train_path, test_path = _verified_paths(name, data_dir)
    return (*_read_ts(train_path), *_read_ts(test_path))


def load_tagging(name, *, data_dir=None):
    """Load a sequence tagging data set (one label per step) with a fixed split.

    Parameters
    ----------
    name : {"basic_motions_segmentation", "japanese_ner"}
        ``"japanese_ner"``: tokens and IOB2 tags of 500 Japanese sentences;
        the first 450 are train and the last 50 test, the split of the
        ``hironsancorpus`` package. The corpus has two ``I-`` tags that do
        not continue an entity of their type (file lines 6855 and 12038);
        they are read as ``B-`` so every returned sequence is valid IOB2.

        ``"basic_motions_segmentation"``: activity segmentation built from
        BasicMotions. Within each official split the recordings are grouped
        by activity (sorted: Badminton, Running, Standing, Walking; file
        order kept within each activity), and sequence ``k`` joins the
        ``k``-th recording of every activity in the order given by row
        ``k % 4`` of the balanced Latin square (0, 1, 3, 2), (1, 2, 0, 3),
        (2, 3, 1, 0), (3, 0, 2, 1). Each step is labelled with the activity
        of its recording. 10 train and 10 test sequences of shape (400, 6);
        the joins are between separate recordings, not within one.
    data_dir : str or path-like, default=None
        Folder holding the data files; see the module docstring for the default.

    Returns
    -------
    X_train, y_train, X_test, y_test
        For ``"japanese_ner"``: ``X_*`` are lists of token lists and ``y_*``
        lists of tag lists of the same lengths. For
        ``"basic_motions_segmentation"``: ``X_*`` are lists of float32 arrays
        of shape ``(timesteps, channels)`` and ``y_*`` lists of 1-D string
        arrays with one label per step.

    Raises
    ------
    InvalidParameterError
        If ``name`` is not a tagging data set.
    DataIntegrityError
        If a file is missing, fails its checksum or cannot be parsed.
    """
    check_choice(name, "name", "load_tagging", list_datasets("tagging"))
    paths = _verified_paths(name, data_dir)
    if name == "japanese_ner":
        tokens, tags = _read_iob2(paths[0])
        n_train = int(len(tokens) * 0.9)
        return tokens[:n_train], tags[:n_train], tokens[n_train:], tags[n_train:]
    train_path, test_path = paths
    return (*_join_activities(*_read_ts(train_path)), *_join_activities(*_read_ts(test_path)))


def _data_dir(data_dir):
    if data_dir is not None:
        path, origin = Path(data_dir), "the data_dir argument"
    elif os.environ.get("SEQKIT_DATA_DIR"):
        path, origin = Path(os.environ["SEQKIT_DATA_DIR"]), "SEQKIT_DATA_DIR"
    else:
        path, origin = Path(__file__).resolve().parents[1] / "data", "the seqkit package location"
    if not path.is_dir():
        raise DataIntegrityError(
            f"The seqkit data directory {str(path)!r} (from {origin}) does not exist. Pass "
            "data_dir= or set SEQKIT_DATA_DIR to the repository's data/ folder."
        )
    return path


def _sha256(path):
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def _verified_paths(name, data_dir):
    root = _data_dir(data_dir)
    paths = []
    for file_name, expected in _REGISTRY[name]["files"].items():
        path = root / file_name
        if not path.is_file():
            raise DataIntegrityError(
                f"Data file {file_name!r} of data set {name!r} is missing from {root} "
                f"(expected sha256 {expected})."
            )
        actual = _sha256(path)
        if actual != expected:
            raise DataIntegrityError(
                f"Data file {str(path)!r} of data set {name!r} fails its checksum: expected "
                f"sha256 {expected}, got {actual}."
            )
        paths.append(path)
    return paths


def _malformed(path, line, problem):
    return DataIntegrityError(f"Malformed data file {str(path)!r}, line {line}: {problem}.")


def _parsed(reader, path, **options):
    """``reader(path, **options)``, a malformed file raised as DataIntegrityError."""
    try:
        return reader(path, **options)
    except DataFileError as exc:
        raise DataIntegrityError(f"Malformed data file {exc}") from exc


def _read_ts(path):
    """The sequences and class labels of a ``.ts`` file (see :mod:`seqkit.io.ts`)."""
    data = _parsed(read_sequences, path)
    return data.X, data.y


def _read_iob2(path):
    """The sentences and IOB2 tags of a CoNLL file, IOB1's entity-starting ``I-`` read as ``B-``."""
    data = _parsed(read_conll, path, scheme="auto")
    return data.tokens, data.tags


def _join_activities(X, y):
    """Join one recording of each activity per sequence; label every step."""
    activities = np.unique(y)
    by_activity = [
        [x for x, label in zip(X, y, strict=True) if label == activity] for activity in activities
    ]
    sequences, labels = [], []
    for k in range(min(len(recordings) for recordings in by_activity)):
        order = _ACTIVITY_ORDERS[k % len(_ACTIVITY_ORDERS)]
        parts = [by_activity[a][k] for a in order]
        sequences.append(np.concatenate(parts))
        labels.append(
            np.concatenate(
                [np.full(len(p), activities[a]) for p, a in zip(parts, order, strict=True)]
            )
        )
    return sequences, labels
