"""scikit-learn's own estimator checks on the three estimators.

The checks feed 2-D ``X``; the estimators read it as univariate sequences
(one per row, one step per column). Checks that cannot apply to sequence
models carry their reason in ``EXPECTED_FAILURES``.
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from seqkit.estimators import SequenceClassifier, SequenceForecaster, SequenceTagger

FAST = {"units": 4, "batch_size": 16, "random_state": 0}

ESTIMATORS = [
    # Trained enough to predict every class, as check_classifiers_classes asks.
    SequenceClassifier(**FAST, epochs=10, learning_rate=0.05, early_stopping=False,
                       validation_fraction=0.0),
    SequenceTagger(**FAST, epochs=1),
    SequenceForecaster(**FAST, epochs=1, lookback=2, horizon=1),
]

_LENGTH_IS_NOT_A_FEATURE = (
    "2-D X holds univariate sequences: its columns are timesteps, not features, so "
    "n_features_in_ is 1 and X with another number of columns is valid input (a recurrent "
    "model reads sequences of any length)."
)
_LABEL_SEQUENCES = (
    "SequenceTagger's y is one label sequence per input sequence (one label per step); the "
    "check gives one scalar label per sample, which is refused."
)
_FORECASTING_API = (
    "SequenceForecaster follows the forecasting convention fit(y, X=None) and "
    "predict(horizon, y, X): the check's X is taken as the series and its y as covariates, and "
    "predict(X) passes an array as the horizon, which is refused."
)

_TAGGER_FAILS = [
    "check_fit_score_takes_y", "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters", "check_estimators_fit_returns_self",
    "check_readonly_memmap_input", "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit", "check_estimators_dtypes", "check_dtype_object",
    "check_pipeline_consistency", "check_estimators_nan_inf", "check_estimators_pickle",
    "check_f_contiguous_array_estimator", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_fit2d_1sample", "check_fit2d_1feature",
    "check_dict_unchanged", "check_fit_idempotent", "check_fit_check_is_fitted",
    "check_n_features_in", "check_fit2d_predict1d",
]
_FORECASTER_FAILS = [
    "check_fit_score_takes_y", "check_n_features_in_after_fitting", "check_estimators_dtypes",
    "check_dtype_object", "check_estimators_empty_data_messages", "check_pipeline_consistency",
    "check_estimators_nan_inf", "check_estimators_pickle", "check_f_contiguous_array_estimator",
    "check_methods_sample_order_invariance", "check_methods_subset_invariance",
    "check_fit2d_1sample", "check_dict_unchanged", "check_fit_idempotent", "check_n_features_in",
    "check_fit2d_predict1d",
]

EXPECTED_FAILURES = {
    "SequenceClassifier": {
        "check_n_features_in": _LENGTH_IS_NOT_A_FEATURE,
        "check_n_features_in_after_fitting": _LENGTH_IS_NOT_A_FEATURE,
        "check_classifiers_train": _LENGTH_IS_NOT_A_FEATURE + " (The check predicts on X.T.)",
    },
    "SequenceTagger": dict.fromkeys(_TAGGER_FAILS, _LABEL_SEQUENCES),
    "SequenceForecaster": {
        **dict.fromkeys(_FORECASTER_FAILS, _FORECASTING_API),
        "check_fit1d": "A 1-D array is one univariate series, which a forecaster accepts.",
    },
}


def _expected_failures(estimator):
    return EXPECTED_FAILURES[type(estimator).__name__]


@pytest.mark.slow
@parametrize_with_checks(
    ESTIMATORS, expected_failed_checks=_expected_failures, xfail_strict=True
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
