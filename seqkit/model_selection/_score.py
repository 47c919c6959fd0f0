"""Scores of a backtest: MASE, sMAPE and interval coverage, per window and overall."""

import numpy as np
import pandas as pd

from seqkit._validation import check_int
from seqkit.exceptions import InputTypeError, InvalidInputError
from seqkit.metrics import mean_absolute_scaled_error, symmetric_mean_absolute_percentage_error
from seqkit.model_selection._windows import series_axes

_OWNER = "backtest_score"
_NEEDED = ("unique_id", "ds", "cutoff", "y", "y_pred")


def backtest_score(results, y, *, season_length=1):
    """Score the forecasts of :func:`backtest`, per window and overall.

    Parameters
    ----------
    results : pandas.DataFrame
        What :func:`backtest` returned for ``y``.
    y : series or list of series
        The series given to :func:`backtest`: MASE scales each forecast by
        the in-sample error of the seasonal naive forecast on the steps up to
        its cut-off (Hyndman & Koehler, 2006).
    season_length : int >= 1, default 1
        ``m`` of the seasonal naive forecast in MASE.

    Returns
    -------
    pandas.DataFrame
        Indexed by window (``0`` the oldest, as the windows of each series
        are numbered from its first cut-off) then ``"overall"``; columns
        ``mase`` (:func:`seqkit.metrics.mean_absolute_scaled_error`, the mean
        over series and targets), ``smape``
        (:func:`seqkit.metrics.symmetric_mean_absolute_percentage_error`, of
        the window's steps), ``coverage`` (the share of ``y`` inside
        ``[y_lower, y_upper]``, when ``results`` has them) and ``n_forecasts``
        (series x targets forecast). ``overall`` averages over every series,
        window and target; its coverage and sMAPE are over every step.

    Raises
    ------
    InputTypeError
        If ``results`` is not a DataFrame.
    InvalidInputError
        If ``results`` is empty, lacks a column of :func:`backtest`, names a
        series or a cut-off that ``y`` does not hold, or has a cut-off with
        ``season_length`` steps or fewer up to it.
    """
    season_length = check_int(season_length, "season_length", _OWNER, minimum=1)
    if not isinstance(results, pd.DataFrame):
        raise InputTypeError(f"{_OWNER} takes the DataFrame that backtest returns. Got "
                             f"{type(results).__name__}.")
    missing = [name for name in _NEEDED if name not in results.columns]
    if missing:
        raise InvalidInputError(f"results must have the columns {list(_NEEDED)} of backtest. "
                                f"Got {list(results.columns)}, without {missing}.")
    if results.empty:
        raise InvalidInputError("results must hold at least one forecast of backtest. Got an "
                                "empty table.")
    values, ids, labels, targets, _ = series_axes(y, _OWNER)
    where = dict(zip(ids, range(len(ids))))
    intervals = {"y_lower", "y_upper"} <= set(results.columns)
    keys = ["unique_id", "cutoff"] + (["target"] if "target" in results.columns else [])
    rows = []
    for key, group in results.groupby(keys, sort=False):
        uid, cutoff = key[0], key[1]
        if uid not in where:
            raise InvalidInputError(f"results names the series {uid!r}, which y does not hold "
                                    f"(its series: {ids[:5]}...).")
        i = where[uid]
        column = targets.index(key[2]) if len(key) > 2 else 0
        try:
            seen = labels[i].get_loc(cutoff) + 1
        except KeyError:
            raise InvalidInputError(f"results has the cut-off {cutoff!r} for series {uid!r}, "
                                    "which its time axis in y does not hold.") from None
        if seen <= season_length:
            raise InvalidInputError(
                f"The MASE of a forecast needs more than season_length={season_length} steps "
                f"up to its cut-off, for the seasonal naive error it is scaled by. Got "
                f"{seen} for series {uid!r} at the cut-off {cutoff!r}: backtest with fewer "
                "windows, or a smaller season_length.")
        actual, predicted = group["y"].to_numpy(), group["y_pred"].to_numpy()
        row = {"unique_id": uid, "cutoff": cutoff,
               "mase": mean_absolute_scaled_error(actual, predicted, values[i][:seen, column],
                                                  season_length=season_length),
               "abs_ratio": _smape_terms(actual, predicted)}
        if intervals:
            row["inside"] = ((actual >= group["y_lower"].to_numpy())
                             & (actual <= group["y_upper"].to_numpy()))
        rows.append(row)
    table = pd.DataFrame(rows)
    table["window"] = table.groupby("unique_id")["cutoff"].rank(method="dense").astype(int) - 1
    out = {window: _summary(part, intervals) for window, part in table.groupby("window")}
    out["overall"] = _summary(table, intervals)
    frame = pd.DataFrame.from_dict(out, orient="index")
    frame.index.name = "window"
    return frame


def _smape_terms(actual, predicted):
    """The steps' terms of sMAPE, so that windows and the whole average over steps."""
    return [symmetric_mean_absolute_percentage_error([a], [p]) for a, p in zip(actual, predicted)]


def _summary(part, intervals):
    summary = {"mase": float(part["mase"].mean()),
               "smape": float(np.mean(np.concatenate(part["abs_ratio"].to_list())))}
    if intervals:
        summary["coverage"] = float(np.mean(np.concatenate(part["inside"].to_list())))
    summary["n_forecasts"] = len(part)
    return summary
