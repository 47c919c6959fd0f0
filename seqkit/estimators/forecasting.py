"""SequenceForecaster: the next values of one or many series, with prediction intervals."""

import warnings

import numpy as np
from sklearn.utils.validation import check_is_fitted

from seqkit import networks
from seqkit._feature_names import set_feature_names
from seqkit._validation import (
    DEPRECATED,
    check_choice,
    check_float,
    check_int,
    renamed_parameter,
)
from seqkit.estimators._base import BaseSequenceEstimator, estimator_init
from seqkit.estimators._budget import AUTO, check_auto_int
from seqkit.estimators._conformal import conformal_half_width, split_windows, training_head
from seqkit.estimators._quantiles import QuantileForecasts
from seqkit.estimators._series import (
    as_given,
    check_continuations,
    check_histories,
    check_mase_scales,
    check_training_data,
    forecast_covariates,
)
from seqkit.estimators._training_windows import (
    last_steps,
    stack_windows,
    training_windows,
    with_weights,
)
from seqkit.exceptions import InvalidInputError
from seqkit.export.spec import ForecastSpec, ServingSpec
from seqkit.metrics import mean_absolute_scaled_error
from seqkit.preprocessing import (
    SequenceScaler,
    as_served,
    seasonal_offset,
    standardize,
    unstandardize,
    window_affine,
)

SCALINGS = ("window", "standard", None)
RELATIVE_TO = ("seasonal_naive", "last")
MIN_LOOKBACK = 4
"""The fewest steps ``lookback="auto"`` reads: ``max(season_length, MIN_LOOKBACK)``."""


class SequenceForecaster(QuantileForecasts, BaseSequenceEstimator):
    """Recurrent network that forecasts the next ``horizon`` values of time series.

    Strategy: direct multi-output. The network reads the last ``lookback``
    steps (targets and covariates) and gives all ``horizon`` next values at
    once; known future covariates enter as a side input. Many series train
    one global model on the windows of all of them.

    Short series: a history shorter than ``lookback`` is padded at the start
    with NaN steps, which the network masks (its states pass them by
    unchanged), so a padded window gives what the shorter window alone
    would. A series of ``lookback + horizon`` steps or more trains on its
    windows of full history; a shorter one (2 steps at least) on every window
    with at least one real step of history and one real target, padded at the
    start, and, for a series of at most ``horizon`` steps, with its targets
    beyond the series' end left out of the loss
    (:class:`~seqkit.quantiles.MaskedLoss`).

    Prediction intervals are split conformal: the last
    ``calibration_fraction`` of each series' windows is held out of a first
    training; the absolute errors of that model there, per horizon step and
    target (in the units of ``scaling``), give the interval half-widths. The
    network is then trained again on all windows, the latest being the most
    like the future (held out, they doubled the error on the short series of
    ``benchmarks/accuracy.py``). The coverage is the asked one on average
    when the future behaves like the calibration tail (exchangeable errors)
    and the final network errs as the first did (trained on more, it errs
    less: the intervals lean wide); it is not conditional on anything.

    With ``loss="quantile"`` the network forecasts ``quantiles`` instead,
    trained on the pinball loss (Koenker & Bassett, 1978) and never crossing
    (:mod:`seqkit.quantiles`); :meth:`predict_quantiles` gives them and
    :meth:`predict` the median.

    Parameters
    ----------
    lookback : int or "auto", default "auto"
        Steps of history the network reads; a shorter history is padded at
        the start (see above). ``"auto"``: ``season_length``, at least
        :data:`MIN_LOOKBACK` (4); on the panels of ``benchmarks/accuracy.py``
        it beat 2 seasons and 24 steps, most of all on short series, whose
        forecasts then read windows like those they trained on. Fitting needs
        each series to have at least 2 steps; forecasting 1.
    horizon : int, default 1
        Steps forecast at once; ``predict`` gives at most this many.
    scaling : {"window", "standard", None}, default "window"
        How targets are scaled for the network. ``"window"``: each window
        relative to its last value, divided by its mean absolute change from
        step to step (at least 1% of its mean absolute level,
        :func:`~seqkit.preprocessing.window_affine`), and the forecast
        relative to ``relative_to``, so a network that outputs 0 forecasts it
        (suits trends, seasons, and many series of different levels);
        ``"standard"``: the mean and standard deviation of all training data;
        ``None``: as given.
        Covariates are standardised unless ``None``. Statistics come from the
        training data only.
    relative_to : {"seasonal_naive", "last"}, default "seasonal_naive"
        With ``scaling="window"`` (ignored otherwise), what the network's
        forecast is relative to: ``"seasonal_naive"``, the seasonal naive
        forecast of ``season_length``
        (:func:`~seqkit.preprocessing.seasonal_offset`; the last value for
        ``season_length=1``); ``"last"``, the window's last value, for
        series whose ``season_length`` is a cycle of varying length rather
        than a calendar season (sunspots' ~11 years). ``score`` keeps the
        MASE of ``season_length`` either way.
    calibration_fraction : float in [0, 1), default 0.2
        Fraction of each series' windows (the latest) held out to calibrate
        ``predict_interval``; 0 trains on all windows and gives no intervals.
        Windows of the tail with targets beyond the series' end calibrate
        nothing.
    loss : {"mae", "mse", "quantile"}, default "mae"
        ``"mae"``: point forecasts trained on the mean absolute error (in
        the units of ``scaling``), the error the MASE of :meth:`score`
        averages, minimised by the median; ``"mse"``: point forecasts
        trained on the mean squared error, minimised by the mean.
        ``"quantile"``: quantile forecasts of the levels ``quantiles``,
        trained on their mean pinball loss. On the panels of
        ``benchmarks/accuracy.py`` (mean MASE, seeds 0-2), ``"mae"`` against
        ``"mse"``: us_employment 0.478 against 0.515 (ETS 0.512-0.522),
        visnights_short 0.989 against 1.000, visnights 1.136 against 1.116,
        us_employment_short 2.111 against 2.116; below ETS and Theta on
        every panel only with ``"mae"``.
    quantiles : sequence of float in (0, 1), default (0.1, 0.5, 0.9)
        The levels of a ``loss="quantile"`` model, increasing, none repeated,
        holding 0.5 (the median, which :meth:`predict` returns); :meth:`fit`
        refuses others. Unused with a point loss.
    season_length : int, default 1
        Season length ``m``: of the seasonal naive forecast that
        ``scaling="window"`` forecasts relative to (with
        ``relative_to="seasonal_naive"``), of ``lookback="auto"``,
        and of the MASE that :meth:`score` returns (the name
        :mod:`seqkit.baselines` and :mod:`seqkit.metrics` use too).
    seasonal_period : int
        Deprecated: the former name of ``season_length``. Setting it makes
        :meth:`fit` warn (``FutureWarning``); setting both is an error.
    cell, units, num_layers, bidirectional, dropout, epochs, batch_size, \
learning_rate, global_clipnorm, validation_fraction, early_stopping, n_iter_no_change, \
tbptt_steps, random_state, verbose
        As in :class:`~seqkit.estimators._base.BaseSequenceEstimator`. The
        validation windows are the latest of each series' training windows.

    Attributes
    ----------
    n_targets_ : int
        Values per step of each series.
    n_features_in_ : int
        Covariates per step (0 without ``X``).
    feature_names_in_ : ndarray of shape (n_features_in_,), object
        The covariates' column names, when ``X`` was given as DataFrames
        sharing str columns. Defined only when fit on those. ``X`` given as
        DataFrames after fit must have these columns in this order; so must
        the targets' DataFrames of ``y`` have the columns ``y`` had in fit.
    season_length_ : int
        The season length :meth:`score` uses.
    lookback_ : int
        The steps the network reads (``lookback`` resolved).
    window_rule_ : {"step", "spread"}
        The ``rule`` of :func:`~seqkit.preprocessing.window_affine` of window
        scaling (``"spread"`` for forecasters fitted before ``"step"``).
    naive_season_ : int
        The season of the seasonal naive forecast that window scaling
        forecasts relative to: 1, the last value, with ``relative_to="last"``
        and for forecasters fitted before ``"step"``.
    quantiles_ : tuple of float or None
        The quantile levels forecast; ``None`` for a point model.
    residuals_ : ndarray of shape (n_calibration, horizon, n_targets)
        Absolute calibration errors in scaled units.
    series_ : list of ndarray of shape (timesteps, n_targets)
        The training series, continued by ``predict()`` and used by ``score``.
    target_scaler_, covariate_scaler_ : SequenceScaler or None
        Training statistics of the targets and covariates.
    model_ : keras.Model
    history_ : dict of str to list of float

    Examples
    --------
    >>> index = pd.date_range("2000", periods=120, freq="MS")
    >>> y = pd.Series(np.sin(np.arange(120) / 4), index=index)
    >>> f = SequenceForecaster(lookback=12, horizon=3, epochs=5, random_state=0).fit(y)
    >>> f.predict().index[0]
    Timestamp('2010-01-01 00:00:00')
    """

    __init__ = estimator_init(
        lookback=AUTO, horizon=1, scaling="window", relative_to="seasonal_naive",
        calibration_fraction=0.2, season_length=1, seasonal_period=DEPRECATED, loss="mae",
        quantiles=(0.1, 0.5, 0.9),
    )

    def _check_params(self):
        super()._check_params()
        owner = type(self).__name__
        check_auto_int(self.lookback, "lookback", owner)
        for name in ("horizon", "season_length"):
            check_int(getattr(self, name), name, owner, minimum=1)
        if not (isinstance(self.seasonal_period, str) and self.seasonal_period == DEPRECATED):
            check_int(self.seasonal_period, "seasonal_period", owner, minimum=1)
        check_choice(self.scaling, "scaling", owner, SCALINGS)
        check_choice(self.relative_to, "relative_to", owner, RELATIVE_TO)
        check_float(
            self.calibration_fraction, "calibration_fraction", owner,
            low=0.0, high=1.0, high_inclusive=False,
        )
        return self._checked_levels(owner)

    # ------------------------------------------------------------------ windows

    def _affine(self, inputs):
        """``(loc, scale, offset)`` of each window from its inputs, as the exported graph
        computes them: ``loc`` and ``scale`` ``(windows, 1, targets)``
        (:func:`seqkit.preprocessing.window_affine`), and the seasonal naive forecast less the
        last value, ``(windows, horizon, targets)``
        (:func:`seqkit.preprocessing.seasonal_offset`), with window scaling; else the
        training statistics and no offset."""
        if self.scaling == "window":
            inputs = inputs.astype(np.float64)
            loc, scale = window_affine(inputs, self.window_rule_)
            offset = seasonal_offset(inputs, self.naive_season_, self.horizon)
            return np.asarray(loc), np.asarray(scale), np.asarray(offset)
        return (self.target_scaler_.mean_[None, None], self.target_scaler_.scale_[None, None],
                np.zeros((len(inputs), self.horizon, inputs.shape[2])))

    def _network_inputs(self, inputs, covariates):
        """Scaled network input for windows ``inputs`` ``(n, lookback, targets)``.

        ``covariates`` is ``None`` or ``(n, lookback + horizon, covariates)``:
        the steps read, then the steps forecast. Returns the input and the
        windows' ``(loc, scale, offset)`` (:meth:`_affine`).
        """
        inputs = as_served(inputs)  # as the export reads them
        affine = self._affine(inputs)
        sequence = standardize(inputs, *affine[:2])
        if covariates is None:
            return sequence.astype(np.float32), affine
        covariates = standardize(as_served(covariates), self.covariate_scaler_.mean_,
                                 self.covariate_scaler_.scale_)
        sequence = np.concatenate([sequence, covariates[:, : self.lookback_]], axis=2)
        future = covariates[:, self.lookback_ :].reshape(len(covariates), -1)
        return [sequence.astype(np.float32), future.astype(np.float32)], affine

    def _windows(self, series, covariates):
        """Every training window of one series (:func:`~seqkit.estimators._series.
        training_windows`): network input and scaled targets, NaN beyond the series' end."""
        windows = training_windows(series, self.lookback_, self.horizon)
        blocks = None if covariates is None else training_windows(
            covariates, self.lookback_, self.horizon)
        x, (loc, scale, offset) = self._network_inputs(windows[:, : self.lookback_], blocks)
        if blocks is not None:  # the covariates of missing targets: 0, their training mean
            x[1] = np.nan_to_num(x[1], nan=0.0)
        targets = standardize(windows[:, self.lookback_ :] - offset, loc, scale)
        return x, targets.reshape(len(windows), -1).astype(np.float32)

    def _lookback(self):
        """``lookback``, or for ``"auto"`` the season length, at least :data:`MIN_LOOKBACK`."""
        if self.lookback != AUTO:
            return self.lookback
        return max(MIN_LOOKBACK, renamed_parameter(
            self.season_length, self.seasonal_period, "season_length", "seasonal_period",
            type(self).__name__, default=1)[0])

    def min_series_length(self, full_history=False):
        """The fewest steps from which on every series keeps a training window in :meth:`fit`.

        A series of ``n >= lookback + horizon`` steps makes ``n - lookback -
        horizon + 1`` windows; a shorter one (padded, see the class notes)
        ``n - horizon``, or ``n - 1`` when ``n <= horizon``. The latest
        ``calibration_fraction`` and ``validation_fraction`` of a series'
        windows, and ``horizon - 1`` windows before each of those tails (so
        that no target step is shared), are held out of training. Once a
        series has a tail to hold out, the gaps can leave no training window
        at all, so some lengths below the one returned work and others do
        not; every length from it on works. Where no tail empties a series it
        is 2, the fewest steps :meth:`fit` takes.

        Parameters
        ----------
        full_history : bool, default False
            Count only windows without padding (``lookback`` real steps of
            history): the fewest steps from which on every series keeps such
            a window, at least ``lookback + horizon``.

        Returns
        -------
        int
        """
        self._check_params()
        last_failing = 1
        # Beyond this many windows the training head (about 0.72 of them) outgrows both gaps.
        lookback = self._lookback()
        for steps in range(2, lookback + 5 * self.horizon + 20):
            if training_head(steps, lookback, self.horizon, self.calibration_fraction,
                             self.validation_fraction, full_history) < 1:
                last_failing = steps
        return last_failing + 1

    def training_windows(self, series_index=0):
        """The network's inputs and scaled targets for every training window of one fitted series.

        For diagnostics on ``model_``, e.g.
        :func:`seqkit.training.gradient_norms_over_time`.

        Parameters
        ----------
        series_index : int, default 0
            Which of the series given to :meth:`fit`.

        Returns
        -------
        tuple
            ``(x, targets)`` as the network was trained on them; a target
            beyond the series' end (left out of the loss) is NaN.
        """
        check_is_fitted(self)
        covariates = None if self.covariates_ is None else self.covariates_[series_index]
        return self._windows(self.series_[series_index], covariates)

    # ------------------------------------------------------------------ fit

    def fit(self, y, X=None):
        """Train on one or many series ``y``, with optional covariates ``X``.

        Parameters
        ----------
        y : series or list of series
            One series: a 1-D array or list ``(timesteps,)``, a 2-D array
            ``(timesteps, targets)``, a ``pandas.Series`` or a
            ``pandas.DataFrame`` (columns are targets) whose index is a
            ``DatetimeIndex`` with a regular frequency, a ``PeriodIndex`` or
            an integer index, oldest first, without duplicates, NaT or gaps,
            in one time zone (checked, never sorted or filled: the error says
            how to fix the index). Many series: a list of those (same number
            of targets, lengths may differ, all tz-aware or all naive), fit as
            one global model. Each series needs at least 2 steps (one of
            history and one target); one shorter than ``lookback + horizon``
            trains on windows padded at the start (see the class notes).
        X : covariates or None
            Known covariates aligned with ``y`` step for step (rows by
            position): for one series a 1-D or 2-D array, ``Series`` or
            ``DataFrame`` with its length; for many series a list of those.
            A pandas index of ``X`` is checked as ``y``'s is, and is tz-aware
            where ``y``'s is.

        Returns
        -------
        self
        """
        owner = type(self).__name__
        levels = self._check_params()
        season_length, renamed = renamed_parameter(
            self.season_length, self.seasonal_period, "season_length", "seasonal_period", owner,
            default=1,
        )
        if renamed:
            warnings.warn(renamed, FutureWarning, stacklevel=2)
        series, self.forms_, self.many_, covariates, names = check_training_data(y, X, owner)
        set_feature_names(self, names)
        self.series_, self.covariates_ = series, covariates
        self.season_length_, self.quantiles_ = season_length, levels
        self.lookback_, self.window_rule_ = self._lookback(), "step"
        self.naive_season_ = season_length if self.relative_to == "seasonal_naive" else 1
        self.n_targets_ = series[0].shape[1]
        self.n_features_in_ = 0 if covariates is None else covariates[0].shape[1]
        self.target_scaler_ = SequenceScaler(
            with_mean=self.scaling is not None, with_std=self.scaling is not None
        ).fit(series)
        self.covariate_scaler_ = None if covariates is None else SequenceScaler(
            with_mean=self.scaling is not None, with_std=self.scaling is not None
        ).fit(covariates)
        train, validation, calibration = self._split_windows(
            series, covariates, self.calibration_fraction)
        if not train:
            raise InvalidInputError(
                f"The series are too short to leave training windows after holding out "
                f"calibration_fraction={self.calibration_fraction} and validation_fraction="
                f"{self.validation_fraction} of them. Give longer series or lower the fractions."
            )
        # With calibration windows, this network only calibrates (no checkpoint); the final one
        # trains on all windows (see the class notes).
        self._train(train, validation, **({"checkpoint_dir": None} if calibration else {}))
        self.residuals_ = np.zeros((0, self.horizon, self.n_targets_))
        if calibration:
            x, targets = stack_windows(calibration)
            errors = np.abs(targets - self._scaled_points(x))
            self.residuals_ = errors.reshape(-1, self.horizon, self.n_targets_).astype(np.float64)
            train, validation, _ = self._split_windows(series, covariates, 0.0)
            self._train(train, validation)
        if self.early_stopping and not validation:
            warnings.warn(
                f"The series are too short to hold out validation windows for early stopping "
                f"(validation_fraction={self.validation_fraction}); {owner} trained for all "
                f"{self.budget_.epochs} epochs.",
                stacklevel=2,
            )
        return self

    def _train(self, train, validation, **fit_options):
        """Fit a new network on the windows ``train``, watching ``validation`` (or none)."""
        train = stack_windows(train)
        validation = stack_windows(validation) if validation else None
        # Targets beyond a series' end: a loss that leaves them out (only then, so that fits of
        # long series train as they always have).
        masked = any(np.isnan(part[1]).any() for part in (train, validation) if part)
        loss, levels = self._network_loss(masked)
        self._fit_network(
            networks.build_many_to_one,
            *(with_weights(*train) if masked else train),
            loss=loss,
            network={
                "n_features": self.n_targets_ + self.n_features_in_,
                "n_outputs": self.horizon * self.n_targets_ * levels,
                "output_activation": "linear",
                "n_static": self.horizon * self.n_features_in_,
            },
            validation_data=with_weights(*validation) if masked and validation else validation,
            validation_fraction=0.0,
            early_stopping=self.early_stopping and bool(validation), **fit_options,
        )

    def _split_windows(self, series, covariates, calibration_fraction):
        """Training, validation and calibration windows of all series (:func:`split_windows`)."""
        return split_windows(
            [self._windows(values, None if covariates is None else covariates[i])
             for i, values in enumerate(series)],
            calibration_fraction, self.validation_fraction, self.horizon - 1)

    # ------------------------------------------------------------------ forecasts

    def _forecast(self, horizon, y, X):
        """Point forecasts ``(series, horizon, targets)``, the windows' scales and forms."""
        x, (loc, scale, offset), horizon, forms, many = self._forecast_inputs(horizon, y, X)
        output = self._scaled_points(x).reshape(len(forms), self.horizon, self.n_targets_)
        points = (unstandardize(output, loc, scale) + offset)[:, :horizon]
        return points, np.broadcast_to(scale, (len(forms), 1, self.n_targets_)), forms, many

    def _forecast_inputs(self, horizon, y, X, method="predict"):
        """The network input of each series' forecast, its ``(loc, scale, offset)``, the
        horizon checked, and the series' forms."""
        check_is_fitted(self)
        owner = type(self).__name__
        horizon = self.horizon if horizon is None else horizon
        check_int(horizon, "horizon", f"{owner}.{method}", minimum=1, maximum=self.horizon)
        if y is None:
            series, forms, many = self.series_, self.forms_, self.many_
        else:
            series, forms, many = check_histories(y, self.forms_, self.n_targets_, owner)
        inputs = np.stack([last_steps(values, self.lookback_) for values in series])
        blocks = forecast_covariates(
            X, series, forms, many, owner=owner, n_covariates=self.n_features_in_,
            horizon=self.horizon, steps=self.lookback_ + self.horizon,
            training_covariates=self.covariates_ if y is None else None,
            feature_names=getattr(self, "feature_names_in_", None))
        return (*self._network_inputs(inputs, blocks), horizon, forms, many)

    def serving_spec(self):
        """What an export of this forecaster serves (see :mod:`seqkit.export`).

        Returns
        -------
        seqkit.export.ServingSpec
        """
        check_is_fitted(self)
        covariates = self.covariate_scaler_
        return ServingSpec(
            kind="forecaster", network=self.model_, n_features=self.n_targets_,
            forecast=ForecastSpec(
                lookback=self.lookback_, horizon=self.horizon, n_targets=self.n_targets_,
                n_covariates=self.n_features_in_, window_scaling=self.scaling == "window",
                target_scaling=(self.target_scaler_.mean_, self.target_scaler_.scale_),
                covariate_scaling=None if covariates is None else (covariates.mean_,
                                                                   covariates.scale_),
                quantiles=self.quantiles_, window_rule=self.window_rule_,
                season_length=self.naive_season_,
            ),
        )

    def predict(self, horizon=None, y=None, X=None):
        """Forecast the next ``horizon`` values.

        Parameters
        ----------
        horizon : int or None
            Steps to forecast, at most the ``horizon`` fit for (``None``: all).
        y : series, list of series or None
            The history to continue, as in :meth:`fit` (at least 1 step each;
            one shorter than ``lookback`` is padded at the start); ``None``
            continues the training series.
        X : covariates or None
            When fit with covariates: with ``y=None``, those of the
            ``self.horizon`` steps after the training data; with ``y``, those
            of the steps of ``y`` followed by the ``self.horizon`` steps after
            it (always the fitted horizon, even for a shorter ``horizon``).

        Returns
        -------
        forecast
            In the form of the history: a 1-D or 2-D array, or a
            ``pandas.Series``/``DataFrame`` whose index continues the
            history's; a list of those for many series.
        """
        points, _, forms, many = self._forecast(horizon, y, X)
        return as_given(points, forms, many)

    def predict_interval(self, coverage=0.9, horizon=None, y=None, X=None):
        """Prediction intervals from the conformal calibration residuals.

        Parameters
        ----------
        coverage : float in (0, 1), default 0.9
            The share of future values the intervals should hold. Needs at
            least ``ceil(coverage / (1 - coverage))`` calibration windows
            (9 for 0.9).
        horizon, y, X
            As in :meth:`predict`.

        Returns
        -------
        lower, upper
            Each in the form :meth:`predict` returns.
        """
        owner = type(self).__name__
        coverage = check_float(
            coverage, "coverage", f"{owner}.predict_interval", low=0.0, high=1.0,
            low_inclusive=False, high_inclusive=False,
        )
        points, scale, forms, many = self._forecast(horizon, y, X)
        half = conformal_half_width(self.residuals_, coverage, owner,
                                    self.calibration_fraction)[: points.shape[1]]
        width = half[None] * scale
        return as_given(points - width, forms, many), as_given(points + width, forms, many)

    def score(self, y, X=None):
        """Negative mean absolute scaled error of the forecast of ``y``.

        Parameters
        ----------
        y : series or list of series
            The values that followed the training series (at most
            ``horizon`` steps each), in the form given to :meth:`fit`.
        X : covariates or None
            As for :meth:`predict` with ``y=None``.

        Returns
        -------
        float
            ``-MASE`` (greater is better), the mean over series; MASE scales
            by the in-sample error of the seasonal naive forecast with
            ``season_length``.
        """
        check_is_fitted(self)
        actual = check_continuations(y, len(self.series_), self.many_, self.horizon,
                                     type(self).__name__)
        check_mase_scales(self.series_, self.season_length_)
        points = self._forecast(max(len(values) for values in actual), None, X)[0]
        return -float(np.mean([
            mean_absolute_scaled_error(
                values, forecast[: len(values)], train, season_length=self.season_length_
            )
            for values, forecast, train in zip(actual, points, self.series_)
        ]))

    def _checkpoint_config(self):
        config = super()._checkpoint_config()
        del config["seasonal_period"]  # either name makes the same config
        config["season_length"] = renamed_parameter(
            self.season_length, self.seasonal_period, "season_length", "seasonal_period",
            type(self).__name__, default=1,
        )[0]
        if config["relative_to"] == "seasonal_naive" or config["scaling"] != "window":
            del config["relative_to"]  # the same network as checkpoints made before relative_to
        return config

    def __setstate__(self, state):
        state = {"relative_to": "seasonal_naive", **state}  # pickled before relative_to
        if "series_" in state and "lookback_" not in state:  # fitted before lookback="auto"
            state = {**state, "lookback_": state["lookback"], "window_rule_": "spread",
                     "naive_season_": 1}
        if "season_length" not in state:  # pickled before seasonal_period became season_length
            state = {**state, "season_length": state.get("seasonal_period", 1),
                     "seasonal_period": DEPRECATED}
            if "series_" in state:
                state["season_length_"] = state["season_length"]
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags

