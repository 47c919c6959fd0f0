"""Forecasting data: long tables of one or many series (CSV, Parquet)."""

import dataclasses

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from seqkit._validation import check_choice, check_int
from seqkit.exceptions import InvalidParameterError
from seqkit.io.grid import Grid
from seqkit.io.sources import SourceInfo, file_error, open_source
from seqkit.io.tables import complete_groups, numbers, read_chunks, require_columns, times

__all__ = ["SeriesData", "iter_series", "read_series", "season_length_for"]

FILLS = (None, "interpolate", "ffill", "zero")
STANDARD_COLUMNS = ("unique_id", "ds", "y")
"""The names :func:`read_series` gives the id, time and target columns."""
_SEASONS = (
    ((pd.offsets.YearBegin, pd.offsets.YearEnd, pd.offsets.BYearBegin, pd.offsets.BYearEnd), 1),
    ((pd.offsets.QuarterBegin, pd.offsets.QuarterEnd, pd.offsets.BQuarterBegin,
      pd.offsets.BQuarterEnd), 4),
    ((pd.offsets.MonthBegin, pd.offsets.MonthEnd, pd.offsets.BusinessMonthBegin,
      pd.offsets.BusinessMonthEnd), 12),
    ((pd.offsets.Week,), 52),
    ((pd.offsets.BusinessDay,), 5),
    ((pd.offsets.Day,), 7),
    ((pd.offsets.Hour,), 24),
    ((pd.offsets.Minute,), 60),
)


def season_length_for(freq):
    """The usual season length of a frequency.

    Parameters
    ----------
    freq : str or None
        A pandas offset alias (``"MS"``, ``"W-SAT"``, ``"D"``...) or ``None``.

    Returns
    -------
    int
        Steps per season: yearly 1, quarterly 4, monthly 12, weekly 52,
        daily 7, business-daily 5, hourly 24, minutely 60; 1 for any other
        frequency, a multiple of one (``"2D"``) or ``None``.

    Raises
    ------
    InvalidParameterError
        If ``freq`` is not a pandas offset alias.
    """
    if freq is None:
        return 1
    offset = _offset(freq, "season_length_for")
    if offset.n != 1:
        return 1
    return next((length for kinds, length in _SEASONS if isinstance(offset, kinds)), 1)


def _offset(freq, owner):
    try:
        return to_offset(freq)
    except (ValueError, TypeError) as exc:
        raise InvalidParameterError(
            f"The 'freq' parameter of {owner} must be a pandas offset alias such as 'D', 'MS' "
            f"or 'W-SAT', or None. Got {freq!r} instead ({exc})."
        ) from exc


@dataclasses.dataclass
class SeriesData:
    """Checked forecasting data: one or many regular series.

    Attributes
    ----------
    ids : list of str
        Series ids, in file order.
    y : list of pandas.Series
        Target values (float64) of each series, named by its id; the index
        (named ``"ds"``) is a :class:`pandas.DatetimeIndex` with its ``freq``
        set, or int64 time steps.
    X : list of pandas.DataFrame or None
        Covariates (float64) of each series on the same index; ``None`` when
        no covariates were asked for.
    freq : str or None
        The pandas offset alias of the datetimes; ``None`` for integer times.
    season_length : int
        As given, else :func:`season_length_for` of ``freq``.
    filled : int
        Target values filled by ``fill`` (missing values and inserted steps).
    frame : pandas.DataFrame
        The checked long table (after filling): columns ``unique_id``,
        ``ds``, ``y`` and the covariates.
    info : SourceInfo
    """

    ids: list
    y: list
    X: list
    freq: str
    season_length: int
    filled: int
    frame: pd.DataFrame
    info: SourceInfo

    def split(self, horizon):
        """Split off the last ``horizon`` steps of every series.

        Parameters
        ----------
        horizon : int
            Steps to hold out, >= 1.

        Returns
        -------
        train, test : SeriesData
            ``test`` holds the last ``horizon`` steps of each series, ``train``
            the steps before them.

        Raises
        ------
        DataFileError
            Naming the first series with fewer than ``horizon + 1`` steps.
        """
        horizon = check_int(horizon, "horizon", "SeriesData.split", minimum=1)
        self.check_length(horizon + 1, f"split(horizon={horizon}) ({horizon} to test, 1 to train)")
        return self._part(slice(None, -horizon)), self._part(slice(-horizon, None))

    def check_length(self, min_steps, why):
        """Raise if a series has fewer than ``min_steps`` steps.

        Parameters
        ----------
        min_steps : int
        why : str
            What needs them, e.g. ``"lookback 24 + horizon 12"``.

        Raises
        ------
        DataFileError
            Naming the first short series (its id and step count), the file and ``why``.
        """
        for series_id, values in zip(self.ids, self.y, strict=True):
            if len(values) < min_steps:
                raise file_error(
                    self.info.uri, None,
                    f"series {series_id!r} has {len(values)} step{'s' * (len(values) != 1)}; "
                    f"{why} needs at least "
                    f"{min_steps}",
                )

    def _part(self, steps):
        y = [values.iloc[steps] for values in self.y]
        X = None if self.X is None else [covariates.iloc[steps] for covariates in self.X]
        return dataclasses.replace(self, y=y, X=X, frame=_long_frame(self.ids, y, X))


def _long_frame(ids, y, X):
    frames = []
    for i, values in enumerate(y):
        frame = pd.DataFrame({"unique_id": ids[i], "ds": values.index, "y": values.to_numpy()})
        if X is not None:
            frame = frame.join(X[i].reset_index(drop=True))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


@dataclasses.dataclass
class _Options:
    id_column: str
    time_column: str
    target: str
    covariates: tuple
    freq: str
    fill: str
    season_length: int


def covariate_clash(name, id_column, time_column, target):
    """Why column ``name`` cannot be a covariate: ``"id"``, ``"time"`` or ``"target"`` if it is
    that column, ``"standard"`` if it is one of :data:`STANDARD_COLUMNS` (the names the reader
    gives those), else None."""
    for role, column in (("id", id_column), ("time", time_column), ("target", target)):
        if name == column:
            return role
    return "standard" if name in STANDARD_COLUMNS else None


def _options(owner, id_column, time_column, target, covariates, freq, fill, season_length):
    covariates = (covariates,) if isinstance(covariates, str) else tuple(covariates)
    for name in covariates:
        if covariate_clash(name, id_column, time_column, target):
            raise InvalidParameterError(
                f"The 'covariates' parameter of {owner} must not name the id, time or target "
                f"column nor the standard names {', '.join(STANDARD_COLUMNS)}. Got {name!r}."
            )
    check_choice(fill, "fill", owner, FILLS)
    if freq is not None:
        freq = _offset(freq, owner).freqstr
    if season_length is not None:
        season_length = check_int(season_length, "season_length", owner, minimum=1)
    return _Options(id_column, time_column, target, covariates, freq, fill, season_length)


def read_series(source, *, id_column="unique_id", time_column="ds", target="y", covariates=(),
                freq=None, fill=None, season_length=None):
    """Read and check forecasting data from a long table.

    The table (CSV, ``.csv.gz`` or Parquet) has one row per series and time
    step: the series id, the time, the target and any covariates. The rows of
    a series must be contiguous and sorted by time, on one regular grid.

    Parameters
    ----------
    source : str or path-like
        Local path, ``file://`` URI or fsspec URI (``https://``, ``s3://``...).
    id_column : str, default="unique_id"
        Column of series ids. When the file has no such column and this is
        the default, the file holds one series, whose id is ``target``.
    time_column : str, default="ds"
        Datetimes (anything :func:`pandas.to_datetime` reads) or integer
        steps (a column of digits only is read as integers). Times whose
        UTC offsets differ (``+01:00``, then ``+02:00`` after a
        daylight-saving change) are read as UTC instants.
    target : str, default="y"
        Column of the values to forecast (numbers).
    covariates : sequence of str, default=()
        Further numeric columns to keep, as ``SeriesData.X``.
    freq : str or None, default=None
        Pandas offset alias of the datetimes, checked against the data;
        ``None`` infers it per series (:func:`pandas.infer_freq`); all series
        must agree. Must be ``None`` for integer times.
    fill : {None, "interpolate", "ffill", "zero"}, default=None
        ``None`` refuses missing steps and values. Otherwise missing steps of
        the grid are inserted and missing values (empty, ``NaN``, ``NA``...)
        filled: linearly in time, with the last value before, or with 0. A
        missing value at the start (``"interpolate"``, ``"ffill"``) or end
        (``"interpolate"``) of a series cannot be filled and is an error.
    season_length : int or None, default=None
        Steps per season; ``None`` takes :func:`season_length_for` of the frequency.

    Returns
    -------
    SeriesData

    Raises
    ------
    DataFileError
        Naming the file, line (CSV) or row (Parquet) and column, for: a wrong
        extension or content, a missing file or column, values that are not
        numbers, missing values (without ``fill``), duplicate time steps,
        unsorted or non-contiguous rows, irregular steps, missing steps
        (without ``fill``), a ``freq`` that does not fit, series of differing
        frequencies, an empty table.
    InvalidParameterError
        For a bad ``fill``, ``freq``, ``season_length`` or ``covariates``.
    """
    options = _options("read_series", id_column, time_column, target, covariates, freq, fill,
                       season_length)
    with open_source(source, ("csv", "parquet"), "series") as opened:
        parts = list(_parts(opened, options, None))
        info = dataclasses.replace(parts[0].info, sha256=opened.sha256,
                                   n_rows=sum(p.info.n_rows for p in parts),
                                   n_items=sum(p.info.n_items for p in parts))
    if len(parts) == 1:
        return dataclasses.replace(parts[0], info=info)
    y = [values for part in parts for values in part.y]
    X = None if options.covariates == () else [c for part in parts for c in part.X]
    ids = [i for part in parts for i in part.ids]
    return dataclasses.replace(parts[0], ids=ids, y=y, X=X, filled=sum(p.filled for p in parts),
                               frame=_long_frame(ids, y, X), info=info)


def iter_series(source, *, id_column="unique_id", time_column="ds", target="y", covariates=(),
                freq=None, fill=None, season_length=None, chunk_rows=100_000):
    """Read forecasting data in chunks of complete series, with bounded memory.

    Parameters are those of :func:`read_series`, and:

    Parameters
    ----------
    chunk_rows : int, default=100_000
        Table rows read at a time. The series of a chunk's last id carries
        over to the next chunk, so a series longer than this is held whole.

    Yields
    ------
    SeriesData
        Complete series; every check of :func:`read_series` applies, across
        chunks too (contiguity, one frequency). ``info.sha256`` is ``""``;
        ``info.n_rows`` and ``info.n_items`` count that chunk's rows and series.
    """
    options = _options("iter_series", id_column, time_column, target, covariates, freq, fill,
                       season_length)
    chunk_rows = check_int(chunk_rows, "chunk_rows", "iter_series", minimum=1)
    with open_source(source, ("csv", "parquet"), "series") as opened:
        yield from _parts(opened, options, chunk_rows)


def _parts(opened, options, chunk_rows):
    """Yield a SeriesData for each chunk of complete series."""
    grid = Grid(opened, options)
    for chunk, keys in complete_groups(
        opened, _with_ids(opened, options, read_chunks(opened, chunk_rows), grid),
        options.id_column,
        "series",
    ):
        y_all = numbers(opened, chunk, options.target)
        X_all = {name: numbers(opened, chunk, name) for name in options.covariates}
        stamps, kind = times(opened, chunk, options.time_column)
        ids, y, X, filled = [], [], [], 0
        for start, stop in chunk.runs(keys):
            part = chunk.rows(start, stop)
            index, on_grid = grid.index(part, keys[start], stamps[start:stop], kind)
            frame = pd.DataFrame(
                {options.target: y_all[start:stop],
                 **{name: values[start:stop] for name, values in X_all.items()}},
                index=on_grid,
            ).reindex(index)
            filled += int(frame[options.target].isna().sum())
            frame = _filled(opened, part, keys[start], frame, options, kind)
            ids.append(str(keys[start]))
            y.append(frame[options.target].rename(str(keys[start])))
            X.append(frame[list(options.covariates)])
        X = X if options.covariates else None
        info = SourceInfo(opened.uri, opened.format, "", len(chunk.positions), len(ids),
                          chunk.schema)
        season = options.season_length or season_length_for(grid.freq)
        yield SeriesData(ids, y, X, grid.freq, season, filled, _long_frame(ids, y, X), info)


def _with_ids(opened, options, chunks, grid):
    """Chunks with their id column: the target's name for a file of one series (which
    ``grid`` is told, to say so when the series' times repeat)."""
    for chunk in chunks:
        columns = [options.time_column, options.target, *options.covariates]
        one_series = (options.id_column not in chunk.frame.columns
                      and options.id_column == "unique_id")
        require_columns(opened, chunk, columns if one_series else [options.id_column, *columns])
        if one_series:  # after the check, whose message lists the file's own columns
            chunk.frame[options.id_column] = options.target
            grid.no_id_column = options.id_column
        yield chunk


def _filled(opened, part, series_id, frame, options, kind):
    """Fill missing values (NaN) of one series' frame, or raise naming the first."""
    missing = frame.isna().to_numpy()
    if not missing.any():
        return frame
    if options.fill is None:  # no steps were inserted: frame rows are the file's rows
        row, col = (int(v[0]) for v in np.nonzero(missing))
        raise opened.error(part.where(row, frame.columns[col]),
                           "missing value (empty or NaN); pass fill= (--fill on the command "
                           "line) to fill it")
    if options.fill == "zero":
        return frame.fillna(0.0)
    if options.fill == "ffill":
        result = frame.ffill()
    else:
        result = frame.interpolate(method="time" if kind == "datetime" else "index",
                                   limit_area="inside")
    still = result.isna().to_numpy()
    if still.any():
        row, col = (int(v[0]) for v in np.nonzero(still))
        first = row == 0  # only the first and last steps of a series can be left missing
        raise opened.error(
            part.where(0 if first else len(part.positions) - 1, frame.columns[col]),
            f"series {str(series_id)!r} {'starts' if first else 'ends'} with a missing value: "
            f"fill={options.fill!r} has no value {'before' if first else 'after'} it",
        )
    return result
