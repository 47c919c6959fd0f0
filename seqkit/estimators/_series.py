"""Time series in and out of :class:`SequenceForecaster`: numpy or pandas, one or many.

A series comes in as a 1-D array or list (one target), a 2-D array
``(timesteps, targets)``, a ``pandas.Series`` or a ``pandas.DataFrame``
(columns are targets). A list of those is many series. Forecasts go out in
the form each series came in, pandas ones with the index continued into the
future.
"""

import typing

import numpy as np
import pandas as pd

from seqkit._validation import check_dense, check_sequences
from seqkit.exceptions import InputTypeError, InvalidInputError


class Form(typing.NamedTuple):
    """How one series was given, to return values the same way."""

    kind: str  # "1d", "2d", "series" or "frame"
    index: typing.Any = None  # the pandas index, for "series" and "frame"
    label: typing.Any = None  # the Series name or the DataFrame columns

    def wrap(self, values):
        """``values`` ``(steps, targets)`` following this series, in its form."""
        if self.kind == "1d":
            return values[:, 0]
        if self.kind == "2d":
            return values
        index = future_index(self.index, len(values))
        if self.kind == "series":
            return pd.Series(values[:, 0], index=index, name=self.label)
        return pd.DataFrame(values, index=index, columns=self.label)


def future_index(index, steps):
    """The ``steps`` labels that follow a pandas ``index``.

    Works for a ``PeriodIndex``, a ``DatetimeIndex`` with a regular frequency
    (set or inferable) and an integer index with a constant step.
    """
    if isinstance(index, pd.PeriodIndex):
        return pd.period_range(index[-1] + 1, periods=steps, freq=index.freq)
    if isinstance(index, pd.DatetimeIndex):
        freq = index.freq or (pd.infer_freq(index) if len(index) >= 3 else None)
        if freq is None:
            raise InvalidInputError(
                "A series' DatetimeIndex must have a regular frequency to continue into the "
                f"future. Got no frequency (dates {list(index[:3].astype(str))}...); set one, "
                "e.g. with y.asfreq('MS')."
            )
        return pd.date_range(index[-1], periods=steps + 1, freq=freq)[1:]
    if pd.api.types.is_integer_dtype(index):
        step = int(index[-1] - index[-2]) if len(index) > 1 else 1
        start = int(index[-1]) + step
        return pd.RangeIndex(start, start + step * steps, step)
    raise InputTypeError(
        "A pandas series must have a DatetimeIndex, PeriodIndex or integer index to continue "
        f"into the future. Got {type(index).__name__}."
    )


def _is_many(y):
    return isinstance(y, (list, tuple)) and len(y) > 0 and not np.isscalar(y[0])


def _values_and_form(series):
    if isinstance(series, pd.Series):
        return series.to_numpy(), Form("series", series.index, series.name)
    if isinstance(series, pd.DataFrame):
        return series.to_numpy(), Form("frame", series.index, series.columns)
    values = np.asarray(series)
    return values, Form("2d" if values.ndim == 2 else "1d")


def check_series(y, name, owner):
    """Validate one or many series.

    Returns
    -------
    values : list of ndarray of shape (timesteps, targets), float64
    forms : list of Form
    many : bool
        Whether ``y`` was a list of series.
    """
    if y is None:
        raise InvalidInputError(f"{owner} requires {name}, the series to model. Got None.")
    check_dense(y, name)
    many = _is_many(y)
    pairs = [_values_and_form(series) for series in (y if many else [y])]
    for i, (values, _) in enumerate(pairs):
        if values.ndim not in (1, 2):
            where = f"Series {i} of {name}" if many else name
            raise InvalidInputError(
                f"{where} must be 1-D (timesteps,) or 2-D (timesteps, targets). "
                f"Got shape {values.shape}."
            )
    sequences = check_sequences(
        [values for values, _ in pairs], name=name, owner=owner, dtype=np.float64
    )
    forms = [form for _, form in pairs]
    for form in forms:
        if form.index is not None:
            future_index(form.index, 1)
    values = [row[:n] for row, n in zip(sequences.values, sequences.lengths)]
    return values, forms, many


def check_covariates(X, rows, many, owner, what):
    """Validate covariates: one 2-D block per series, ``rows[i]`` rows each.

    ``what`` says which steps the rows must cover, for the error message.

    Returns
    -------
    list of ndarray of shape (rows[i], covariates), float64
    """
    values, _, x_many = check_series(X, "X", owner)
    if x_many != many or len(values) != len(rows):
        raise InvalidInputError(
            f"X must hold covariates for each series of y ({len(rows)} "
            f"{'series as a list' if many else 'series, not a list'}). "
            f"Got {len(values) if x_many else 'one series'}."
        )
    for i, (block, n) in enumerate(zip(values, rows)):
        if len(block) != n:
            where = f"X[{i}]" if many else "X"
            raise InvalidInputError(
                f"{where} must have {n} rows ({what}). Got {len(block)}."
            )
    return values
