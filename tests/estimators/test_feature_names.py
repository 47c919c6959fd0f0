"""Feature names: sequences given as pandas DataFrames are read by their columns' names.

As in scikit-learn, a fit on DataFrames with string columns records them as
``feature_names_in_``; later DataFrames must have those columns in that
order, arrays are read by position, and an export lists the names.
"""

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from seqkit import datasets
from seqkit.exceptions import InvalidInputError
from seqkit.export import MANIFEST, export_saved_model
from seqkit.preprocessing import SequenceScaler
from tests.estimators.data import fast_classifier, fast_forecaster, fast_tagger

CHANNELS = [f"c{j}" for j in range(12)]


@pytest.fixture(scope="module")
def vowels():
    """24 JapaneseVowels utterances (12 cepstral channels, 7-29 steps) as DataFrames, and
    their speakers."""
    X, y, _, _ = datasets.load_classification("japanese_vowels")
    rows = np.concatenate([np.flatnonzero(y == speaker)[:3] for speaker in np.unique(y)])
    return [pd.DataFrame(X[i], columns=CHANNELS) for i in rows], y[rows]


@pytest.fixture(scope="module")
def classifier(vowels):
    return fast_classifier(conv_branch=False).fit(*vowels)


def _steps(frames):
    return [np.where(frame["c0"].to_numpy() > frame["c0"].median(), "high", "low")
            for frame in frames]


def test_a_fit_on_dataframes_records_their_columns(classifier, vowels):
    assert classifier.feature_names_in_.dtype == object
    assert classifier.feature_names_in_.tolist() == CHANNELS
    assert pickle.loads(pickle.dumps(classifier)).feature_names_in_.tolist() == CHANNELS
    assert not hasattr(clone(classifier), "feature_names_in_")
    X, _ = vowels
    arrays = [frame.to_numpy() for frame in X]  # read by position, as scikit-learn reads them
    np.testing.assert_array_equal(classifier.predict_proba(arrays), classifier.predict_proba(X))


@pytest.mark.parametrize("change,words", [
    (lambda frame: frame[CHANNELS[::-1]], "another order: select the features in that order"),
    (lambda frame: frame.rename(columns={"c3": "C3"}), "missing ['c3'], unexpected ['C3']"),
])
def test_dataframes_with_other_columns_are_refused_after_fit(classifier, vowels, change, words):
    X, y = vowels
    changed = [change(frame) for frame in X]
    for call in (classifier.predict, classifier.predict_proba,
                 lambda data: classifier.network_batch(data, y)):
        with pytest.raises(InvalidInputError, match="SequenceClassifier was fit on") as err:
            call(changed)
        assert words in str(err.value)


def test_the_sequences_of_one_fit_must_share_their_columns(vowels):
    X, y = vowels
    mixed = [X[0][CHANNELS[::-1]], *X[1:]]
    for estimator in (SequenceScaler(), fast_classifier(), fast_tagger()):
        with pytest.raises(InvalidInputError, match=r"X\[0\] has \['c11'.*X\[1\] has \['c0'"):
            estimator.fit(mixed, y)


def test_columns_that_are_not_all_strings_give_no_names_and_a_refit_forgets_them(vowels):
    X, y = vowels
    scaler = SequenceScaler().fit(X)
    assert scaler.feature_names_in_.tolist() == CHANNELS
    scaler.fit([frame.set_axis(range(12), axis=1) for frame in X])
    assert not hasattr(scaler, "feature_names_in_")
    scaler.fit(X).fit([frame.to_numpy() for frame in X])
    assert not hasattr(scaler, "feature_names_in_")


def test_a_numeric_tagger_and_a_scaler_check_names_too(vowels):
    X, _ = vowels
    tagger = fast_tagger().fit(X, _steps(X))
    assert tagger.feature_names_in_.tolist() == CHANNELS
    reordered = [frame[CHANNELS[::-1]] for frame in X]
    with pytest.raises(InvalidInputError, match="features SequenceTagger was fit on"):
        tagger.predict(reordered)
    scaler = SequenceScaler().fit(X)
    with pytest.raises(InvalidInputError, match="features SequenceScaler was fit on"):
        scaler.transform(reordered)


def test_an_export_lists_the_names_from_the_estimator_or_the_pipelines_scaler(
        classifier, vowels, tmp_path):
    X, y = vowels
    pipeline = make_pipeline(SequenceScaler(), fast_classifier(conv_branch=False)).fit(X, y)
    assert pipeline.feature_names_in_.tolist() == CHANNELS  # the scaler's, as scikit-learn has it
    unnamed = fast_classifier(conv_branch=False).fit([frame.to_numpy() for frame in X], y)
    for name, model, names in [("estimator", classifier, CHANNELS),
                               ("pipeline", pipeline, CHANNELS), ("arrays", unnamed, None)]:
        manifest = json.loads((export_saved_model(model, tmp_path / name) / MANIFEST).read_text())
        assert manifest["feature_names"] == names, name


def test_an_export_refuses_dataframes_whose_columns_differ_as_predict_does(classifier, vowels,
                                                                           tmp_path):
    # It read them by position, and answered for the columns in another order.
    from seqkit.export import load_saved_model

    X, _ = vowels
    signature = load_saved_model(export_saved_model(classifier, tmp_path / "m"), "predict_proba")
    same = [frame.iloc[:7] for frame in X[:2]]
    np.testing.assert_allclose(signature(sequences=same)["probabilities"],
                               classifier.predict_proba(same), atol=1e-6)
    with pytest.raises(InvalidInputError, match=r"The columns of sequences must be the features "
                                                r"the exported model was fit on.*another order"):
        signature(sequences=[frame[CHANNELS[::-1]] for frame in same])


def test_a_forecasters_covariates_and_targets_are_read_by_name():
    y = datasets.load_series("airline")[:72]  # monthly passengers, 1949-1954
    calendar = pd.DataFrame({"month": y.index.month.astype(float),
                             "summer": y.index.month.isin([6, 7, 8]).astype(float)}, index=y.index)
    forecaster = fast_forecaster().fit(y, X=calendar)
    assert forecaster.feature_names_in_.tolist() == ["month", "summer"]
    future = pd.DataFrame({"month": [1.0, 2.0, 3.0], "summer": 0.0},
                          index=pd.date_range(y.index[-1], periods=4, freq="MS")[1:])
    np.testing.assert_array_equal(forecaster.predict(X=future.to_numpy()),
                                  forecaster.predict(X=future))
    with pytest.raises(InvalidInputError, match=r"covariates SequenceForecaster was fit on, in "
                                                r"the same order: \['month', 'summer'\]\. Got "
                                                r"\['summer', 'month'\] \(another order"):
        forecaster.predict(X=future[["summer", "month"]])
    assert not hasattr(fast_forecaster().fit(y), "feature_names_in_")

    both = pd.DataFrame({"passengers": y, "doubled": 2 * y})
    targets = fast_forecaster().fit(both)
    assert targets.predict(y=both).columns.tolist() == ["passengers", "doubled"]
    with pytest.raises(InvalidInputError, match=r"targets SequenceForecaster was fit on.*"
                                                r"missing \['doubled'\], unexpected \['twice'\]"):
        targets.predict(y=both.rename(columns={"doubled": "twice"}))
    with pytest.raises(InvalidInputError, match=r"DataFrames of y must have the same columns.*"
                                                r"they are the targets"):
        fast_forecaster().fit([both, both[["doubled", "passengers"]]])
    # Columns named after each series give no names, so a new series may have its own.
    per_series = fast_forecaster().fit([y.to_frame("airline"), (2 * y).to_frame("doubled")])
    assert per_series.predict(y=[y.to_frame("other")])[0].columns.tolist() == ["other"]


def test_forms_that_names_cannot_describe_are_refused(classifier, vowels):
    X, y = vowels
    arrays = [frame.to_numpy() for frame in X]
    with pytest.raises(InvalidInputError, match=r"X\[0\] is a DataFrame, whose columns are the "
                                                r"features, and X\[1\] a ndarray"):
        SequenceScaler().fit([X[0], *arrays[1:]])
    with pytest.raises(InvalidInputError, match="X must hold sequences of one form"):
        classifier.predict([X[0][CHANNELS[::-1]], *arrays[1:]])
    twice = [frame.set_axis(["c0"] * 12, axis=1) for frame in X]
    with pytest.raises(InvalidInputError, match=r"must have unique names.*repeats \['c0'\]"):
        SequenceScaler().fit(twice)
    with pytest.raises(InvalidInputError, match=r"X must be a list of DataFrames, one per "
                                                r"sequence.*give \[X\]"):
        classifier.predict(X[0])


def test_other_tables_give_no_names(vowels):
    import pyarrow as pa

    X, _ = vowels
    tables = [pa.Table.from_pandas(frame) for frame in X[:4]]
    scaler = SequenceScaler().fit(tables)  # read as arrays, by position
    assert not hasattr(scaler, "feature_names_in_") and scaler.n_features_in_ == 12


def test_a_numeric_taggers_export_lists_its_names_and_a_token_refit_forgets_them(
        vowels, tmp_path):
    X, _ = vowels
    tagger = fast_tagger().fit(X, _steps(X))
    manifest = json.loads((export_saved_model(tagger, tmp_path / "t") / MANIFEST).read_text())
    assert manifest["feature_names"] == CHANNELS
    tagger.fit([["a", "b"], ["b", "a", "a"]], [["x", "y"], ["y", "x", "x"]])
    assert not hasattr(tagger, "feature_names_in_")
