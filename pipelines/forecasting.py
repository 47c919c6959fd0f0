"""Forecast the last steps of a bundled series and compare with seasonal naive and ETS.

Temporal hold-out: the last ``horizon`` steps are the test split; the
estimator, and every baseline, sees only the steps before them. Scores are
MASE (scaled by the in-sample seasonal naive error) and sMAPE.

Run ``python -m pipelines.forecasting --help`` for the options.
"""

import argparse

import numpy as np
import pandas as pd

from pipelines import _plots
from pipelines._args import base_parser, estimator_params, positive_int
from pipelines._job import entry_points
from pipelines._report import Report
from seqkit import datasets, tracking
from seqkit.baselines import AutoETSForecaster, SeasonalNaiveForecaster
from seqkit.estimators import SequenceForecaster
from seqkit.metrics import (
    mean_absolute_scaled_error,
    symmetric_mean_absolute_percentage_error,
)

# Season length m (for seasonal naive, ETS and MASE), held-out horizon and window.
SERIES = {
    "sunspots": {"season_length": 11, "horizon": 11, "lookback": 44},
    "co2": {"season_length": 52, "horizon": 52, "lookback": 104},
    "airline": {"season_length": 12, "horizon": 12, "lookback": 36},
}

# Estimator settings per series (the command-line options override them).
SETTINGS = {
    "sunspots": {"units": 32, "epochs": 200, "batch_size": 32, "learning_rate": 3e-3},
    "co2": {"units": 32, "epochs": 60, "batch_size": 64, "learning_rate": 3e-3},
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
                        help="held-out steps to forecast (default: per data set)")
    parser.add_argument("--lookback", type=positive_int,
                        help="steps the network reads (default: per data set)")
    parser.add_argument("--coverage", type=_coverage, default=0.9,
                        help="nominal coverage of the prediction interval, in (0, 1) "
                             "(default: %(default)s)")
    return parser


def _scores(actual, forecast, train, season_length):
    return {
        "mase": mean_absolute_scaled_error(actual, forecast, train, season_length=season_length),
        "smape": symmetric_mean_absolute_percentage_error(actual, forecast),
    }


def body(args, job):
    """Load, split, fit, forecast, compare with the baselines, plot; return the report."""
    series = SERIES[args.dataset]
    horizon = args.horizon or series["horizon"]
    season = series["season_length"]
    job.progress(f"loading {args.dataset}; the last {horizon} steps are the test split")
    y = datasets.load_series(args.dataset)
    train, test = y.iloc[:-horizon], y.iloc[-horizon:]
    estimator = SequenceForecaster(**estimator_params(args, {
        **SETTINGS[args.dataset],
        "horizon": horizon,
        "lookback": args.lookback or series["lookback"],
        "season_length": season,
    }))
    job.fit(estimator, train)
    point = estimator.predict()
    lower, upper = estimator.predict_interval(args.coverage)
    forecasts = {
        "seasonal_naive": job.baseline(
            f"seasonal naive (m={season})", SeasonalNaiveForecaster(season).fit, train
        ).predict(horizon),
        "ets": job.baseline(
            "ETS, form chosen by AICc", AutoETSForecaster(season).fit, train
        ).predict(horizon),
    }
    forecasts = {name: pd.Series(values, index=test.index) for name, values in forecasts.items()}
    metrics = {"seqkit": _scores(test, point, train, season)}
    metrics.update({name: _scores(test, f, train, season) for name, f in forecasts.items()})
    inside = np.mean((test >= lower) & (test <= upper))
    tracking.log_metrics(
        {"test_interval_coverage": inside, "interval_nominal_coverage": args.coverage}
    )
    job.figure(
        _plots.forecast(train, test, point, lower, upper, forecasts,
                        coverage=args.coverage, context=4 * horizon),
        "forecast",
    )
    job.table(
        pd.DataFrame({"actual": test, "seqkit": point, "seqkit_lower": lower,
                      "seqkit_upper": upper, **forecasts}),
        "forecasts",
    )
    x, targets = estimator.training_windows()  # the latest 64 of them below
    job.gradient_norms(estimator, x[-64:], targets[-64:])
    return job.finish(estimator, Report("forecasting", args.dataset, metrics, "mase", False))


run, main = entry_points("forecasting", build_parser, body)

if __name__ == "__main__":
    raise SystemExit(main())
