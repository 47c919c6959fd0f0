"""The regular time grid that every series of a forecasting file must share."""

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from seqkit.io.tables import check_increasing

__all__ = ["Grid"]


def _inferred(stamps):
    """The frequency of ``stamps``, gaps allowed: what :func:`pandas.infer_freq` finds, else
    the coarsest common frequency whose grid from the first time holds every time, at least
    half of the steps between them being one step of the grid."""
    if len(stamps) < 2:
        return None
    if len(stamps) >= 3:
        with pd.option_context("future.infer_freq_returns_offset", True):
            offset = pd.infer_freq(stamps)
        if offset is not None:
            return offset.freqstr
    month, day = stamps[0].strftime("%b").upper(), stamps[0].strftime("%a").upper()
    step = pd.Timedelta(np.diff(stamps.asi8).min(), unit=stamps.unit)
    days = step / pd.Timedelta(days=1)
    smallest = to_offset(f"{int(days)}D" if days == int(days) else step).freqstr  # "D", not "1D"
    for freq in (f"YS-{month}", f"QS-{month}", "MS", f"YE-{month}", f"QE-{month}", "ME",
                 f"W-{day}", "B", smallest, "D", "h", "min", "s"):
        steps = np.diff(pd.date_range(stamps[0], stamps[-1], freq=freq).get_indexer(stamps))
        if (steps > 0).all() and (steps == 1).mean() >= 0.5:
            return freq
    return None


class Grid:
    """Checks each series' times against one regular grid and returns that grid.

    The first series read sets the kind of times (datetimes or integers) and
    the frequency (or integer step) when ``freq`` is not given; every later
    series must agree.
    """

    def __init__(self, opened, options):
        self.opened = opened
        self.column = options.time_column
        self.fill = options.fill
        self.given = options.freq is not None
        self.freq = options.freq
        self.kind = self.step = self.first = None
        self.no_id_column = None  # the id column's name, when the file lacks it (one series)

    def index(self, part, series_id, stamps, kind):
        """The full grid of one series and the index of its rows in the file.

        Parameters
        ----------
        part : Chunk
            The series' rows.
        series_id : str
        stamps : pandas.DatetimeIndex or numpy.ndarray
            Its times (see :func:`seqkit.io.tables.times`).
        kind : {"datetime", "integer", "number"}

        Returns
        -------
        grid, on_file : pandas.Index
            Every step from the first time to the last (a ``DatetimeIndex``
            with ``freq`` set, or int64), and the times of the rows; both named
            ``"ds"``. They differ only where steps are missing and ``fill`` is set.
        """
        series_id = str(series_id)
        self._check_kind(part, series_id, stamps, kind)
        owner = f"series {series_id!r}" + (
            "" if self.no_id_column is None else
            f" (the whole file, read as one series: it has no {self.no_id_column!r} column)")
        values = check_increasing(self.opened, part, self.column, owner, stamps)
        if kind == "datetime":
            grid = self._datetime_grid(part, series_id, stamps)
            on_file = pd.DatetimeIndex(stamps, name="ds")
        else:
            grid = self._integer_grid(part, series_id, values)
            on_file = pd.Index(values, name="ds")
        if len(grid) > len(on_file):
            self._gaps(part, series_id, stamps, grid)
        self.first = self.first or series_id
        return grid, on_file

    def _where(self, part, i):
        return part.where(i, self.column)

    def _check_kind(self, part, series_id, stamps, kind):
        if kind == "number":
            i = int(np.flatnonzero(stamps != np.round(stamps))[0])
            raise self.opened.error(
                self._where(part, i), f"times must be datetimes or integers; got {stamps[i]!r}"
            )
        if kind == "integer" and self.given:
            raise self.opened.error(
                self._where(part, 0),
                f"times are integers ({stamps[0]}), so the frequency {self.freq!r} does not "
                "apply; leave it out (freq=None in Python, no --freq on the command line)",
            )
        if self.kind is not None and kind != self.kind:
            raise self.opened.error(
                self._where(part, 0),
                f"series {series_id!r} has {kind} times; series {self.first!r} has {self.kind} "
                "times",
            )
        self.kind = kind

    def _datetime_grid(self, part, series_id, stamps):
        found = _inferred(stamps)
        if self.freq is None:
            if found is None:
                raise self.opened.error(
                    self._where(part, 0),
                    f"series {series_id!r} ({len(stamps)} step{'s' * (len(stamps) != 1)}) has "
                    "no regular frequency (irregular steps, or a single step); give the "
                    "frequency, a pandas offset alias such as 'D' or 'MS' (freq= in Python, "
                    "--freq on the command line)",
                )
            self.freq = found
        elif found is not None and found != self.freq and not self.given:
            raise self.opened.error(
                self._where(part, 0),
                f"series frequencies differ: series {series_id!r} is {found!r}, series "
                f"{self.first!r} is {self.freq!r}",
            )
        grid = pd.date_range(stamps[0], stamps[-1], freq=self.freq, name="ds")
        off = np.flatnonzero(~stamps.isin(grid))
        if off.size:
            i = int(off[0])
            raise self.opened.error(
                self._where(part, i),
                f"{stamps[i]} is not a step of the regular {self.freq!r} grid of series "
                f"{series_id!r} (irregular steps)",
            )
        return grid

    def _integer_grid(self, part, series_id, values):
        steps = np.diff(values)
        own = int(steps.min()) if steps.size else self.step or 1
        if self.step is not None and own != self.step:
            raise self.opened.error(
                self._where(part, 0),
                f"series steps differ: series {series_id!r} has steps of {own}, series "
                f"{self.first!r} of {self.step}",
            )
        self.step = own
        off = np.flatnonzero(steps % own)
        if off.size:
            i = int(off[0]) + 1
            raise self.opened.error(
                self._where(part, i),
                f"{values[i]} is not a step of the regular grid of series {series_id!r} (start "
                f"{values[0]}, step {own}; irregular steps)",
            )
        return pd.Index(np.arange(values[0], values[-1] + 1, own), name="ds")

    def _gaps(self, part, series_id, stamps, grid):
        if self.fill is not None:
            return
        missing = grid[~grid.isin(stamps)]
        j = int(np.searchsorted(np.asarray(stamps), np.asarray(missing[:1]))[0])
        raise self.opened.error(
            self._where(part, j),
            f"series {series_id!r} misses {len(missing)} step{'s' if len(missing) > 1 else ''} "
            f"of its regular grid, the first {missing[0]} (after {part.unit} "
            f"{part.positions[j - 1]}); pass fill= (--fill on the command line) to insert them",
        )
