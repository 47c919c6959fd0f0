"""Quantile forecasts against conformal intervals, by rolling-origin backtest of a bundled series.

Two forecasters with the same settings on a bundled series (``--dataset``:
weekly co2, lookback 52, horizon 13, 10 windows by default; or yearly
sunspots, lookback 44, horizon 11, 5 windows): a point model (``loss="mse"``) with its
split-conformal 80% interval, and a quantile model (``loss="quantile"``,
levels 0.1, 0.5, 0.9). Each is fit once on the steps before the first of
the windows (a horizon apart, the last ending with the series) and
forecasts every window from the steps before its cut-off
(:func:`seqkit.model_selection.backtest`). Reported over all forecast
steps: the empirical coverage of the 10-90% band and of the conformal 80%
interval (nominal 0.8 both), the mean pinball loss of levels 0.1, 0.5 and
0.9 (the conformal interval's bounds read as the 0.1 and 0.9 quantiles, its
point as the median), and the MASE of each point forecast (the median for
the quantile model).

Run: ``python benchmarks/quantiles.py`` (a few minutes on 2 cores).
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

LEVELS = (0.1, 0.5, 0.9)
SERIES = {
    "co2": {"lookback": 52, "horizon": 13, "season_length": 52, "windows": 10},
    "sunspots": {"lookback": 44, "horizon": 11, "season_length": 11, "windows": 5},
}


def main(argv=None):
    import numpy as np

    from seqkit import datasets
    from seqkit.estimators import SequenceForecaster
    from seqkit.model_selection import backtest, backtest_score
    from seqkit.quantiles import pinball_loss

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(SERIES), default="co2")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    facts = dict(SERIES[args.dataset])
    windows = facts.pop("windows")
    y = datasets.load_series(args.dataset)
    settings = {**facts, "units": 32,
                "epochs": args.epochs, "batch_size": 32, "learning_rate": 3e-3,
                "random_state": args.seed}
    rows = {}
    for name, extra in {"point + conformal 80%": {},
                        "quantile 0.1/0.5/0.9": {"loss": "quantile", "quantiles": LEVELS}}.items():
        model = SequenceForecaster(**settings, **extra)
        if extra:
            result = _quantile_backtest(model, y, windows)
        else:
            result = backtest(model, y, n_windows=windows, coverage=0.8)
        bands = np.stack([result["y_lower"], result["y_pred"], result["y_upper"]], axis=1)
        inside = (result["y"] >= result["y_lower"]) & (result["y"] <= result["y_upper"])
        rows[name] = {
            "coverage": float(inside.mean()),
            "pinball": pinball_loss(result["y"], bands, LEVELS),
            "mase": backtest_score(result, y, season_length=facts["season_length"]).loc[
                "overall", "mase"],
        }
    print(f"{args.dataset}, {windows} windows of {facts['horizon']} steps, at most {args.epochs} "
          f"epochs, seed {args.seed}")
    print(f"{'model':24} {'coverage':>9} {'pinball':>8} {'MASE':>6}")
    for name, row in rows.items():
        print(f"{name:24} {row['coverage']:9.3f} {row['pinball']:8.3f} {row['mase']:6.3f}")


def _quantile_backtest(model, y, windows):
    """A backtest of the quantile model: its 0.1 and 0.9 quantiles as ``y_lower``/``y_upper``.

    The windows and the fit are :func:`backtest`'s (``refit=False``); the
    quantiles come from one ``predict_quantiles(y=[...])`` call per window.
    """
    import numpy as np
    from sklearn.base import clone

    from seqkit.model_selection import backtest

    result = backtest(model, y, n_windows=windows)
    horizon, lookback = model.horizon, model.lookback
    first = len(y) - horizon * windows
    fitted = clone(model).fit(y.iloc[:first])
    histories = [y.to_numpy()[first + horizon * w - lookback:first + horizon * w]
                 for w in range(windows)]
    quantiles = np.concatenate(fitted.predict_quantiles(y=histories))
    np.testing.assert_allclose(quantiles[:, 1], result["y_pred"], rtol=1e-5)
    result["y_lower"], result["y_upper"] = quantiles[:, 0], quantiles[:, 2]
    return result


if __name__ == "__main__":
    main()
