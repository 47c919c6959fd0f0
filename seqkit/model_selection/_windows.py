"""What the backtest, its score and the splitter share: series ids, time labels, cut-offs."""

import numbers

import numpy as np
import pandas as pd

from seqkit._validation import check_int
from seqkit.estimators._series import check_series
from seqkit.exceptions import InputTypeError, InvalidParameterError


def series_axes(y, owner):
    """Check one or many series ``y``; their values, ids, time labels and forms.

    Returns
    -------
    values : list of ndarray of shape (timesteps, targets)
    ids : list
        Each series' ``unique_id``: the names of many named ``pandas.Series``
        when they are all set and distinct, else the positions 0, 1, ...
    labels : list of pandas.Index
        Each series' time axis: its pandas index, else its positions.
    targets : list
        The target names: a ``DataFrame``'s columns, else ``0, 1, ...``.
    many : bool
    """
    values, forms, many = check_series(y, "y", owner)
    names = [form.label for form in forms]
    if all(form.kind == "series" for form in forms) and None not in names \
            and len(set(names)) == len(names) and many:
        ids = names
    else:
        ids = list(range(len(values)))
    labels = [form.index if form.index is not None else pd.RangeIndex(len(v))
              for form, v in zip(forms, values)]
    targets = list(forms[0].label) if forms[0].kind == "frame" else list(range(values[0].shape[1]))
    return values, ids, labels, targets, many


def check_windows(n_windows, step_size, horizon, owner):
    """``(n_windows, step_size)`` checked; ``step_size`` ``None`` becomes ``horizon``."""
    n_windows = check_int(n_windows, "n_windows", owner, minimum=1)
    step_size = check_int(step_size, "step_size", owner, minimum=1, allow_none=True)
    return n_windows, horizon if step_size is None else step_size


def cutoffs(length, horizon, n_windows, step_size):
    """Steps seen at each window's cut-off, oldest first: the last window ends with the series.

    Returns
    -------
    ndarray of shape (n_windows,), int
        ``length - horizon - (n_windows - 1 - w) * step_size`` for window ``w``.
    """
    return length - horizon - step_size * np.arange(n_windows - 1, -1, -1)


def check_training_room(first, need, n_windows, step_size, horizon, where, owner, needs):
    """Refuse windows that leave fewer than ``need`` steps before the first cut-off;
    ``needs`` names what sets ``need``, for the advice when even one window leaves too few."""
    if first < need:
        alone = first + step_size * (n_windows - 1)  # the first cut-off of one window
        remedy = ("lower n_windows or step_size, or give longer series" if alone >= need else
                  f"even one window leaves {max(alone, 0)}: give longer series, or a shorter "
                  f"horizon or {needs}")
        raise InvalidParameterError(
            f"The 'n_windows' parameter of {owner} leaves {where} {max(first, 0)} steps before "
            f"its first cut-off (n_windows={n_windows}, step_size={step_size}, horizon="
            f"{horizon}); the fit there needs at least {need}. Got n_windows={n_windows}; "
            f"{remedy}."
        )


def refit_every(refit, owner):
    """Windows between fits: ``refit=False`` -> 0 (fit once), ``True`` -> 1, an int k -> k."""
    if isinstance(refit, (bool, np.bool_)):
        return int(bool(refit))
    if not isinstance(refit, numbers.Integral):
        raise InputTypeError(
            f"The 'refit' parameter of {owner} must be a bool or an int >= 1. Got {refit!r} "
            "instead."
        )
    return check_int(refit, "refit", owner, minimum=1)
