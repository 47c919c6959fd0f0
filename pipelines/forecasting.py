"""Forecast the last steps of each series and compare with seasonal naive and ETS.

Temporal hold-out: the last ``horizon`` steps of each series are the test
split (or ``--test-data`` gives them); the estimator, and every baseline,
sees only the steps before them. Scores are MASE (scaled by each series'
in-sample seasonal naive error) and sMAPE, averaged over the series. The
main job's target on the bundled sunspots and CO2 series: a MASE below every
baseline's.

The data: a bundled series (``--dataset``), or your long table (``--data``,
CSV or Parquet, one row per series and time step, columns ``unique_id``,
``ds``, ``y`` by default).

Run ``python -m pipelines.forecasting --help`` for the options.
"""

import argparse
import dataclasses

import keras
import numpy as np
import pandas as pd

from pipelines import _plots
from pipelines._args import (
    add_column_options,
    base_parser,
    data_name,
    estimator_params,
    positive_int,
)
from pipelines._data import Data, bundled_info
from pipelines._job import entry_points
from pipelines._report import Report
from seqkit import datasets, io, tracking
from seqkit.baselines import AutoETSForecaster, SeasonalNaiveForecaster
from seqkit.estimators import SequenceForecaster
from seqkit.estimators._conformal import training_head
from seqkit.estimators._series import future_index
from seqkit.estimators._training_windows import with_weights
from seqkit.exceptions import DataFileError, InvalidInputError, InvalidParameterError
from seqkit.io.series import FILLS, STANDARD_COLUMNS, covariate_clash
from seqkit.metrics import (
    mean_absolute_scaled_error,
    symmetric_mean_absolute_percentage_error,
)
from seqkit.model_selection import backtest, backtest_score
from seqkit.quantiles import MaskedLoss

# Season length m (for seasonal naive, ETS and MASE), held-out horizon and window.
SERIES = {
    "sunspots": {"season_length": 11, "horizon": 11, "lookback": 44},
    "co2": {"season_length": 52, "horizon": 52, "lookback": 104},
    "airline": {"season_length": 12, "horizon": 12, "lookback": 36},
}

# Estimator settings per series (the command-line options override them). The main job's
# two series run on the estimator's defaults, given only what the data dictate: MASE 0.361 /
# 0.687 for sunspots and 0.294 / 0.288 for CO2 (seeds 0 / 1), where the hand-picked units,
# epochs, batch size and learning rate these replaced gave 0.650 and 0.293 (seed 0).
SETTINGS = {
    # An irregular ~11-year cycle, not a calendar season: forecasts relative to the last
    # value (with the former settings MASE 0.650; relative to the seasonal naive, 1.335).
    "sunspots": {"relative_to": "last"},
    "co2": {},
    # Outside the main job (tests and the tuning examples use it): settings picked by hand.
    "airline": {"units": 32, "epochs": 200, "batch_size": 16, "learning_rate": 3e-3},
}

def _coverage(text):
    """argparse type: a float strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a float in (0, 1), got {text!r}")
    return value


def build_parser():
    """The command-line options of the forecasting pipeline."""
    parser = base_parser("forecasting", __doc__.splitlines()[0], default_dataset="sunspots")
    parser.add_argument("--horizon", type=positive_int,
                        help="held-out steps to forecast (default: per bundled set; with --data "
                             "required, unless --test-data gives the future steps)")
    parser.add_argument("--lookback", type=positive_int,
                        help="steps the network reads (default: per bundled set; with --data "
                             "the estimator's lookback=\"auto\": the season length, at least 4; "
                             "shorter histories are padded)")
    parser.add_argument("--coverage", type=_coverage, default=0.9,
                        help="nominal coverage of the prediction interval, in (0, 1) "
                             "(default: %(default)s)")
    parser.add_argument("--backtest-windows", type=positive_int, metavar="N",
                        help="also backtest on the training steps: N rolling-origin windows of "
                             "the horizon, ending at the test split (default: none)")
    parser.add_argument("--nonnegative", choices=("auto", "yes", "no"), default="auto",
                        help="clip the prediction intervals at 0: yes, no, or auto (default): "
                             "when no training value is negative")
    columns = add_column_options(parser, id_help="series id; a table without it is one series "
                                                 "(default: %(default)s)")
    columns.add_argument("--target", default="y", help="the values to forecast (default: y)")
    columns.add_argument("--covariates", nargs="*", default=(), metavar="COLUMN",
                         help="known covariates (names separated by spaces or commas): their "
                              "future values must be in --test-data")
    columns.add_argument("--freq", type=_frequency,
                         help="pandas frequency of the time column, e.g. MS, W-SUN, D, h "
                              "(default: inferred)")
    columns.add_argument("--season-length", type=positive_int,
                         help="season length m (default: from the frequency: yearly 1, "
                              "quarterly 4, monthly 12, weekly 52, daily 7, hourly 24)")
    columns.add_argument("--fill", choices=[fill for fill in FILLS if fill],
                         help="fill missing steps and values this way (default: refuse them)")
    return parser


def _frequency(text):
    """argparse type: a pandas offset alias (``""``, an MLflow Project's unset parameter, is
    None)."""
    if not text:
        return None
    try:
        pd.tseries.frequencies.to_offset(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a pandas frequency such as D, W-SUN, MS, QS or h; got {text!r}") from None
    return text


def _covariates(args):
    """The covariate columns, however they were given (``a b``, ``a,b``, one or many words).

    Raises
    ------
    InvalidParameterError
        For a covariate that is the id, time or target column, or one of the names the
        reader gives those (``unique_id``, ``ds``, ``y``).
    """
    names = tuple(name for text in args.covariates for name in text.replace(",", " ").split())
    options = {"id": "--id-column", "time": "--time-column", "target": "--target"}
    for name in names:
        clash = covariate_clash(name, args.id_column, args.time_column, args.target)
        if clash in options:
            raise InvalidParameterError(
                f"--covariates must not name the column of {options[clash]}; got {name!r}.")
        if clash:
            raise InvalidParameterError(
                f"--covariates must not be {', '.join(map(repr, STANDARD_COLUMNS))}: the "
                f"reader gives those names to the id, time and target columns; got {name!r}. "
                "Rename that column in the file.")
    return names


def _read(args, source):
    return io.read_series(source, id_column=args.id_column, time_column=args.time_column,
                          target=args.target, covariates=_covariates(args),
                          freq=args.freq, fill=args.fill, season_length=args.season_length)


def _bundled(args):
    """A bundled series as ``io.SeriesData``, with its horizon and lookback."""
    facts = SERIES[args.dataset]
    y = datasets.load_series(args.dataset)
    frame = pd.DataFrame({"unique_id": args.dataset, "ds": y.index, "y": y.to_numpy()})
    info = bundled_info(args.dataset, fmt="csv", n_rows=len(y), n_items=1,
                        schema={"ds": "datetime64[ns]", "y": "float64"})
    data = io.SeriesData(ids=[args.dataset], y=[y], X=None, freq=y.index.freqstr,
                         season_length=facts["season_length"], filled=0, frame=frame, info=info)
    return data, args.horizon or facts["horizon"], args.lookback or facts["lookback"]


def _check_test(train, test):
    """The test file continues every training series by the same number of steps: the test
    series, in the training file's order (they are matched by id), and the horizon."""
    where = f"{test.info.uri} (the test data of {train.info.uri})"
    if set(test.ids) != set(train.ids):
        missing = sorted(set(train.ids) - set(test.ids))[:3]
        extra = sorted(set(test.ids) - set(train.ids))[:3]
        raise DataFileError(f"{where}: must hold the same series as the training data; "
                            f"missing {missing}, unknown {extra}.")
    if test.ids != train.ids:  # its frame, logged as the run's input, keeps the file's order
        place = {series_id: i for i, series_id in enumerate(test.ids)}
        order = [place[series_id] for series_id in train.ids]
        test = dataclasses.replace(test, ids=list(train.ids), y=[test.y[i] for i in order],
                                   X=None if test.X is None else [test.X[i] for i in order])
    lengths = {len(series) for series in test.y}
    if len(lengths) != 1:
        raise DataFileError(f"{where}: every series must have the same number of steps (the "
                            f"horizon); got lengths {sorted(lengths)}.")
    for before, after in zip(train.y, test.y):
        expected = future_index(before.index, 1)[0]
        if after.index[0] != expected:
            raise DataFileError(f"{where}: series {before.name!r} must continue at {expected} "
                                f"(after its last training step); its test data start at "
                                f"{after.index[0]}.")
    return test, lengths.pop()


def _estimator(args, horizon, lookback, season_length):
    settings = SETTINGS[args.dataset] if args.data is None else {}
    return SequenceForecaster(**estimator_params(args, {
        **settings, "horizon": horizon, "lookback": lookback, "season_length": season_length,
    }))


def _check_lengths(args, train, estimator):
    """Refuse, before any run, series too short for it. Every series needs 4 steps (ETS;
    the fit takes 2) and ``season_length + 1`` (the MASE). One shorter than the estimator's
    ``min_series_length()`` is padded and may keep no training window of its own (its windows
    calibrate, it is forecast and scored); some series must keep one. A series the seasonal
    naive forecast fits exactly (a constant one) has no MASE. A backtest needs
    ``min_series_length()`` steps, and the MASE's, before its first window."""
    season, horizon, lookback = train.season_length, estimator.horizon, estimator._lookback()
    train.check_length(*max((season + 1, f"the MASE, with season length {season},"),
                            (AutoETSForecaster.MIN_STEPS, "the ETS baseline")))
    fewest = estimator.min_series_length()
    name, longest = max(zip(train.ids, train.y), key=lambda pair: len(pair[1]))
    if not any(training_head(len(series), lookback, horizon, estimator.calibration_fraction,
                             estimator.validation_fraction) for series in train.y):
        raise DataFileError(
            f"{train.info.uri}: no series keeps a training window once the windows held out "
            f"for validation and calibration (lookback {lookback}, horizon {horizon}) are set "
            f"aside; the longest, {name!r}, has {len(longest)} steps, "
            f"and every series from {fewest} steps on keeps one.")
    for name, series in zip(train.ids, train.y):
        values = series.to_numpy()
        if not np.any(values[season:] != values[:-season]):
            raise DataFileError(
                f"{train.info.uri}: series {name!r} repeats itself every {season} steps (the "
                f"season length; a constant series does too), so the seasonal naive forecast "
                f"has no error on its {len(values)} training steps and its MASE, which scales "
                "by that error, is undefined; remove the series from the file.")
    if args.backtest_windows:
        first = max(fewest, season + 1)
        train.check_length(first + args.backtest_windows * horizon,
                           f"a fit and its MASE ({first} steps) before --backtest-windows "
                           f"{args.backtest_windows} windows of {horizon} steps")


def load(args):
    """Read and check the series; split off the test steps."""
    if args.data is None:
        data, horizon, lookback = _bundled(args)
        train, test = data.split(horizon)
        split = f"the last {horizon} steps"
    else:
        data = _read(args, args.data)
        if args.test_data is None:
            if args.horizon is None:
                raise DataFileError(f"{args.data}: give --horizon (the steps to forecast and "
                                    "hold out), or --test-data with the future steps.")
            horizon = args.horizon
            train, test = data.split(horizon)
            split = f"the last {horizon} steps of each series"
        else:
            train, (test, horizon) = data, _check_test(data, _read(args, args.test_data))
            if args.horizon not in (None, horizon):
                raise DataFileError(f"{args.test_data}: holds {horizon} steps per series, but "
                                    f"--horizon is {args.horizon}.")
            split = f"--test-data {args.test_data}"
        lookback = args.lookback or "auto"  # the estimator's default
    estimator = _estimator(args, horizon, lookback, train.season_length)
    _check_lengths(args, train, estimator)
    # Logged resolved, as the fit sets lookback_.
    params = {"horizon": horizon, "lookback": estimator._lookback(),
              "season_length": train.season_length, "freq": train.freq,
              "n_series": len(train.ids), "filled_values": data.filled}
    return Data(data_name(args), train, test, split, params)


def _scores(actual, forecast, train, season_length):
    return {
        "mase": mean_absolute_scaled_error(actual, forecast, train, season_length=season_length),
        "smape": symmetric_mean_absolute_percentage_error(actual, forecast),
    }


def _intervals(estimator, coverage, X, job):
    """The prediction intervals, or ``(None, None)`` when too few windows calibrate them."""
    try:
        return estimator.predict_interval(coverage, X=X)
    except InvalidInputError as err:
        job.progress(f"no prediction interval: {err}")
        return None, None


def _nonnegative(args, train, job):
    """Whether the intervals are clipped at 0 (``--nonnegative``), said in the log."""
    if args.nonnegative == "no":
        return False
    if args.nonnegative == "auto":
        if any((series < 0).any() for series in train.y):
            return False
        job.progress("no training value is negative: the interval's lower bounds are clipped "
                     "at 0 (--nonnegative no keeps them as computed)")
    else:
        job.progress("--nonnegative yes: the interval's lower bounds are clipped at 0")
    return True


def _mean_scores(actual, forecasts, train, season_length):
    """MASE and sMAPE of each series, averaged over the series."""
    rows = [_scores(a, f, t, season_length) for a, f, t in zip(actual, forecasts, train)]
    return {name: float(np.mean([row[name] for row in rows])) for name in rows[0]}


def _baseline(job, name, make, train, horizon):
    """A baseline fit on each training series; its forecasts, indexed like the test steps."""
    job.progress(f"baseline: {name}" + (f" on {len(train)} series" if len(train) > 1 else ""))
    return [pd.Series(make().fit(series).predict(horizon), index=future_index(series.index,
                                                                              horizon))
            for series in train]


def body(args, job, data):
    """Fit, forecast, compare with the baselines, plot; return the report."""
    train, test, facts = data.train, data.test, data.params
    horizon, season = facts["horizon"], facts["season_length"]
    estimator = _estimator(args, horizon, facts["lookback"], season)
    job.fit(estimator, train.y, *([] if train.X is None else [train.X]))
    future = None if test.X is None else test.X
    point = estimator.predict(X=future)
    lower, upper = _intervals(estimator, args.coverage, future, job)
    if lower is not None and _nonnegative(args, train, job):
        lower = [bound.clip(lower=0.0) for bound in lower]
    forecasts = {
        "seasonal_naive": _baseline(job, f"seasonal naive (m={season})",
                                    lambda: SeasonalNaiveForecaster(season), train.y, horizon),
        "ets": _baseline(job, "ETS, form chosen by AICc", lambda: AutoETSForecaster(season),
                         train.y, horizon),
    }
    metrics = {"seqkit": _mean_scores(test.y, point, train.y, season)}
    metrics.update({name: _mean_scores(test.y, f, train.y, season)
                    for name, f in forecasts.items()})
    if lower is not None:
        actual = np.concatenate([series.to_numpy() for series in test.y])
        inside = np.mean((actual >= np.concatenate(lower)) & (actual <= np.concatenate(upper)))
        tracking.log_metrics(
            {"test_interval_coverage": inside, "interval_nominal_coverage": args.coverage}
        )
    job.figure(
        _plots.forecast(train.y[0], test.y[0], point[0],
                        None if lower is None else lower[0], None if upper is None else upper[0],
                        {name: f[0] for name, f in forecasts.items()},
                        coverage=args.coverage, context=4 * horizon),
        "forecast",
    )
    job.table(_forecast_table(test, point, lower, upper, forecasts), "forecasts")
    x, targets = estimator.training_windows()
    if isinstance(estimator.model_.loss, MaskedLoss):  # trained on targets past series' ends
        x, targets = with_weights(x, targets)
    # The latest 64 windows; with covariates x is a list of arrays, each cut alike.
    x, targets = keras.tree.map_structure(lambda part: part[-64:], (x, targets))
    job.gradient_norms(estimator, x, targets)
    if args.backtest_windows:
        _backtest(args, job, estimator, train, season, interval=lower is not None)
    return job.finish(estimator, Report("forecasting", data.name, metrics, "mase", False))


def _backtest(args, job, estimator, train, season, *, interval):
    """Rolling-origin windows over the training steps, by clones of ``estimator``: metrics per
    window (the MLflow step), the long table and the forecasts at each cut-off."""
    job.progress(f"backtest: {args.backtest_windows} windows of {estimator.horizon} steps, one "
                 "fit before the first cut-off")
    with job.notes():
        results = backtest(estimator, train.y, train.X, n_windows=args.backtest_windows,
                           coverage=args.coverage if interval else None)
    scores = backtest_score(results, train.y, season_length=season)
    for window, row in scores.drop(index="overall").iterrows():
        tracking.log_metrics({f"backtest_{name}": value for name, value in row.items()
                              if name != "n_forecasts"}, step=int(window))
    tracking.log_metrics({f"backtest_{name}": value
                          for name, value in scores.loc["overall"].items()
                          if name != "n_forecasts"})
    job.table(results, "backtest")
    job.table(scores, "backtest_scores")
    job.figure(_plots.backtest(results, train.y[0], context=4 * estimator.horizon), "backtest")


def _forecast_table(test, point, lower, upper, forecasts):
    """The long table of the test steps: ``unique_id, ds, actual``, then every forecast."""
    columns = {"actual": test.y, "seqkit": point, "seqkit_lower": lower, "seqkit_upper": upper,
               **forecasts}
    frames = []
    for i, series_id in enumerate(test.ids):
        frame = pd.DataFrame({name: np.asarray(values[i], dtype=float)
                              for name, values in columns.items() if values is not None})
        frame.insert(0, "ds", test.y[i].index)
        frame.insert(0, "unique_id", series_id)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


run, main = entry_points("forecasting", build_parser, load, body, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
