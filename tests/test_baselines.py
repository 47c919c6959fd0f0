"""Tests of the classical baselines: small hand-checked cases, then the bundled data."""

import numpy as np
import pytest

from seqkit import baselines, datasets
from seqkit.exceptions import InputTypeError, InvalidInputError, InvalidParameterError


def _dtw_reference(a, b):
    """The textbook O(n m) dynamic programme, squared Euclidean local cost."""
    total = np.full((len(a) + 1, len(b) + 1), np.inf)
    total[0, 0] = 0.0
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = np.sum((a[i - 1] - b[j - 1]) ** 2)
            total[i, j] = cost + min(total[i - 1, j - 1], total[i - 1, j], total[i, j - 1])
    return total[-1, -1]


# ---------------------------------------------------------------------------- forecasting


def test_seasonal_naive_repeats_the_last_season():
    forecaster = baselines.SeasonalNaiveForecaster(season_length=3).fit([1, 2, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(forecaster.predict(7), [5, 6, 7, 5, 6, 7, 5])


def test_seasonal_naive_of_season_1_is_the_last_value():
    np.testing.assert_array_equal(
        baselines.SeasonalNaiveForecaster().fit([3.0, 1.0, 2.0]).predict(2), [2.0, 2.0]
    )


@pytest.mark.parametrize(
    ("y", "error", "match"),
    [
        ([1.0, 2.0], InvalidInputError, "at least 3 values"),
        ([[1.0, 2.0, 3.0]], InvalidInputError, "must be 1-D"),
        ([1.0, np.nan, 2.0, 3.0], InvalidInputError, "NaN or inf"),
    ],
)
def test_seasonal_naive_rejects_bad_series(y, error, match):
    with pytest.raises(error, match=match):
        baselines.SeasonalNaiveForecaster(season_length=3).fit(y)


def test_seasonal_naive_rejects_a_bad_season_length():
    with pytest.raises(InvalidParameterError, match="'season_length' parameter"):
        baselines.SeasonalNaiveForecaster(season_length=0).fit([1.0, 2.0])


def test_auto_ets_picks_a_seasonal_trend_form_for_a_seasonal_trend():
    rng = np.random.default_rng(0)
    t = np.arange(96)
    y = 10 + 0.5 * t + 5 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.3, t.size)
    forecaster = baselines.AutoETSForecaster(season_length=12).fit(y[:84])
    assert forecaster.form_["seasonal"] == "add" and forecaster.form_["trend"] == "add"
    forecast = forecaster.predict(12)
    assert forecast.shape == (12,)
    assert np.mean(np.abs(forecast - y[84:])) < 1.0


def test_auto_ets_has_no_seasonal_form_without_two_seasons():
    forecaster = baselines.AutoETSForecaster(season_length=12).fit(np.arange(20.0))
    assert forecaster.form_["seasonal"] is None


def test_auto_ets_keeps_the_simple_form_when_no_form_has_a_finite_aicc():
    forecaster = baselines.AutoETSForecaster(season_length=4).fit([3.0, 5.0, 4.0, 6.0])
    assert forecaster.form_ == {"trend": None, "damped_trend": False, "seasonal": None}
    assert np.isfinite(forecaster.predict(4)).all()


def test_theta_matches_statsmodels_on_the_airline_series():
    from statsmodels.tsa.forecasting.theta import ThetaModel

    y = datasets.load_series("airline").to_numpy()
    forecaster = baselines.ThetaForecaster(season_length=12).fit(y[:-18])
    expected = ThetaModel(y[:-18], period=12).fit().forecast(18)
    assert forecaster.deseasonalize_
    np.testing.assert_allclose(forecaster.predict(18), expected, rtol=1e-12)


def test_theta_fits_a_series_shorter_than_two_seasons_plain():
    from statsmodels.tsa.forecasting.theta import ThetaModel

    y = datasets.load_series("airline").to_numpy()[:20]
    forecaster = baselines.ThetaForecaster(season_length=12, theta=3.0).fit(y)
    expected = ThetaModel(y, deseasonalize=False).fit().forecast(6, theta=3.0)
    assert not forecaster.deseasonalize_
    np.testing.assert_allclose(forecaster.predict(6), expected, rtol=1e-12)


@pytest.mark.parametrize("level", [5.0, -3.0, 100.0])
@pytest.mark.parametrize("season_length", [1, 4])
def test_theta_forecasts_a_constant_series_as_that_constant(level, season_length):
    # statsmodels' ThetaModel alone gave 9.48, 10.11, 10.73 for a series of twelve 5s.
    forecaster = baselines.ThetaForecaster(season_length=season_length).fit(np.full(12, level))
    np.testing.assert_array_equal(forecaster.predict(3), np.full(3, level))
    assert forecaster.results_ is None and not forecaster.deseasonalize_


@pytest.mark.parametrize("forecaster", [baselines.AutoETSForecaster, baselines.ThetaForecaster])
@pytest.mark.parametrize("season_length", [4, 12])
def test_ets_and_theta_forecast_short_series(forecaster, season_length):
    y = datasets.load_series("airline").to_numpy()
    for n in (4, 8, 12, 16, 20):
        forecast = forecaster(season_length=season_length).fit(y[-n:]).predict(6)
        assert forecast.shape == (6,) and np.isfinite(forecast).all()


def test_theta_rejects_a_theta_below_1():
    with pytest.raises(InvalidParameterError, match="'theta' parameter of ThetaForecaster"):
        baselines.ThetaForecaster(theta=0.5).fit(np.arange(10.0))


# ---------------------------------------------------------------------------- classification


def test_dtw_distances_match_the_textbook_recursion_for_ragged_sequences():
    rng = np.random.default_rng(1)
    A = [rng.normal(size=(n, 3)) for n in (4, 7, 5)]
    B = [rng.normal(size=(n, 3)) for n in (6, 3)]
    expected = [[_dtw_reference(a, b) for b in B] for a in A]
    np.testing.assert_allclose(baselines.dtw_distances(A, B), expected, rtol=1e-10)
    # Each pair keeps its place when B is longer than A, and a padded 3-D array is read
    # to each sequence's real length.
    padded = np.full((3, 7, 3), np.nan)
    for i, a in enumerate(A):
        padded[i, : len(a)] = a
    np.testing.assert_allclose(baselines.dtw_distances(B, padded), np.transpose(expected),
                               rtol=1e-10)


def test_dtw_distance_ignores_time_shifts():
    a = np.array([0, 0, 1, 2, 1, 0, 0], dtype=float)[:, None]
    shifted = np.array([0, 1, 2, 1, 0, 0, 0], dtype=float)[:, None]
    assert baselines.dtw_distances([a], [shifted])[0, 0] == 0.0


def test_dtw_distances_reject_different_channel_counts():
    with pytest.raises(InvalidInputError, match="features"):
        baselines.dtw_distances([np.zeros((3, 2))], [np.zeros((3, 4))])


def test_nearest_neighbour_dtw_predicts_the_nearest_label():
    X = [np.sin(np.linspace(0, 6, 20))[:, None], np.linspace(-1, 1, 25)[:, None]]
    model = baselines.NearestNeighborDTWClassifier().fit(X, ["wave", "ramp"])
    test = [np.sin(np.linspace(0.3, 6.3, 23))[:, None], np.linspace(-1, 1, 18)[:, None]]
    np.testing.assert_array_equal(model.predict(test), ["wave", "ramp"])
    assert model.score(test, ["wave", "ramp"]) == 1.0
    assert list(model.classes_) == ["ramp", "wave"] and model.n_features_in_ == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "accuracy"), [("japanese_vowels", 0.9486), ("basic_motions", 0.975)]
)
def test_nearest_neighbour_dtw_reproduces_the_archive_reference(name, accuracy):
    X_train, y_train, X_test, y_test = datasets.load_classification(name)
    model = baselines.NearestNeighborDTWClassifier().fit(X_train, y_train)
    assert model.score(X_test, y_test) == pytest.approx(accuracy, abs=5e-4)


# ---------------------------------------------------------------------------- tagging

SENTENCES = [["東京", "に", "行く"], ["山田", "さん", "が", "東京", "に", "来る"]]
TAGS = [["B-LOC", "O", "O"], ["B-PSN", "O", "O", "B-LOC", "O", "O"]]


def test_most_frequent_tag_uses_each_tokens_commonest_tag_and_o_for_unknown_tokens():
    tagger = baselines.MostFrequentTagTagger().fit(SENTENCES, TAGS)
    assert tagger.predict([["東京", "の", "山田"]]) == [["B-LOC", "O", "B-PSN"]]


def test_most_frequent_tag_rejects_labels_of_the_wrong_length():
    with pytest.raises(InvalidInputError, match="X\\[1\\] and y\\[1\\] must have the same length"):
        baselines.MostFrequentTagTagger().fit(SENTENCES, [TAGS[0], TAGS[1][:2]])


def test_most_frequent_tag_rejects_non_token_input():
    with pytest.raises(InputTypeError):
        baselines.MostFrequentTagTagger().fit([[1, 2]], [["O", "O"]])


def test_crf_learns_tokens_and_numeric_sequences():
    tagger = baselines.CRFTagger(max_iterations=50).fit(SENTENCES * 5, TAGS * 5)
    assert tagger.predict(SENTENCES) == TAGS
    rng = np.random.default_rng(0)
    X = [np.concatenate([rng.normal(0, 0.1, (20, 2)), rng.normal(5, 0.1, (20, 2))])
         for _ in range(4)]
    y = [["low"] * 20 + ["high"] * 20 for _ in X]
    predicted = baselines.CRFTagger(max_iterations=50).fit(X, y).predict(X[:1])
    assert predicted == y[:1]


def test_char_classes_collapse_runs_of_one_script():
    assert baselines._char_classes("東京タワ") == "CJK+KATAKANA"
    assert baselines._char_classes("2008年") == "DIGIT+CJK"


def test_random_forest_step_tagger_labels_each_step_from_its_window():
    rng = np.random.default_rng(0)
    X = [np.concatenate([rng.normal(0, 1, (30, 2)), rng.normal(0, 5, (30, 2))]) for _ in range(4)]
    y = [["calm"] * 30 + ["busy"] * 30 for _ in X]
    tagger = baselines.RandomForestStepTagger(n_estimators=20, random_state=0).fit(X[:3], y[:3])
    predicted = tagger.predict(X[3:])
    assert len(predicted) == 1 and len(predicted[0]) == 60
    # Only the spread tells the halves apart, and only the window's standard deviation sees it.
    assert np.mean(np.array(predicted[0]) == np.array(y[3])) > 0.9
    assert list(tagger.classes_) == ["busy", "calm"] and tagger.n_features_in_ == 2


def test_random_forest_step_tagger_rejects_other_channel_counts():
    X = [np.zeros((5, 2)), np.ones((5, 2))]
    tagger = baselines.RandomForestStepTagger(n_estimators=2).fit(X, [["a"] * 5, ["b"] * 5])
    with pytest.raises(InvalidInputError, match="features"):
        tagger.predict([np.zeros((5, 3))])
