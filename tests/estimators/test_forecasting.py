"""SequenceForecaster: series in numpy and pandas, many series, covariates, intervals, score."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from seqkit import datasets
from seqkit.estimators import SequenceForecaster
from seqkit.estimators._series import check_series
from seqkit.exceptions import InputTypeError, InvalidInputError, InvalidParameterError
from seqkit.metrics import mean_absolute_scaled_error
from seqkit.preprocessing import STEP_FLOOR
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
    # each step, in units of the last window (scaling="window": its mean absolute change).
    errors = np.sort(forecaster.residuals_[:, :, 0], axis=0)
    n, scale = len(errors), np.abs(np.diff(y.to_numpy()[-6:])).mean()
    for coverage, upper in ((0.8, upper80), (0.9, upper90)):
        half = errors[int(np.ceil((n + 1) * coverage)) - 1] * scale
        np.testing.assert_allclose(upper.to_numpy() - point.to_numpy(), half, rtol=1e-5)


def test_intervals_need_calibration_windows():
    forecaster = fast_forecaster(calibration_fraction=0.0).fit(monthly_series())
    with pytest.raises(ValueError, match=r"coverage=0.9 needs at least 9 calibration windows; "
                                         r".* kept 0 \(calibration_fraction=0\.0\)\. Fit with a "
                                         r"calibration_fraction above 0"):
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


def test_relative_to_last_forecasts_from_the_last_value_not_the_seasonal_naive_one():
    y = monthly_series().to_numpy()
    train, test = y[:57], y[57:]
    params = {"lookback": 12, "season_length": 12, "early_stopping": False}
    last = fast_forecaster(relative_to="last", **params).fit(train)
    seasonal = fast_forecaster(**params).fit(train)
    assert last.naive_season_ == 1 and seasonal.naive_season_ == 12
    assert np.abs(last.predict() - seasonal.predict()).max() > 1e-3
    # As window scaling forecast before the seasonal offset: the last value plus the
    # network's output times the window's mean absolute change.
    window = train[-12:]
    scale = max(np.abs(np.diff(window)).mean(), STEP_FLOOR * np.abs(window).mean())
    x = ((window - window[-1]) / scale).astype(np.float32)[None, :, None]
    want = window[-1] + np.asarray(last.model_(x))[0] * scale
    np.testing.assert_allclose(last.predict(), want, rtol=1e-6)
    _, targets = last.training_windows()
    np.testing.assert_allclose(targets[-1], (train[-3:] - train[-4]) / max(
        np.abs(np.diff(train[-15:-3])).mean(), STEP_FLOOR * np.abs(train[-15:-3]).mean()),
        rtol=1e-5)
    expected = mean_absolute_scaled_error(test, last.predict(), train, season_length=12)
    assert last.score(test) == pytest.approx(-expected)  # the MASE of season_length still


def test_forecasters_pickled_before_relative_to_keep_their_offset():
    after = fast_forecaster(season_length=12).__getstate__()
    del after["relative_to"]
    after.update(series_=[np.zeros((30, 1))], lookback_=12, window_rule_="step",
                 naive_season_=12)  # fitted with the seasonal offset (the network left out)
    before = {name: value for name, value in after.items()
              if name not in ("lookback_", "window_rule_", "naive_season_")}
    before["lookback"] = 24  # fitted before the offset
    for state, season, rule in ((after, 12, "step"), (before, 1, "spread")):
        loaded = SequenceForecaster.__new__(SequenceForecaster)
        loaded.__setstate__(state)
        assert loaded.get_params()["relative_to"] == "seasonal_naive"
        assert (loaded.naive_season_, loaded.window_rule_) == (season, rule)
    # Checkpoints made before relative_to resume where it changes nothing.
    assert "relative_to" not in fast_forecaster()._checkpoint_config()
    assert "relative_to" not in fast_forecaster(relative_to="last",
                                                scaling="standard")._checkpoint_config()
    assert fast_forecaster(relative_to="last")._checkpoint_config()["relative_to"] == "last"


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


# ------------------------------------------------------------------ the time index of a series


SERIES = monthly_series()  # 60 months from 2001-01-01


@pytest.fixture(scope="module")
def fitted():
    """A forecaster fit on SERIES, and one fit with a covariate too."""
    return {"plain": fast_forecaster().fit(SERIES),
            "covariate": fast_forecaster().fit(SERIES.to_numpy(), X=np.arange(60.0))}


def _swapped(index):
    order = list(range(len(index)))
    order[3], order[4] = 4, 3
    return index[order]


def _duplicated(index):
    labels = list(index)
    labels[7] = labels[6]
    return pd.DatetimeIndex(labels)


def _with_nat(index):
    labels = list(index)
    labels[3] = pd.NaT
    return pd.DatetimeIndex(labels)


def _mixed_zones(index):
    return pd.Index(list(index[:30].tz_localize("UTC"))
                    + list(index[30:].tz_localize("Europe/Paris")), dtype=object)


def _irregular(index):
    seconds = np.random.default_rng(0).choice(10**7, size=len(index), replace=False)
    return pd.DatetimeIndex(np.sort(pd.Timestamp("2001") + pd.to_timedelta(seconds, "s")))


# (kind, index -> a bad index of the same length, error, message pattern for argument {n})
BAD_INDEXES = [
    ("newest first", lambda i: i[::-1], InvalidInputError,
     r"The index of {n} must increase with time \(oldest first\)\. Got a newest-first index, "
     r"from 200\d-\d\d-01 down to 2001-01-01 .*sort it: {n} = {n}\.sort_index\(\)\."),
    ("out of order", _swapped, InvalidInputError,
     r"The index of {n} must increase with time .* Got 2001-04-01 at position 4 after "
     r"2001-05-01; sort it: {n} = {n}\.sort_index\(\)\."),
    ("duplicate", _duplicated, InvalidInputError,
     r"The index of {n} must not hold duplicate dates\. Got the duplicate 2001-07-01 at "
     r"positions 6 and 7; keep one row per step, e.g\. {n} = {n}\.groupby\(level=0\)\.mean\(\)"),
    ("gap", lambda i: pd.date_range(i[0], periods=len(i) + 1, freq="MS").delete(5),
     InvalidInputError,
     r"The index of {n} must be regular, at the frequency 'MS'\. Got a gap after 2001-05-01: "
     r"the next date is 2001-07-01, expected 2001-06-01; .* {n} = {n}\.asfreq\('MS'\)"
     r"\.interpolate\(\)\."),
    ("irregular steps", _irregular, InvalidInputError,
     r"The index of {n} must be regular, at one frequency\. Got dates with no regular step "
     r"\(2001-01-01 \d\d:"),
    ("NaT", _with_nat, InvalidInputError,
     r"The index of {n} must not contain NaT \(a missing date\)\. Got NaT at position 3"),
    ("strings", lambda i: i.strftime("%Y-%m"), InputTypeError,
     r"The index of {n} must be a DatetimeIndex, PeriodIndex or integer index\. Got an index "
     r"of strings \('2001-01', '2001-02', \.\.\.\); parse it first: "
     r"{n}\.index = pd\.to_datetime\({n}\.index\)"),
    ("mixed time zones", _mixed_zones, InvalidInputError,
     r"The index of {n} must be in one time zone\. Got mixed time zones: 2001-01-01 "
     r"00:00:00\+00:00 \(UTC\) and, at position 30, 2003-07-01 00:00:00\+02:00 "
     r"\(Europe/Paris\); .*utc=True"),
]

# (door, the argument it names, call(fitted, bad) with bad the index -> bad index function)
DOORS = [
    ("fit y", "y", lambda f, bad: fast_forecaster().fit(
        pd.Series(SERIES.to_numpy(), index=bad(SERIES.index)))),
    ("predict y", "y", lambda f, bad: f["plain"].predict(
        y=pd.Series(SERIES.to_numpy(), index=bad(SERIES.index)))),
    ("fit X", "X", lambda f, bad: fast_forecaster().fit(
        SERIES.to_numpy(), X=pd.DataFrame({"month": np.arange(60.0)}, index=bad(SERIES.index)))),
    ("predict X", "X", lambda f, bad: f["covariate"].predict(
        y=SERIES.to_numpy(), X=pd.Series(np.arange(63.0), index=bad(
            pd.date_range("2001-01-01", periods=63, freq="MS"))))),
]


@pytest.mark.parametrize(("bad", "error", "pattern"), [case[1:] for case in BAD_INDEXES],
                         ids=[case[0] for case in BAD_INDEXES])
@pytest.mark.parametrize(("name", "call"), [door[1:] for door in DOORS],
                         ids=[door[0] for door in DOORS])
def test_a_bad_time_index_is_refused_with_the_fix(fitted, name, call, bad, error, pattern):
    with pytest.raises(error, match=pattern.format(n=name)) as caught:
        call(fitted, bad)
    assert type(caught.value) is error


def test_a_refused_index_leaves_the_forecaster_unfitted():
    forecaster = fast_forecaster()
    with pytest.raises(InvalidInputError, match="newest-first"):
        forecaster.fit(SERIES.iloc[::-1])
    assert not hasattr(forecaster, "model_")


@pytest.mark.parametrize(
    ("index", "pattern"),
    [
        (pd.period_range("2001-01", periods=61, freq="M").delete(5),
         r"must be regular, at the frequency 'M'\. Got a gap after 2001-05: the next period is "
         r"2001-07, expected 2001-06; .*pd\.period_range"),
        (pd.period_range("2001-01", periods=60, freq="M")[::-1], r"newest-first index, from "
         r"2005-12 down to 2001-01"),
        (pd.Index(np.r_[0:10, 12:62]), r"must be regular, with a constant step of 1\. Got a gap "
         r"after 9: the next label is 12, expected 10; .* \(if the labels are row numbers rather "
         r"than times, renumber them: y = y\.reset_index\(drop=True\)\)"),
        (pd.Index(np.r_[0:30, 0:30]), r"must not hold duplicate labels\. Got the duplicate 0 at "
         r"positions 0 and 30 \(and more\).*reset_index\(drop=True\)"),
        (pd.RangeIndex(59, -1, -1), r"newest-first index, from 59 down to 0"),
    ],
    ids=["period gap", "period newest first", "integer gap", "integer duplicate",
         "integer newest first"],
)
def test_period_and_integer_indexes_are_checked_as_time_axes(index, pattern):
    with pytest.raises(InvalidInputError, match=r"The index of y .*" + pattern):
        fast_forecaster().fit(pd.Series(SERIES.to_numpy(), index=index))


@pytest.mark.parametrize(
    ("index", "pattern"),
    [
        (pd.Index(np.linspace(0.0, 1.0, 60)), r"Got Index of float64\."),
        (pd.MultiIndex.from_product([["a", "b"], range(30)], names=["unique_id", "ds"]),
         r"Got a MultiIndex with levels \['unique_id', 'ds'\]; for many series give a list"),
    ],
    ids=["float", "multi"],
)
def test_other_index_kinds_are_refused_as_kinds(index, pattern):
    with pytest.raises(InputTypeError, match=r"The index of y must be a DatetimeIndex, "
                                             r"PeriodIndex or integer index\. " + pattern):
        fast_forecaster().fit(pd.Series(SERIES.to_numpy(), index=index))


def test_strings_with_mixed_offsets_get_the_utc_fix():
    index = pd.Index(["2020-03-28T00:00+01:00", "2020-03-30T00:00+02:00"] * 5)
    with pytest.raises(InputTypeError, match=r"index of strings .*different time zone offsets"
                                             r".* pd\.to_datetime\(y\.index, utc=True\)"):
        fast_forecaster().fit(pd.Series(np.arange(10.0), index=index))


def test_which_series_of_a_list_is_named_and_fixed():
    bad = SERIES.iloc[:40].iloc[::-1]
    with pytest.raises(InvalidInputError, match=r"The index of series 1 of y must increase .* "
                                                r"y\[1\] = y\[1\]\.sort_index\(\)\."):
        fast_forecaster().fit([SERIES, bad])


def test_tz_aware_and_naive_series_are_not_mixed():
    aware = SERIES.tz_localize("UTC")
    with pytest.raises(InvalidInputError, match=r"The series of y must all be time-zone aware "
                                                r"or all naive\. Got series 0 in UTC and series 1 "
                                                r"naive; .* y\[1\] = y\[1\]\.tz_localize\('UTC'\)"):
        fast_forecaster().fit([aware, SERIES])


def test_covariates_are_naive_or_tz_aware_like_the_series(fitted):
    aware = SERIES.tz_localize("UTC")
    naive_x = pd.Series(np.arange(60.0), index=SERIES.index)
    with pytest.raises(InvalidInputError, match=r"The index of X must be time-zone aware like "
                                                r"the index of y \(UTC\)\. Got a naive index; "
                                                r"convert it, e.g\. X = X\.tz_localize\('UTC'\)"):
        fast_forecaster().fit(aware, X=naive_x)
    future = pd.Series(np.arange(3.0), index=pd.date_range(
        "2006-01-01", periods=3, freq="MS", tz="Europe/Paris"))
    with pytest.raises(InvalidInputError, match=r"The index of X must be naive like the index "
                                                r"of y \(naive\)\. Got Europe/Paris; .* "
                                                r"X = X\.tz_localize\(None\)"):
        fast_forecaster().fit(SERIES, X=naive_x).predict(X=future)


def test_tz_aware_series_and_covariates_continue_in_their_zone():
    index = pd.date_range("2020-03-01", periods=60, freq="D", tz="Europe/Paris")  # a DST change
    y = pd.Series(SERIES.to_numpy(), index=index)
    X = pd.DataFrame({"weekday": index.day_of_week.astype(float)}, index=index)
    future = pd.date_range("2020-04-30", periods=3, freq="D", tz="Europe/Paris")
    forecaster = fast_forecaster().fit(y, X=X)
    forecast = forecaster.predict(X=pd.DataFrame({"weekday": [3.0, 4.0, 5.0]}, index=future))
    pd.testing.assert_index_equal(forecast.index, future, check_names=False)


def test_a_regular_index_without_a_set_frequency_is_inferred():
    y = pd.Series(SERIES.to_numpy(), index=pd.DatetimeIndex(list(SERIES.index)))  # as read_csv
    assert y.index.freq is None
    forecast = fast_forecaster().fit(y).predict()
    assert forecast.index[0] == pd.Timestamp("2006-01-01")


def test_values_that_are_not_continued_need_no_frequency(fitted):
    # score's y is never continued: two dates without a frequency cannot tell one, and need
    # not; a history to continue must have one.
    actual = pd.Series([10.0, 10.5], index=pd.DatetimeIndex(["2006-01-01", "2006-02-01"]))
    assert actual.index.freq is None
    assert np.isfinite(fitted["plain"].score(actual))
    with pytest.raises(InvalidInputError, match=r"The index of y must have a frequency to "
                                                r"continue into the future.* Got 2 dates"):
        fitted["plain"].predict(y=actual)


@pytest.mark.parametrize("name", ["airline", "co2", "sunspots"])
def test_the_bundled_series_pass_the_index_checks(name):
    y = datasets.load_series(name)  # the pipelines' data, co2 with its gaps interpolated
    values, forms, _ = check_series(y, "y", "SequenceForecaster")
    assert len(values[0]) == len(y) and forms[0].index is y.index
