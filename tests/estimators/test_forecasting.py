"""SequenceForecaster: series in numpy and pandas, many series, covariates, intervals, score."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from seqkit.estimators import SequenceForecaster
from seqkit.exceptions import InvalidParameterError
from seqkit.metrics import mean_absolute_scaled_error
from tests.estimators.data import fast_forecaster, monthly_series


def test_numpy_series_gives_a_numpy_forecast_of_the_horizon():
    y = monthly_series().to_numpy()
    forecaster = fast_forecaster().fit(y)
    assert forecaster.n_targets_ == 1 and forecaster.n_features_in_ == 0
    assert forecaster.predict().shape == (3,)
    assert forecaster.predict(horizon=2).shape == (2,)
    np.testing.assert_allclose(forecaster.predict(horizon=2), forecaster.predict()[:2])
    assert forecaster.predict(y=y[:30]).shape == (3,)
    # The training series given again is continued as predict() continues it.
    np.testing.assert_allclose(forecaster.predict(y=y), forecaster.predict(), rtol=1e-6)


def test_pandas_series_gives_a_series_with_the_future_index():
    y = monthly_series()
    forecast = fast_forecaster().fit(y).predict()
    assert isinstance(forecast, pd.Series) and forecast.name == "sales"
    expected = pd.date_range("2006-01-01", periods=3, freq="MS")
    pd.testing.assert_index_equal(forecast.index, expected, check_names=False)


def test_a_given_history_is_continued_from_its_own_index():
    y = monthly_series()
    forecast = fast_forecaster().fit(y).predict(y=y.iloc[:24])
    assert forecast.index[0] == pd.Timestamp("2003-01-01")


@pytest.mark.parametrize(
    ("index", "first"),
    [
        (pd.period_range("1990", periods=60, freq="Y"), pd.Period("2050", freq="Y")),
        (pd.RangeIndex(10, 130, 2), 130),
    ],
    ids=["period", "integer"],
)
def test_period_and_integer_indexes_continue(index, first):
    y = pd.Series(monthly_series().to_numpy(), index=index)
    assert fast_forecaster().fit(y).predict().index[0] == first


def test_dataframe_with_two_targets_gives_a_dataframe():
    y = monthly_series()
    frame = pd.DataFrame({"a": y, "b": 2 * y})
    forecast = fast_forecaster().fit(frame).predict()
    assert isinstance(forecast, pd.DataFrame) and forecast.shape == (3, 2)
    assert forecast.columns.tolist() == ["a", "b"]


def test_many_series_train_one_model_and_each_is_continued():
    y = monthly_series()
    short = y.iloc[:40] * 10
    forecaster = fast_forecaster().fit([y, short])
    forecasts = forecaster.predict()
    assert isinstance(forecasts, list) and len(forecasts) == 2
    assert forecasts[0].index[0] == pd.Timestamp("2006-01-01")
    assert forecasts[1].index[0] == pd.Timestamp("2004-05-01")
    # One global model: each series is continued as it would be alone.
    pd.testing.assert_series_equal(forecaster.predict(y=short), forecasts[1], rtol=1e-6)
    lower, upper = forecaster.predict_interval()
    for lo, hi, point in zip(lower, upper, forecasts):
        pd.testing.assert_series_equal((lo + hi) / 2, point, rtol=1e-6)


def test_covariates_known_in_the_future():
    y = monthly_series().to_numpy()
    month = np.arange(60) % 12
    forecaster = fast_forecaster().fit(y, X=month)
    assert forecaster.n_features_in_ == 1
    future = np.arange(60, 63) % 12
    forecast = forecaster.predict(X=future)
    assert forecast.shape == (3,)
    # The same forecast from the history and covariates given explicitly.
    np.testing.assert_allclose(
        forecaster.predict(y=y, X=np.concatenate([month, future])), forecast, rtol=1e-6
    )
    history = forecaster.predict(y=y[:30], X=np.arange(33) % 12)
    assert history.shape == (3,)


def test_intervals_contain_the_forecast_and_widen_with_coverage():
    y = monthly_series()
    forecaster = fast_forecaster().fit(y)
    assert forecaster.residuals_.shape[1:] == (3, 1) and len(forecaster.residuals_) >= 9
    point = forecaster.predict()
    lower80, upper80 = forecaster.predict_interval(coverage=0.8)
    lower90, upper90 = forecaster.predict_interval(coverage=0.9)
    assert isinstance(lower90, pd.Series)
    pd.testing.assert_index_equal(lower90.index, point.index)
    assert (lower90 <= lower80).all() and (lower80 <= point).all()
    assert (point <= upper80).all() and (upper80 <= upper90).all()
    # Split conformal by hand: the ceil((n + 1) * coverage)-th smallest calibration error of
    # each step, in units of the last window (scaling="window": its standard deviation).
    errors = np.sort(forecaster.residuals_[:, :, 0], axis=0)
    n, scale = len(errors), y.to_numpy()[-6:].std()
    for coverage, upper in ((0.8, upper80), (0.9, upper90)):
        half = errors[int(np.ceil((n + 1) * coverage)) - 1] * scale
        np.testing.assert_allclose(upper.to_numpy() - point.to_numpy(), half, rtol=1e-5)


def test_intervals_need_calibration_windows():
    forecaster = fast_forecaster(calibration_fraction=0.0).fit(monthly_series())
    with pytest.raises(ValueError, match="coverage=0.9 needs at least 9 calibration windows"):
        forecaster.predict_interval()


def test_score_is_negative_mase_of_the_forecast_of_what_followed():
    y = monthly_series().to_numpy()
    train, test = y[:57], y[57:]
    forecaster = fast_forecaster(season_length=12).fit(train)
    naive_error = np.mean(np.abs(train[12:] - train[:-12]))  # seasonal naive, in sample
    expected = np.mean(np.abs(test - forecaster.predict())) / naive_error
    assert forecaster.score(test) == pytest.approx(-expected, rel=1e-12)
    assert forecaster.season_length_ == 12


def test_seasonal_period_is_the_former_name_of_season_length():
    y = monthly_series()
    train, test = y.iloc[:57], y.iloc[57:]
    forecaster = fast_forecaster(seasonal_period=12)
    assert forecaster.get_params()["seasonal_period"] == 12
    assert clone(forecaster).get_params() == forecaster.get_params()
    with pytest.warns(FutureWarning, match=r"'seasonal_period' parameter of SequenceForecaster "
                                           r"was renamed 'season_length'.* Use "
                                           r"season_length=12 instead") as caught:
        forecaster.fit(train)
    assert [w.filename for w in caught if w.category is FutureWarning] == [__file__]
    assert forecaster.season_length_ == 12
    assert forecaster.get_params()["season_length"] == 1  # fit leaves the parameters alone
    expected = mean_absolute_scaled_error(test, forecaster.predict(), train, season_length=12)
    assert forecaster.score(test) == pytest.approx(-expected)


def test_a_checkpoint_made_under_either_season_length_name_resumes_under_the_other(tmp_path):
    y = monthly_series()
    with pytest.warns(FutureWarning, match="seasonal_period"):
        fast_forecaster(seasonal_period=12, epochs=1, checkpoint_dir=tmp_path).fit(y)
    resumed = fast_forecaster(season_length=12, epochs=2, checkpoint_dir=tmp_path).fit(y)
    assert len(resumed.history_["loss"]) == 2
    with pytest.raises(InvalidParameterError, match=r"season_length \(checkpoint 12, now 4\)"):
        fast_forecaster(season_length=4, epochs=3, checkpoint_dir=tmp_path).fit(y)


def test_setting_both_season_length_names_is_refused_before_training():
    forecaster = fast_forecaster(season_length=4, seasonal_period=12)
    with pytest.raises(InvalidParameterError, match=r"set only 'season_length'\. Got "
                                                    r"season_length=4 and seasonal_period=12"):
        forecaster.fit(monthly_series())
    assert not hasattr(forecaster, "model_")


def test_a_forecaster_pickled_before_the_rename_loads_with_season_length():
    old = fast_forecaster(season_length=12).__getstate__()
    del old["season_length"]
    old["seasonal_period"] = 12  # as forecasters pickled before the rename hold it
    old["series_"] = [np.zeros((30, 1))]  # and a fitted one (the network left out here)
    loaded = SequenceForecaster.__new__(SequenceForecaster)
    loaded.__setstate__(old)
    assert loaded.get_params()["season_length"] == 12
    assert loaded.get_params()["seasonal_period"] == "deprecated"
    assert loaded.season_length_ == 12


@pytest.mark.slow
@pytest.mark.parametrize("scaling", ["window", "standard", None])
def test_learns_a_seasonal_series_better_than_the_naive_forecast(scaling):
    y = monthly_series(n=240)
    train, test = y.iloc[:-6], y.iloc[-6:]
    forecaster = fast_forecaster(units=16, lookback=12, horizon=6, epochs=60,
                                 learning_rate=0.01, scaling=scaling).fit(train)
    assert forecaster.score(test) > -1.0  # MASE < 1: beats the last value


@pytest.mark.slow
def test_conformal_intervals_cover_about_as_asked_on_new_data():
    y = monthly_series(n=400, seed=2).to_numpy()
    forecaster = fast_forecaster(units=8, lookback=12, horizon=1, epochs=30,
                                 learning_rate=0.01).fit(y[:300])
    ends = range(300, 400)
    lower, upper = forecaster.predict_interval(coverage=0.8, y=[y[:end] for end in ends])
    hits = [lo[0] <= y[end] <= hi[0] for lo, hi, end in zip(lower, upper, ends)]
    assert 0.65 <= np.mean(hits) <= 0.95
