"""The windows a forecaster trains on and reads, cut from its series.

The windows (:func:`training_windows`, :func:`last_steps`) are padded with
NaN steps where a series is shorter than they are: the networks mask such
steps, and missing targets are left out of the loss
(:func:`with_weights`). :func:`tail_split` keeps the latest windows for
validation and calibration.
"""

import math

import numpy as np

from seqkit.preprocessing import sliding_windows


def training_windows(values, lookback, horizon):
    """Every training window of one series, ``lookback`` steps read and ``horizon`` targets.

    A series of at least ``lookback + horizon`` steps gives each run of that
    many consecutive steps (:func:`~seqkit.preprocessing.sliding_windows`).
    A shorter one (at least 2 steps) gives a window for each forecast origin
    with at least one real step of history and one real target: padded at
    the start with NaN steps (the history before the series began) and, when
    the series has at most ``horizon`` steps, at the end (its missing targets).

    Parameters
    ----------
    values : ndarray of shape (timesteps, features)
    lookback, horizon : int

    Returns
    -------
    ndarray of shape (n_windows, lookback + horizon, features)
        :func:`window_count` windows, oldest first.
    """
    width = lookback + horizon
    if len(values) >= width:
        return sliding_windows(values, width)
    after = 0 if len(values) > horizon else horizon - 1
    pad = np.full((lookback - 1 + after, values.shape[1]), np.nan)
    return sliding_windows(np.concatenate([pad[: lookback - 1], values, pad[lookback - 1 :]]),
                           width)


def window_count(steps, lookback, horizon, full_history=False):
    """The number of :func:`training_windows` of a series of ``steps`` steps (at least 1).

    With ``full_history``, only windows whose ``lookback`` steps are all real count.
    """
    if steps >= lookback + horizon:
        return steps - lookback - horizon + 1
    if full_history:
        return 0
    return steps - horizon if steps > horizon else steps - 1


def last_steps(values, steps):
    """The last ``steps`` rows of ``values``, padded at the start with NaN rows where it has
    fewer."""
    missing = steps - len(values)
    if missing <= 0:
        return values[-steps:]
    return np.concatenate([np.full((missing, *values.shape[1:]), np.nan), values])


def tail_split(n, fraction, gap):
    """Split ``n`` time-ordered windows into a head and a tail of about ``fraction * n``.

    The ``gap`` windows before the tail belong to neither, so that no target
    step of the tail is a target of the head. Returns ``(head_stop, tail_start)``.
    """
    tail = math.floor(fraction * n)
    if tail == 0:
        return n, n
    return max(n - tail - gap, 0), n - tail


def take_windows(x, targets, rows):
    """The ``rows`` of windows ``(x, targets)``; ``x`` an array or a list of arrays."""
    return ([part[rows] for part in x] if isinstance(x, list) else x[rows]), targets[rows]


def with_weights(x, targets):
    """``(x, y)`` for :class:`~seqkit.quantiles.MaskedLoss`: ``y`` holds the targets (missing
    ones as 0), then a weight per target, 1 where it is real and 0 where it is missing."""
    real = ~np.isnan(targets)
    return x, np.concatenate([np.where(real, targets, 0.0), real], axis=1).astype(np.float32)


def stack_windows(parts):
    """One ``(x, targets)`` from a list of them."""
    xs, targets = zip(*parts)
    if isinstance(xs[0], list):
        x = [np.concatenate(group) for group in zip(*xs)]
    else:
        x = np.concatenate(xs)
    return x, np.concatenate(targets)
