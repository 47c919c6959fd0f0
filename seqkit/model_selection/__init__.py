"""Model selection for forecasters: rolling-origin backtests, their scores, a splitter.

:func:`backtest` forecasts the last windows of one or many series as if
standing at each of their cut-offs in turn (rolling-origin evaluation,
Tashman 2000; Hyndman & Athanasopoulos, *Forecasting: Principles and
Practice*, 3rd ed., §5.10 "time series cross-validation"), :func:`backtest_score`
scores the result per window and overall, and :class:`BacktestSplit` gives
the same windows to scikit-learn (``GridSearchCV``, ``cross_val_score``).
"""

from seqkit.model_selection._backtest import backtest
from seqkit.model_selection._score import backtest_score
from seqkit.model_selection._split import BacktestSplit

__all__ = ["BacktestSplit", "backtest", "backtest_score"]
