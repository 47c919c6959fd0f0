"""Backtest windows of one series as scikit-learn cross-validation splits."""

import numpy as np

from seqkit._validation import check_int
from seqkit.estimators._series import check_series
from seqkit.exceptions import InvalidInputError
from seqkit.model_selection._windows import check_training_room, check_windows, cutoffs


class BacktestSplit:
    """Rolling-origin splits of one series' steps, for ``GridSearchCV`` and ``cross_val_score``.

    Like ``sklearn.model_selection.TimeSeriesSplit``, but the test part of
    each split is one forecast window of ``horizon`` steps and the windows
    are the last ``n_windows`` of the series, ``step_size`` apart, as in
    :func:`seqkit.model_selection.backtest` with ``refit=True``
    (Tashman, 2000; Hyndman & Athanasopoulos, FPP3 §5.10). Split ``w``
    trains on every step before its cut-off and tests on the ``horizon``
    steps after it, so a forecaster's own ``score`` (``-MASE`` of the
    forecast that continues its training series) scores it::

        search = GridSearchCV(SequenceForecaster(lookback=24, horizon=12),
                              {"units": [16, 32]}, cv=BacktestSplit(3, horizon=12))
        search.fit(y)          # y: one series; covariates as search.fit(y, X)

    scikit-learn indexes the series by step (``iloc`` for pandas), so one
    series (one or several targets) fits this; for many series, use
    :func:`~seqkit.model_selection.backtest` and
    :func:`~seqkit.model_selection.backtest_score`.

    Parameters
    ----------
    n_windows : int >= 1, default 3
        Splits.
    horizon : int >= 1, default 1
        Test steps per split: the forecaster's ``horizon``.
    step_size : int >= 1 or None, default None
        Steps between cut-offs; ``None`` is ``horizon``.
    min_train_size : int >= 1, default 1
        The fewest training steps a split may have (e.g. the forecaster's
        ``min_series_length()``); windows that leave fewer are refused.
    """

    def __init__(self, n_windows=3, *, horizon=1, step_size=None, min_train_size=1):
        self.n_windows = n_windows
        self.horizon = horizon
        self.step_size = step_size
        self.min_train_size = min_train_size

    def _checked(self):
        owner = type(self).__name__
        horizon = check_int(self.horizon, "horizon", owner, minimum=1)
        n_windows, step_size = check_windows(self.n_windows, self.step_size, horizon, owner)
        return n_windows, step_size, horizon

    def get_n_splits(self, X=None, y=None, groups=None):
        """The number of splits, ``n_windows``."""
        return self._checked()[0]

    def split(self, X, y=None, groups=None):
        """Yield ``(train, test)`` step positions of each window, oldest first.

        Parameters
        ----------
        X : one series
            Array ``(timesteps,)`` or ``(timesteps, targets)``, ``pandas.Series``
            or ``DataFrame`` (what the forecaster's ``fit`` takes as ``y``).
        y, groups : ignored

        Yields
        ------
        train : ndarray of shape (cutoff,)
        test : ndarray of shape (horizon,)

        Raises
        ------
        InvalidParameterError
            For ``n_windows``, ``horizon`` or ``step_size`` below 1, or
            windows that leave fewer than ``min_train_size`` training steps.
        InvalidInputError
            If ``X`` is many series.
        """
        owner = type(self).__name__
        n_windows, step_size, horizon = self._checked()
        need = check_int(self.min_train_size, "min_train_size", owner, minimum=1)
        values, _, many = check_series(X, "X", owner)
        if many:
            raise InvalidInputError(
                f"{owner} splits the steps of one series. Got a list of {len(values)} series; "
                "for many series use seqkit.model_selection.backtest."
            )
        cuts = cutoffs(len(values[0]), horizon, n_windows, step_size)
        check_training_room(int(cuts[0]), need, n_windows, step_size, horizon, "X", owner,
                            "min_train_size")
        for cut in cuts:
            yield np.arange(cut), np.arange(cut, cut + horizon)

    def __repr__(self):
        return (f"{type(self).__name__}(n_windows={self.n_windows}, horizon={self.horizon}, "
                f"step_size={self.step_size}, min_train_size={self.min_train_size})")
