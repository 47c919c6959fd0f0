"""Time series in and out of :class:`SequenceForecaster`: numpy or pandas, one or many.

A series comes in as a 1-D array or list (one target), a 2-D array
``(timesteps, targets)``, a ``pandas.Series`` or a ``pandas.DataFrame``
(columns are targets). A list of those is many series. Forecasts go out in
the form each series came in, pandas ones with the index continued into the
future.

A pandas index is the series' time axis and is checked as one
(:func:`check_index`): it must be a ``DatetimeIndex``, ``PeriodIndex`` or
integer index, oldest first, without duplicates, missing dates or gaps, and
in one time zone. Nothing is sorted or filled silently: each refusal says
how to fix the input. DataFrames are read by their columns' names
(:mod:`seqkit._feature_names`). The windows cut from the series are in
:mod:`seqkit.estimators._training_windows`.
"""

import typing
import warnings

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from seqkit._feature_names import check_feature_names, column_names_of
from seqkit._validation import check_dense, check_sequences
from seqkit.estimators._training_windows import last_steps
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


def _infer_freq(index):
    """``pd.infer_freq`` of ``index`` as an offset, or ``None`` (needs 3 labels or more)."""
    if len(index) < 3:
        return None
    with warnings.catch_warnings():
        # pandas 3 warns that infer_freq will return an offset; to_offset takes either.
        warnings.filterwarnings("ignore", message=".*infer_freq", category=Warning)
        try:
            freq = pd.infer_freq(index)
        except (TypeError, ValueError):
            return None
    return None if freq is None else to_offset(freq)


def future_index(index, steps):
    """The ``steps`` labels that follow a pandas ``index``.

    Works for a ``PeriodIndex``, a ``DatetimeIndex`` with a regular frequency
    (set or inferable) and an integer index with a constant step; see
    :func:`check_index` for the checks that say what else is wrong.
    """
    if isinstance(index, pd.PeriodIndex):
        return pd.period_range(index[-1] + 1, periods=steps, freq=index.freq)
    if isinstance(index, pd.DatetimeIndex):
        freq = index.freq or _infer_freq(index)
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


def _label(value):
    """A time label as a message shows it: dates without a midnight time."""
    if isinstance(value, pd.Timestamp) and value == value.normalize() and value.tz is None:
        return str(value.date())
    return str(value)


def _time_kind(index):
    """Whether ``index`` is a DatetimeIndex, PeriodIndex or integer index (else ``None``)."""
    if isinstance(index, pd.DatetimeIndex):
        return "datetime"
    if isinstance(index, pd.PeriodIndex):
        return "period"
    if not isinstance(index, pd.MultiIndex) and pd.api.types.is_integer_dtype(index):
        return "integer"
    return None


def _refuse_index_kind(index, where, expr):
    """Raise the error that says why ``index`` is no time axis, and how to make one."""
    head = f"The index of {where} must be a DatetimeIndex, PeriodIndex or integer index"
    inferred = index.inferred_type
    if inferred == "string":
        hint = f"{expr}.index = pd.to_datetime({expr}.index)"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                # pandas 2 gives an object index for mixed offsets, pandas 3 raises.
                mixed = not isinstance(pd.to_datetime(index), pd.DatetimeIndex)
            except (TypeError, ValueError) as exc:
                mixed = "timezone" in str(exc).lower()
                if not mixed:
                    hint += ", with format= if pandas cannot guess it"
        if mixed:
            hint = (f"they carry different time zone offsets, so convert them to one zone: "
                    f"{expr}.index = pd.to_datetime({expr}.index, utc=True)")
        raise InputTypeError(
            f"{head}. Got an index of strings ({', '.join(map(repr, index[:2]))}, ...); parse "
            f"it first: {hint}."
        )
    if inferred in ("datetime", "datetime64"):
        zones = [getattr(value, "tzinfo", None) for value in index]
        first = next((i for i, zone in enumerate(zones) if str(zone) != str(zones[0])), None)
        if first is not None:
            raise InvalidInputError(
                f"The index of {where} must be in one time zone. Got mixed time zones: "
                f"{_label(index[0])} ({zones[0] or 'naive'}) and, at position {first}, "
                f"{_label(index[first])} ({zones[first] or 'naive'}); convert them to one zone, "
                f"e.g. {expr}.index = pd.to_datetime({expr}.index, utc=True)."
            )
        raise InputTypeError(
            f"{head}. Got an object index of dates; convert it: "
            f"{expr}.index = pd.DatetimeIndex({expr}.index)."
        )
    if isinstance(index, pd.MultiIndex):
        raise InputTypeError(
            f"{head}. Got a MultiIndex with levels {list(index.names)}; for many series give a "
            f"list of them, one per id, e.g. {expr} = [s.droplevel(0) for _, s in "
            f"{expr}.groupby(level=0)]."
        )
    raise InputTypeError(f"{head}. Got {type(index).__name__} of {index.dtype}.")


def _first_gap(index, kind):
    """``(position, expected label, step)`` of the first irregular step of a sorted ``index``.

    ``None`` where no regular step can be told (a ``DatetimeIndex`` whose
    every stretch of three dates has a different frequency).
    """
    if kind == "period":
        step = index.freq
        expected = index[:-1] + 1
    elif kind == "integer":
        values = np.asarray(index, dtype=np.int64)
        steps, counts = np.unique(np.diff(values), return_counts=True)
        step = int(steps[np.argmax(counts)])
        expected = values[:-1] + step
    else:
        found = {}
        for start in range(0, len(index) - 2, max(1, (len(index) - 2) // 200)):
            freq = _infer_freq(index[start : start + 3])
            if freq is not None:
                found[freq] = found.get(freq, 0) + 1
        if not found:
            return None
        step = max(found, key=found.get)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a PerformanceWarning for some offsets
            expected = index[:-1] + step
    wrong = np.flatnonzero(np.asarray(expected != index[1:]))
    if not wrong.size:
        return None
    i = int(wrong[0]) + 1
    return i, expected[i - 1], step


def check_index(index, where, expr, *, continued=True):
    """Check a pandas ``index`` as the time axis of one series.

    Parameters
    ----------
    index : pandas.Index
    where : str
        The series in messages, e.g. ``"y"`` or ``"series 1 of y"``.
    expr : str
        The series in the code a message suggests, e.g. ``"y"`` or ``"y[1]"``.
    continued : bool, default True
        Whether the index is continued into the future (forecasts come back
        with it), so a ``DatetimeIndex`` needs a frequency even when too short
        to tell one.

    Raises
    ------
    InputTypeError
        If the index is no ``DatetimeIndex``, ``PeriodIndex`` or integer
        index (strings, object dates, floats, a ``MultiIndex``).
    InvalidInputError
        If it holds NaT, mixes time zones, holds a duplicate, is not oldest
        first, or has a gap or an irregular step.
    """
    kind = _time_kind(index)
    if kind is None:
        _refuse_index_kind(index, where, expr)
    rows = "labels" if kind == "integer" else "dates" if kind == "datetime" else "periods"
    if kind != "integer" and index.hasnans:
        i = int(np.flatnonzero(index.isna())[0])
        raise InvalidInputError(
            f"The index of {where} must not contain NaT (a missing date). Got NaT at position "
            f"{i}; fix or drop those rows, e.g. {expr} = {expr}[{expr}.index.notna()]."
        )
    row_numbers = (f" (if the labels are row numbers rather than times, renumber them: "
                   f"{expr} = {expr}.reset_index(drop=True))") if kind == "integer" else ""
    duplicated = index.duplicated()
    if duplicated.any():
        label = index[int(np.flatnonzero(duplicated)[0])]
        positions = np.flatnonzero(np.asarray(index == label))
        raise InvalidInputError(
            f"The index of {where} must not hold duplicate {rows}. Got the duplicate "
            f"{_label(label)} at positions {positions[0]} and {positions[1]}"
            f"{' (and more)' if duplicated.sum() > 1 else ''}; keep one row per step, e.g. "
            f"{expr} = {expr}.groupby(level=0).mean(){row_numbers}."
        )
    if not index.is_monotonic_increasing:
        if index.is_monotonic_decreasing:
            raise InvalidInputError(
                f"The index of {where} must increase with time (oldest first). Got a "
                f"newest-first index, from {_label(index[0])} down to {_label(index[-1])} (as "
                f"spreadsheets often export); sort it: {expr} = {expr}.sort_index(){row_numbers}."
            )
        i = int(np.flatnonzero(np.asarray(index[1:] < index[:-1]))[0]) + 1
        raise InvalidInputError(
            f"The index of {where} must increase with time (oldest first). Got {_label(index[i])} "
            f"at position {i} after {_label(index[i - 1])}; sort it: "
            f"{expr} = {expr}.sort_index(){row_numbers}."
        )
    if kind == "datetime" and (index.freq is not None or _infer_freq(index) is not None):
        return
    if len(index) < (3 if kind == "datetime" else 2):  # too short to tell a step
        if kind == "datetime" and continued:
            raise InvalidInputError(
                f"The index of {where} must have a frequency to continue into the future, and "
                f"pandas cannot infer one from fewer than 3 dates. Got {len(index)} dates "
                f"without a frequency ({', '.join(_label(d) for d in index)}); set it, e.g. "
                f"{expr} = {expr}.asfreq('MS')."
            )
        return
    gap = _first_gap(index, kind)
    if gap is None:
        if kind == "datetime":
            raise InvalidInputError(
                f"The index of {where} must be regular, at one frequency. Got dates with no "
                f"regular step ({', '.join(_label(d) for d in index[:4])}, ...); resample them "
                f"to one, e.g. {expr} = {expr}.resample('D').mean()."
            )
        return
    i, expected, step = gap
    if kind == "datetime":
        rule = f"at the frequency {step.freqstr!r}"
        fill = f"{expr} = {expr}.asfreq({step.freqstr!r}).interpolate()"
    elif kind == "period":
        rule = f"at the frequency {index.freqstr!r}"
        fill = (f"{expr} = {expr}.reindex(pd.period_range({expr}.index[0], {expr}.index[-1]))"
                ".interpolate()")
    else:
        rule = f"with a constant step of {step}"
        fill = (f"{expr} = {expr}.reindex(range({expr}.index[0], {expr}.index[-1] + 1, {step}))"
                ".interpolate()")
    what = "a gap" if index[i] > expected else "an irregular step"
    raise InvalidInputError(
        f"The index of {where} must be regular, {rule}. Got {what} after "
        f"{_label(index[i - 1])}: the next {rows[:-1]} is {_label(index[i])}, expected "
        f"{_label(expected)}; insert the missing steps and fill them, e.g. {fill}"
        f"{row_numbers}."
    )


def _tz_mismatch(forms, where):
    """The error for series whose DatetimeIndexes mix tz-aware and naive, else ``None``."""
    zones = [(i, form.index.tz) for i, form in enumerate(forms)
             if isinstance(form.index, pd.DatetimeIndex)]
    aware = [(i, tz) for i, tz in zones if tz is not None]
    naive = [i for i, tz in zones if tz is None]
    if not aware or not naive:
        return None
    (i, tz), j = aware[0], naive[0]
    return InvalidInputError(
        f"The series of {where} must all be time-zone aware or all naive. Got series {i} in "
        f"{tz} and series {j} naive; localize the naive one, e.g. "
        f"{where}[{j}] = {where}[{j}].tz_localize({str(tz)!r})."
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


def check_series(y, name, owner, *, continued=True):
    """Validate one or many series, pandas indexes included (:func:`check_index`).

    Parameters
    ----------
    y : series or list of series
    name : str
        The argument's name in messages (``"y"``, ``"X"``).
    owner : str
        Who asks, in messages.
    continued : bool, default True
        Whether forecasts continue the series' indexes (see :func:`check_index`).

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
    if isinstance(y, pd.DataFrame) and {"unique_id", "ds"} <= set(map(str, y.columns)):
        # Else read as one series whose targets are the ids and the dates.
        one = ("['y'].rename(uid)" if list(map(str, y.columns)) == ["unique_id", "ds", "y"]
               else ".drop(columns='unique_id')")
        raise InvalidInputError(
            f"{name} of {owner} looks like a long table (columns {list(y.columns)}): give one "
            f"series per item instead, each indexed by its dates, e.g. [part.set_index('ds')"
            f"{one} for uid, part in {name}.groupby('unique_id')]."
        )
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
    for i, form in enumerate(forms):
        if form.index is not None:
            where, expr = (f"series {i} of {name}", f"{name}[{i}]") if many else (name, name)
            check_index(form.index, where, expr, continued=continued)
    mismatch = _tz_mismatch(forms, name)
    if mismatch is not None:
        raise mismatch
    values = [row[:n] for row, n in zip(sequences.values, sequences.lengths)]
    return values, forms, many


def check_training_data(y, X, owner):
    """The series ``y`` and covariates ``X`` of a forecaster's fit, checked.

    Returns
    -------
    series, forms, many
        As :func:`check_series` gives them.
    covariates : list of ndarray or None
        As :func:`check_covariates` gives them (``None`` without ``X``).
    covariate_names : tuple of str or None
        The str columns that the DataFrames of ``X`` share (its ``feature_names_in_``).
    """
    series, forms, many = check_series(y, "y", owner)
    column_names_of(y, "y", "targets")  # refuses DataFrames whose columns differ
    covariates = names = None
    if X is not None:
        covariates = check_covariates(X, [len(s) for s in series], many, owner,
                                      "one per step of y", forms)
        names = column_names_of(X, "X", "covariates")
    check_training_lengths(series, many)
    return series, forms, many, covariates, names


def check_histories(y, fitted_forms, n_targets, owner):
    """Series ``y`` to forecast from, as :func:`check_series` gives them, with
    ``n_targets`` targets; DataFrames must have the columns of the DataFrames a fit
    took (``fitted_forms``), in the same order."""
    series, forms, many = check_series(y, "y", owner)
    # The names fit saw: columns that all its DataFrames share (per-series names give none).
    labels = {tuple(form.label) for form in fitted_forms if form.kind == "frame"}
    shared = len(labels) == 1 and all(form.kind == "frame" for form in fitted_forms)
    fitted = next(iter(labels)) if shared else None
    fitted = fitted if fitted and all(isinstance(label, str) for label in fitted) else None
    check_feature_names(fitted, column_names_of(y, "y", "targets"), "y", owner, "targets")
    check_width(series, n_targets, "targets", "y")
    return series, forms, many


def check_covariates(X, rows, many, owner, what, y_forms=()):
    """Validate covariates: one 2-D block per series, ``rows[i]`` rows each.

    ``what`` says which steps the rows must cover, for the error message.
    ``y_forms``, the forms of the series of ``y``: a pandas ``X`` with a
    ``DatetimeIndex`` must then be time-zone aware where ``y``'s is, naive
    where it is naive.

    Returns
    -------
    list of ndarray of shape (rows[i], covariates), float64
    """
    values, x_forms, x_many = check_series(X, "X", owner, continued=False)
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
    for i, (x_form, y_form) in enumerate(zip(x_forms, y_forms)):
        if not all(isinstance(form.index, pd.DatetimeIndex) for form in (x_form, y_form)):
            continue
        x_tz, y_tz = x_form.index.tz, y_form.index.tz
        if (x_tz is None) == (y_tz is None):
            continue
        where, expr = (f"series {i} of X", f"X[{i}]") if many else ("X", "X")
        of_y = f"series {i} of y" if many else "y"
        fix = f"{expr}.tz_localize({str(y_tz)!r})" if x_tz is None else f"{expr}.tz_localize(None)"
        rule = "naive" if y_tz is None else "time-zone aware"
        raise InvalidInputError(
            f"The index of {where} must be {rule} like the index of {of_y} "
            f"({y_tz or 'naive'}). Got {x_tz or 'a naive index'}; convert it, "
            f"e.g. {expr} = {fix}."
        )
    return values


def check_width(blocks, expected, what, name):
    """Refuse ``blocks`` (of argument ``name``) without ``expected`` columns (``what``)."""
    widths = sorted({block.shape[1] for block in blocks})
    if widths != [expected]:
        raise InvalidInputError(
            f"{name} has {widths[0] if len(widths) == 1 else widths} {what} per step, but the "
            f"model was fit with {expected}."
        )


def forecast_covariates(X, series, forms, many, *, owner, n_covariates, horizon, steps,
                        training_covariates, feature_names=None):
    """Covariates ``(series, steps, covariates)`` around each forecast origin.

    ``X`` is checked against what the forecaster was fit with: none when
    ``n_covariates`` is 0; else, after the training series
    (``training_covariates`` given), those of the ``horizon`` steps after
    them, or with histories ``series``, those of their steps and the
    ``horizon`` steps after. Returns ``None`` without covariates. DataFrames
    of ``X`` must have the columns ``feature_names`` (the names seen in fit,
    if any), in that order.
    """
    if n_covariates == 0:
        if X is not None:
            raise InvalidInputError(
                f"{owner} was fit without covariates, so X must be None. Got covariates."
            )
        return None
    if X is None:
        raise InvalidInputError(
            f"{owner} was fit with {n_covariates} covariates, so X must give them for the "
            f"{horizon} steps forecast. Got X=None."
        )
    check_feature_names(feature_names, column_names_of(X, "X", "covariates"), "X", owner,
                        "covariates")
    if training_covariates is not None:
        rows = [horizon] * len(series)
        what = f"the {horizon} steps after the training data"
    else:
        rows = [len(values) + horizon for values in series]
        what = f"the steps of y, then the {horizon} steps after it"
    future = check_covariates(X, rows, many, owner, what, forms)
    check_width(future, n_covariates, "covariates", "X")
    if training_covariates is not None:
        future = [np.concatenate([c, f]) for c, f in zip(training_covariates, future)]
    return np.stack([last_steps(block, steps) for block in future])


def as_given(values, forms, many):
    """Forecasts ``(series, steps, targets)`` in the forms the series came in (a list for
    many series)."""
    out = [form.wrap(v) for form, v in zip(forms, values)]
    return out if many else out[0]


def check_training_lengths(series, many):
    """Refuse a series of fewer than 2 steps: a training window needs one step of history and
    one target.

    Parameters
    ----------
    series : list of ndarray of shape (timesteps, targets)
        The values of ``y``, as :func:`check_series` returns them.
    many : bool
        Whether ``y`` was a list of series (for the message).
    """
    for i, values in enumerate(series):
        if len(values) < 2:
            where = f"Series {i} of y" if many else "y"
            raise InvalidInputError(
                f"{where} must have at least 2 steps: a training window needs one step of "
                f"history and one target. Got {len(values)} step."
            )


def check_mase_scales(series, season_length):
    """Refuse to score forecasts by -MASE when a training series is too short for its scale,
    the in-sample error of the seasonal naive forecast, naming ``score`` (the metric itself
    would name its ``y_train``, which the caller of ``score`` never gave)."""
    short = next((i for i, train in enumerate(series) if len(train) <= season_length), None)
    if short is not None:
        raise InvalidInputError(
            f"score is -MASE, which scales each series' error by the in-sample error of the "
            f"seasonal naive forecast with season_length={season_length}: that needs training "
            f"series of more than {season_length} steps, and series {short} was fit on "
            f"{len(series[short])}. Score the forecasts with another metric, or fit with a "
            "season_length shorter than the series."
        )


def check_continuations(y, n_series, many, horizon, owner):
    """The values of ``y``, the steps that followed each training series, for ``score``.

    Parameters
    ----------
    y : series or list of series
        As :func:`check_series` reads them (indexes not continued).
    n_series : int
        The training series, which ``y`` must continue one for one.
    many : bool
        Whether the training series came as a list (then so must ``y``).
    horizon : int
        The most steps per series, those the model forecasts.
    owner : str
        Who asks, in messages.

    Returns
    -------
    list of ndarray of shape (steps, targets), float64
    """
    actual, _, given_many = check_series(y, "y", owner, continued=False)
    if given_many != many or len(actual) != n_series:
        raise InvalidInputError(
            f"y must continue each of the {n_series} training series. Got {len(actual)} series."
        )
    steps = max(len(values) for values in actual)
    if steps > horizon:
        raise InvalidInputError(
            f"y must hold at most horizon={horizon} steps per series, the steps the model "
            f"forecasts. Got {steps}."
        )
    return actual
