"""scikit-learn's own estimator checks.

The checks feed 2-D ``X`` (rows as samples) and one label or value per row.
SequenceClassifier reads such ``X`` as univariate sequences (one per row, one
step per column) and runs them all; the few that cannot apply to sequence
models carry their reason in ``EXPECTED_FAILURES``.

SequenceTagger (one label sequence per input sequence) and SequenceForecaster
(``fit(y, X=None)``, ``predict(horizon, y, X)``) are not made for that data:
they keep the checks of their API that pass (cloning, parameters, tags, refusal
of sparse or complex input, errors before fit) and skip every other check with
its reason in ``SKIPPED``. Their contract on the inputs they are made for is
checked in test_contract.py.
"""

import pytest
from sklearn.utils.estimator_checks import estimator_checks_generator, parametrize_with_checks

from seqkit.estimators import SequenceClassifier, SequenceForecaster, SequenceTagger

FAST = {"units": 4, "batch_size": 16, "random_state": 0}

ESTIMATORS = [
    # Trained enough to predict every class, as check_classifiers_classes asks. Every check's
    # data fits in one batch, so each fit traces its training step once (an epoch's last,
    # shorter batch traces it again): 100 full-batch steps cost less than that second trace.
    SequenceClassifier(units=4, batch_size=512, random_state=0, epochs=100, learning_rate=0.05,
                       early_stopping=False, validation_fraction=0.0),
    SequenceTagger(**FAST, epochs=1),
    SequenceForecaster(**FAST, epochs=1, lookback=2, horizon=1),
]

_LENGTH_IS_NOT_A_FEATURE = (
    "2-D X holds univariate sequences: its columns are timesteps, not features, so "
    "n_features_in_ is 1 and X with another number of columns is valid input (a recurrent "
    "model reads sequences of any length)."
)

EXPECTED_FAILURES = {
    "SequenceClassifier": {
        "check_n_features_in": _LENGTH_IS_NOT_A_FEATURE,
        "check_n_features_in_after_fitting": _LENGTH_IS_NOT_A_FEATURE,
        "check_classifiers_train": _LENGTH_IS_NOT_A_FEATURE + " (The check predicts on X.T.)",
    },
}

_LABEL_SEQUENCES = (
    "SequenceTagger's y is one label sequence per input sequence (one label per step); the "
    "check gives one scalar label per sample, which fit refuses. test_contract.py checks "
    "this on token and numeric sequences."
)
_FORECASTING_API = (
    "SequenceForecaster follows fit(y, X=None) and predict(horizon, y, X): the check's X "
    "is taken as the series and its y as covariates, and predict(X) passes an array as the "
    "horizon, which is refused. test_contract.py checks this on series, lists of series and "
    "covariates."
)
_PASSES_BY_MISREADING = (
    "Passes, but only by fitting the check's X as one series (its rows as steps, its columns "
    "as targets) with the check's y as covariates, which says nothing a forecaster is for. "
    "test_contract.py checks this on series, lists of series and covariates."
)
_FIT1D = "A 1-D array is one univariate series, which a forecaster accepts."

SKIPPED = {
    "SequenceClassifier": {},
    "SequenceTagger": dict.fromkeys([
        "check_fit_score_takes_y", "check_estimators_overwrite_params",
        "check_dont_overwrite_parameters", "check_estimators_fit_returns_self",
        "check_readonly_memmap_input", "check_n_features_in_after_fitting",
        "check_positive_only_tag_during_fit", "check_estimators_dtypes", "check_dtype_object",
        "check_pipeline_consistency", "check_estimators_nan_inf", "check_estimators_pickle",
        "check_f_contiguous_array_estimator", "check_methods_sample_order_invariance",
        "check_methods_subset_invariance", "check_fit2d_1sample", "check_fit2d_1feature",
        "check_dict_unchanged", "check_fit_idempotent", "check_fit_check_is_fitted",
        "check_n_features_in", "check_fit2d_predict1d",
    ], _LABEL_SEQUENCES),
    "SequenceForecaster": {
        **dict.fromkeys([
            "check_fit_score_takes_y", "check_n_features_in_after_fitting",
            "check_estimators_dtypes", "check_dtype_object",
            "check_estimators_empty_data_messages", "check_pipeline_consistency",
            "check_estimators_nan_inf", "check_estimators_pickle",
            "check_f_contiguous_array_estimator", "check_methods_sample_order_invariance",
            "check_methods_subset_invariance", "check_fit2d_1sample", "check_dict_unchanged",
            "check_fit_idempotent", "check_n_features_in", "check_fit2d_predict1d",
        ], _FORECASTING_API),
        **dict.fromkeys([
            "check_dont_overwrite_parameters", "check_estimators_fit_returns_self",
            "check_estimators_overwrite_params", "check_fit2d_1feature",
            "check_fit_check_is_fitted", "check_positive_only_tag_during_fit",
            "check_readonly_memmap_input",
        ], _PASSES_BY_MISREADING),
        "check_fit1d": _FIT1D,
    },
}


def _name(check):
    return getattr(check, "func", check).__name__


def _expected_failures(estimator):
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


@pytest.mark.slow
@parametrize_with_checks(
    ESTIMATORS, expected_failed_checks=_expected_failures, xfail_strict=True
)
def test_sklearn_compatible_estimator(estimator, check):
    reason = SKIPPED[type(estimator).__name__].get(_name(check))
    if reason:
        pytest.skip(reason)
    check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_every_skipped_or_expected_failure_names_a_check_of_sklearn(estimator):
    owner = type(estimator).__name__
    names = {_name(check) for _, check in estimator_checks_generator(estimator)}
    listed = set(SKIPPED[owner]) | set(EXPECTED_FAILURES.get(owner, {}))
    assert listed <= names, sorted(listed - names)
    assert not set(SKIPPED[owner]) & set(EXPECTED_FAILURES.get(owner, {}))
