"""Rolling-origin backtests of a forecaster over one or many series."""

import numpy as np
import pandas as pd
from sklearn.base import clone

from seqkit._validation import check_float
from seqkit.estimators._series import check_covariates
from seqkit.model_selection._windows import (
    check_training_room,
    check_windows,
    cutoffs,
    refit_every,
    series_axes,
)

_OWNER = "backtest"


def backtest(estimator, y, X=None, *, n_windows, step_size=None, refit=False, coverage=None):
    """Forecast the last ``n_windows`` windows of each series as if standing at their cut-offs.

    Rolling-origin evaluation (Tashman, 2000, "Out-of-sample tests of
    forecasting accuracy: an analysis and review", IJF 16(4); Hyndman &
    Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed., §5.10):
    window ``w`` has its cut-off ``(n_windows - 1 - w) * step_size + horizon``
    steps before the end of each series, so the last window ends with the
    series. The forecast of a window is made from the steps before its
    cut-off only, by a model fit on steps before (at most) that cut-off: no
    step after a window's cut-off is ever seen by the fit that forecasts it.

    Parameters
    ----------
    estimator : SequenceForecaster
        Fit or not; it is never changed: every fit is of a clone of it
        (``sklearn.base.clone``), with ``checkpoint_dir=None`` (each fit sees
        other data).
    y : series or list of series
        As :meth:`SequenceForecaster.fit` takes them: a 1-D or 2-D array,
        a ``pandas.Series`` or ``DataFrame``, or a list of those. Series
        may differ in length; each is windowed from its own end.
    X : covariates or None
        Known covariates, one row per step of ``y`` (as in ``fit``).
    n_windows : int >= 1
        Windows per series.
    step_size : int >= 1 or None, default None
        Steps between consecutive cut-offs; ``None`` is the forecaster's
        ``horizon`` (windows side by side). Below the horizon, windows overlap.
    refit : bool or int >= 1, default False
        ``False``: one fit, on the steps before the first cut-off, forecasts
        every window (the cheapest: one fit, then one batched ``predict`` per
        window). ``True``: a fit on the steps before each window's cut-off.
        An int ``k``: a fit every ``k`` windows, used until the next.
    coverage : float in (0, 1) or None
        Add the forecaster's conformal prediction interval at this coverage
        (:meth:`SequenceForecaster.predict_interval`).

    Returns
    -------
    pandas.DataFrame
        One row per series, window and step forecast (and target, when the
        series have several, in a ``target`` column), oldest window first:
        ``unique_id`` (the names of many named ``pandas.Series`` when all are
        set and distinct, else the positions 0, 1, ...), ``ds`` (the step's
        time label; its position for arrays), ``cutoff`` (the label or
        position of the last step the forecast saw), ``y``, ``y_pred`` and,
        with ``coverage``, ``y_lower`` and ``y_upper``.

    Raises
    ------
    InvalidParameterError
        ``n_windows`` < 1, ``step_size`` < 1, ``refit`` < 1, ``coverage``
        outside (0, 1), or windows that leave a series fewer steps before its
        first cut-off than the forecaster needs to fit
        (:meth:`SequenceForecaster.min_series_length`).
    InputTypeError, InvalidInputError
        For series and covariates the forecaster refuses.

    Notes
    -----
    Memory holds one window's inputs at a time (each series' last
    ``lookback`` steps before the cut-off, or all of them where it has
    fewer) besides the result. Each window's
    forecasts come from one ``predict(y=[...])`` call over all series.
    """
    template = clone(estimator).set_params(checkpoint_dir=None)
    need = template.min_series_length()  # checks the forecaster's parameters
    horizon = template.horizon
    n_windows, step_size = check_windows(n_windows, step_size, horizon, _OWNER)
    every = refit_every(refit, _OWNER)
    coverage = check_float(coverage, "coverage", _OWNER, low=0.0, high=1.0,
                           low_inclusive=False, high_inclusive=False, allow_none=True)
    values, ids, labels, targets, many = series_axes(y, _OWNER)
    covariates = None if X is None else check_covariates(
        X, [len(v) for v in values], many, _OWNER, "one per step of y")
    cuts = np.stack([cutoffs(len(v), horizon, n_windows, step_size) for v in values])
    for i, first in enumerate(cuts[:, 0]):
        check_training_room(int(first), need, n_windows, step_size, horizon,
                            f"series {i} of y" if many else "y", _OWNER,
                            "a model that needs fewer steps (a shorter lookback)")
    shape = (len(values), n_windows, horizon, len(targets))
    outputs = {"y_pred": np.empty(shape)}
    if coverage is not None:
        outputs.update(y_lower=np.empty(shape), y_upper=np.empty(shape))
    model = None
    for w in range(n_windows):
        if model is None or (every and w % every == 0):
            model = _fit(template, values, covariates, cuts[:, w])
        # A cut-off before the lookback: the whole history (predict pads it at the start).
        lookback = model.lookback_
        histories = [v[max(c - lookback, 0):c] for v, c in zip(values, cuts[:, w])]
        future = None if covariates is None else [
            block[max(c - lookback, 0):c + horizon] for block, c in zip(covariates, cuts[:, w])]
        outputs["y_pred"][:, w] = model.predict(y=histories, X=future)
        if coverage is not None:
            lower, upper = model.predict_interval(coverage, y=histories, X=future)
            outputs["y_lower"][:, w], outputs["y_upper"][:, w] = lower, upper
    return _frame(values, ids, labels, targets, cuts, horizon, outputs)


def _fit(template, values, covariates, cuts):
    """A clone of ``template`` fit on each series' steps before its cut-off ``cuts[i]``."""
    model = clone(template)
    series = [v[:c] for v, c in zip(values, cuts)]
    if covariates is None:
        return model.fit(series)
    return model.fit(series, [block[:c] for block, c in zip(covariates, cuts)])


def _frame(values, ids, labels, targets, cuts, horizon, outputs):
    """The long result table, one block of rows per series (targets innermost)."""
    n = len(targets)
    frames = []
    for i, (series, index) in enumerate(zip(values, labels)):
        steps = (cuts[i][:, None] + np.arange(horizon)).ravel()
        rows = np.repeat(steps, n)
        frame = pd.DataFrame({
            "unique_id": np.full(len(rows), ids[i], dtype=object),
            "ds": index[rows], "cutoff": index[np.repeat(cuts[i] - 1, horizon * n)],
        })
        if n > 1:
            frame["target"] = np.tile(np.asarray(targets, dtype=object), len(steps))
        frame["y"] = series[steps].ravel()
        for name, array in outputs.items():
            frame[name] = array[i].ravel()
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    if all(isinstance(i, int) for i in ids):
        frame["unique_id"] = frame["unique_id"].astype(np.int64)
    return frame
