"""The windows a forecaster holds out, and the split conformal intervals they calibrate.

:class:`~seqkit.estimators.SequenceForecaster` holds out the latest windows
of each series (:func:`split_windows`): the latest to calibrate its
prediction intervals, the latest of the others to validate; the absolute
errors on the calibration windows give the intervals' half-widths
(:func:`conformal_half_width`).
"""

import math

import numpy as np

from seqkit.estimators._training_windows import tail_split, take_windows, window_count
from seqkit.exceptions import InvalidInputError


def split_windows(per_series, calibration_fraction, validation_fraction, gap):
    """Training, validation and calibration windows of time-ordered windows per series.

    The latest ``calibration_fraction`` of each series' windows calibrate
    (those with all targets real), the latest ``validation_fraction`` of the
    rest validate, and ``gap`` windows before each tail belong to neither
    (:func:`tail_split`).

    Parameters
    ----------
    per_series : list of (x, targets)
        Each series' windows, oldest first; ``targets`` NaN where missing.
    calibration_fraction, validation_fraction : float in [0, 1)
    gap : int

    Returns
    -------
    train, validation, calibration : list of (x, targets)
        The non-empty parts, one per series at most.
    """
    train, validation, calibration = [], [], []
    for x, targets in per_series:
        stop, start = tail_split(len(targets), calibration_fraction, gap)
        val_stop, val_start = tail_split(stop, validation_fraction, gap)
        complete = start + np.flatnonzero(~np.isnan(targets[start:]).any(axis=1))
        calibration.append(take_windows(x, targets, complete))
        validation.append(take_windows(x, targets, slice(val_start, stop)))
        train.append(take_windows(x, targets, slice(0, val_stop)))
    return tuple([part for part in group if len(part[1])]
                 for group in (train, validation, calibration))


def training_head(steps, lookback, horizon, calibration_fraction, validation_fraction,
                  full_history=False):
    """The training windows that :func:`split_windows` leaves a series of ``steps`` steps
    (of :func:`~seqkit.estimators._training_windows.window_count` windows, ``gap = horizon - 1``);
    0 where its tails and gaps take them all."""
    gap = horizon - 1
    stop, _ = tail_split(window_count(steps, lookback, horizon, full_history),
                         calibration_fraction, gap)
    return tail_split(stop, validation_fraction, gap)[0]


_TOLERANCE = 1e-9  # so that e.g. (9 + 1) * 0.9 counts as 9 despite rounding


def conformal_half_width(residuals, coverage, owner, calibration_fraction):
    """The split conformal half-width per horizon step and target: the
    ``ceil((n + 1) * coverage)``-th smallest of the ``n`` calibration residuals
    ``(n, horizon, targets)`` (Vovk et al., 2005, *Algorithmic Learning in a
    Random World*; Lei et al., 2018, "Distribution-free predictive inference
    for regression", JASA 113(523)).

    Raises
    ------
    InvalidInputError
        If ``n`` is too small for ``coverage``.
    """
    n = len(residuals)
    rank = math.ceil((n + 1) * coverage - _TOLERANCE)
    if rank > n:
        remedy = ("Lower coverage, or fit on longer series or with a larger "
                  "calibration_fraction." if calibration_fraction else
                  "Fit with a calibration_fraction above 0, or on longer series.")
        raise InvalidInputError(
            f"coverage={coverage} needs at least "
            f"{math.ceil(coverage / (1 - coverage) - _TOLERANCE)} "
            f"calibration windows; {owner} kept {n} (calibration_fraction="
            f"{calibration_fraction}). {remedy}"
        )
    return np.sort(residuals, axis=0)[rank - 1]

