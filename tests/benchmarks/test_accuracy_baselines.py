"""The accuracy suite's baselines: resampling, the archive's 1-NN errors, panel scoring."""

import accuracy_baselines
import accuracy_data
import numpy as np
import pytest

from seqkit.exceptions import InvalidParameterError
from seqkit.metrics import mean_absolute_scaled_error


def test_linear_resampler_stretches_each_sequence_to_the_longest():
    resampler = accuracy_baselines.LinearResampler().fit([np.arange(3.0), np.arange(5.0)])
    np.testing.assert_allclose(resampler.transform([np.array([0.0, 2.0, 4.0])]),
                               [[0.0, 1.0, 2.0, 3.0, 4.0]])
    np.testing.assert_array_equal(resampler.transform([np.arange(5.0)]), [np.arange(5.0)])
    assert resampler.length_ == 5


# Test errors of 1-NN Euclidean distance published with the archive (Dau et al. 2019).
@pytest.mark.parametrize(
    ("name", "error"),
    [("Coffee", 0.0), ("ECG200", 0.12), ("CBF", 0.148), ("Beef", 0.333), ("Car", 0.267),
     ("FaceFour", 0.216), ("DiatomSizeReduction", 0.065)],
)
def test_euclidean_nearest_neighbour_reproduces_the_archives_error(name, error):
    X_train, y_train, X_test, y_test = accuracy_data.load_ucr(name)
    model = accuracy_baselines.euclidean_nearest_neighbor().fit(X_train, y_train)
    assert 1 - model.score(X_test, y_test) == pytest.approx(error, abs=1e-3)


def test_euclidean_nearest_neighbour_takes_ragged_sets():
    X_train, y_train, X_test, y_test = accuracy_data.load_ucr("GesturePebbleZ1")
    model = accuracy_baselines.euclidean_nearest_neighbor().fit(X_train, y_train)
    assert model.score(X_test, y_test) > 0.7


def test_panel_forecasts_and_scores_follow_each_series():
    panel = accuracy_data.load_panel("visnights")
    train, test = accuracy_data.split_panel(panel.data, panel.horizon)
    naive = accuracy_baselines.forecasting_baselines(panel.season_length)["seasonal naive"]
    forecasts = accuracy_baselines.forecast_panel(naive, train, panel.horizon, panel.freq)
    assert forecasts[["unique_id", "ds"]].equals(test[["unique_id", "ds"]])
    first = train[train["unique_id"] == "NSWMetro"]["y"].to_numpy()
    np.testing.assert_array_equal(forecasts["y_pred"][:8], np.tile(first[-4:], 2))
    scores = accuracy_baselines.panel_scores(train, test, forecasts, panel.season_length)
    assert list(scores.columns) == ["MASE", "sMAPE"] and len(scores) == 20
    expected = mean_absolute_scaled_error(test["y"][:8], forecasts["y_pred"][:8], first,
                                          season_length=4)
    assert scores.loc["NSWMetro", "MASE"] == pytest.approx(expected)
    assert scores.index.name == "unique_id"


def test_tagging_baselines_refuse_an_unknown_kind():
    assert set(accuracy_baselines.tagging_baselines("numeric")) == {"CRF", "random forest"}
    with pytest.raises(InvalidParameterError, match="'kind' parameter of tagging_baselines"):
        accuracy_baselines.tagging_baselines("images")
