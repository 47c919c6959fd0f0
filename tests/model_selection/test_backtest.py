"""Rolling-origin backtests: windows, refits on clones, no look-ahead, batching, scores, splits."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score

from seqkit.estimators import SequenceForecaster
from seqkit.exceptions import InvalidInputError, InvalidParameterError
from seqkit.metrics import mean_absolute_scaled_error, symmetric_mean_absolute_percentage_error
from seqkit.model_selection import BacktestSplit, backtest, backtest_score
from tests.estimators.data import FAST, monthly_series
from tests.estimators.data import fast_forecaster as _fast

Y = monthly_series()  # 60 monthly steps; the fast forecaster: lookback 6, horizon 3


def fast_forecaster(**params):
    return _fast(**{"epochs": 1, **params})


class Recording(SequenceForecaster):
    """A forecaster that records the length of every series each fit of it sees."""

    fits = []

    def fit(self, y, X=None):
        Recording.fits.append([len(series) for series in y])
        return super().fit(y, X)


def test_windows_end_at_the_last_cutoffs_step_size_apart_on_positions():
    result = backtest(fast_forecaster(), Y.to_numpy(), n_windows=3, step_size=2)
    assert list(result.columns) == ["unique_id", "ds", "cutoff", "y", "y_pred"]
    assert result["ds"].tolist() == [53, 54, 55, 55, 56, 57, 57, 58, 59]
    assert result["cutoff"].tolist() == [52] * 3 + [54] * 3 + [56] * 3
    assert (result["unique_id"] == 0).all()
    np.testing.assert_array_equal(result["y"], Y.to_numpy()[result["ds"]])


def test_pandas_labels_many_series_and_intervals():
    short = (Y.iloc[:45] * 2).rename("b")
    result = backtest(fast_forecaster(), [Y.rename("a"), short], n_windows=2, coverage=0.5)
    assert set(result["unique_id"]) == {"a", "b"} and len(result) == 2 * 2 * 3
    b = result[result["unique_id"] == "b"]
    assert b["ds"].iloc[-1] == short.index[-1]
    assert b["cutoff"].iloc[0] == short.index[-7]
    assert (result["y_lower"] <= result["y_pred"]).all()
    assert (result["y_pred"] <= result["y_upper"]).all()


def test_one_fit_then_one_batched_predict_per_window_equals_a_loop_of_predicts():
    Recording.fits = []
    estimator = Recording(**{**FAST, "epochs": 1}, lookback=6, horizon=3)
    panel = [Y.to_numpy(), Y.to_numpy()[5:] * 3]
    result = backtest(estimator, panel, n_windows=3)
    assert Recording.fits == [[51, 46]]  # one fit, on the steps before the first cut-off
    assert not hasattr(estimator, "model_")  # the estimator given is never fit
    model = clone(estimator).fit([panel[0][:51], panel[1][:46]])
    for w, cut in enumerate((51, 54, 57)):
        for i, series in enumerate(panel):
            got = result[(result["unique_id"] == i)]["y_pred"].to_numpy()[3 * w:3 * w + 3]
            np.testing.assert_allclose(got, model.predict(y=series[:cut - 5 * i]), rtol=1e-5)


@pytest.mark.parametrize("with_covariates", [False, True])
def test_a_cutoff_before_the_lookback_forecasts_from_all_the_steps_before_it(with_covariates):
    Recording.fits = []
    estimator = Recording(**{**FAST, "epochs": 1}, lookback=40, horizon=3)
    values = Y.to_numpy()
    covariates = np.arange(60.0) % 12 if with_covariates else None
    result = backtest(estimator, values, covariates, n_windows=8)
    assert Recording.fits == [[36]]  # the first cut-off, 4 steps short of the lookback
    model = clone(estimator).fit([values[:36]],
                                 None if covariates is None else [covariates[:36]])
    expected = model.predict(y=[values[:36]],
                             X=None if covariates is None else [covariates[:39]])[0]
    np.testing.assert_allclose(result["y_pred"].to_numpy()[:3], expected, rtol=1e-5)


def test_refit_every_k_windows_fits_clones_on_the_steps_before_their_cutoff():
    Recording.fits = []
    estimator = Recording(**{**FAST, "epochs": 1}, lookback=6, horizon=3)
    backtest(estimator, Y, n_windows=3, step_size=1, refit=2)
    assert Recording.fits == [[55], [57]]
    Recording.fits = []
    backtest(Recording(**{**FAST, "epochs": 1}, lookback=6, horizon=3), Y, n_windows=2, refit=True)
    assert Recording.fits == [[54], [57]]


@pytest.mark.parametrize("refit", [False, True])
def test_no_step_after_a_cutoff_reaches_the_forecast_of_its_window(refit):
    """Replace every step from window 1's cut-off on with noise: the forecasts of windows 0
    and 1 stay the same to the bit (the fits are seeded), those of window 2 do not."""
    values = Y.to_numpy()
    tampered = values.copy()
    tampered[54:] = np.random.default_rng(1).normal(100, 50, size=6)
    runs = [backtest(fast_forecaster(), series, n_windows=3, refit=refit)
            for series in (values, tampered)]
    before = [run["y_pred"].to_numpy().reshape(3, 3) for run in runs]
    np.testing.assert_array_equal(before[0][:2], before[1][:2])
    assert not np.allclose(before[0][2], before[1][2])


def test_covariates_and_several_targets():
    frame = pd.DataFrame({"a": Y, "b": -Y})
    covariates = np.arange(60.0) % 12
    result = backtest(fast_forecaster(), frame, covariates, n_windows=2)
    assert result["target"].tolist()[:2] == ["a", "b"] and len(result) == 2 * 3 * 2
    scores = backtest_score(result, frame)
    assert scores.loc["overall", "n_forecasts"] == 4


def test_scores_per_window_and_overall_use_the_history_up_to_each_cutoff():
    result = backtest(fast_forecaster(), Y, n_windows=2, coverage=0.8)
    scores = backtest_score(result, Y, season_length=12)
    assert scores.index.tolist() == [0, 1, "overall"]
    first = result.iloc[:3]
    expected = mean_absolute_scaled_error(first["y"], first["y_pred"], Y.iloc[:54],
                                          season_length=12)
    assert scores.loc[0, "mase"] == pytest.approx(expected)
    assert scores.loc["overall", "mase"] == pytest.approx(scores.loc[[0, 1], "mase"].mean())
    assert scores.loc["overall", "smape"] == pytest.approx(
        symmetric_mean_absolute_percentage_error(result["y"], result["y_pred"]))
    inside = (result["y"] >= result["y_lower"]) & (result["y"] <= result["y_upper"])
    assert scores.loc["overall", "coverage"] == pytest.approx(inside.mean())


@pytest.mark.slow
def test_grid_search_and_cross_val_score_score_a_forecaster_by_backtest():
    split = BacktestSplit(2, horizon=3, min_train_size=fast_forecaster().min_series_length())
    assert [(len(train), test.tolist()) for train, test in split.split(Y)] == [
        (54, [54, 55, 56]), (57, [57, 58, 59])]
    search = GridSearchCV(fast_forecaster(), {"units": [2, 4]}, cv=split).fit(Y)
    assert search.best_params_["units"] in (2, 4)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    scores = cross_val_score(fast_forecaster(), Y, cv=split)
    assert scores.shape == (2,) and (scores < 0).all()  # -MASE


def test_bad_windows_are_refused_naming_the_argument():
    with pytest.raises(InvalidParameterError, match=r"'n_windows' .* Got n_windows=20"):
        backtest(fast_forecaster(), Y, n_windows=20)
    with pytest.raises(InvalidParameterError, match=r"'step_size' .* Got 0"):
        backtest(fast_forecaster(), Y, n_windows=2, step_size=0)
    with pytest.raises(InvalidParameterError, match=r"'refit' .* Got 0"):
        backtest(fast_forecaster(), Y, n_windows=2, refit=0)
    with pytest.raises(InvalidInputError, match=r"splits the steps of one series"):
        next(BacktestSplit(2, horizon=3).split([Y, Y]))


def test_scores_refuse_an_empty_table_and_a_cutoff_too_early_for_the_mase():
    result = backtest(fast_forecaster(), Y, n_windows=2)
    with pytest.raises(InvalidInputError, match=r"results must hold at least one forecast"):
        backtest_score(result.iloc[:0], Y)
    # A season longer than the 54 steps up to the first cut-off.
    with pytest.raises(InvalidInputError,
                       match=r"needs more than season_length=60 steps up to its cut-off.*"
                             r"Got 54 for series 0 .* backtest with fewer windows"):
        backtest_score(result, Y, season_length=60)


def test_a_long_table_is_refused_with_the_expression_that_splits_it():
    # It was read as one series whose targets were the ids, the dates and y.
    panel = pd.DataFrame({"unique_id": np.repeat([1, 2], 30), "ds": np.tile(np.arange(30), 2),
                          "y": np.r_[Y.to_numpy()[:30], Y.to_numpy()[30:]]})
    with pytest.raises(InvalidInputError, match=r"y of backtest looks like a long table") as err:
        backtest(fast_forecaster(), panel, n_windows=1)
    expression = re.search(r"e\.g\. (.*)\.$", str(err.value)).group(1)
    series = eval(expression, {"y": panel})  # the hint, as a user would paste it
    result = backtest(fast_forecaster(), series, n_windows=1)
    assert sorted(result["unique_id"].unique()) == [1, 2] and "target" not in result
