"""SequenceClassifier: inputs, labels, composition with scikit-learn tools."""

import pickle

import numpy as np
import pytest
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline

from seqkit.exceptions import InvalidInputError
from seqkit.preprocessing import SequenceScaler
from seqkit.training import SmoothedSparseCrossentropy
from tests.estimators.data import fast_classifier, ragged_classification


def test_fit_on_ragged_sequences_predicts_one_label_per_sequence():
    X, y = ragged_classification()
    clf = fast_classifier().fit(X, y)
    assert clf.classes_.tolist() == ["down", "up"]
    assert clf.n_features_in_ == 2
    assert set(clf.history_) >= {"loss", "val_loss"} and len(clf.history_["loss"]) == 2
    proba = clf.predict_proba(X)
    assert proba.shape == (24, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert clf.predict(X).tolist() == clf.classes_[proba.argmax(axis=1)].tolist()


def test_predict_traces_its_step_once_for_batches_of_any_number_of_rows():
    from seqkit.estimators._base import _PREDICT_STEPS

    X, y = ragged_classification()
    clf = fast_classifier(batch_size=8).fit(X, y)
    proba = clf.predict_proba(X[:21])  # batches of 8, 8 and 5 sequences
    assert _PREDICT_STEPS[clf.model_].experimental_get_tracing_count() == 1
    np.testing.assert_allclose(proba[16:], clf.predict_proba(X[16:21]), atol=1e-6)


def test_padding_changes_nothing_a_sequence_predicts_the_same_alone_or_in_a_batch():
    X, y = ragged_classification()
    clf = fast_classifier().fit(X, y)
    short, long = X[0][:3], np.random.default_rng(1).normal(size=(40, 2))
    alone = clf.predict_proba([short])
    batched = clf.predict_proba([long, short])  # padded to 40 steps
    np.testing.assert_allclose(batched[1], alone[0], atol=1e-6)


@pytest.mark.parametrize(
    "labels", [np.array([3, 7]), np.array([True, False]), np.array(["cat", "dog"], dtype=object)]
)
def test_any_label_type_round_trips_through_classes_(labels):
    X, y = ragged_classification()
    y = np.where(y == "up", labels[0], labels[1])
    clf = fast_classifier().fit(X, y)
    assert sorted(clf.classes_.tolist()) == sorted(labels.tolist())
    assert set(clf.predict(X).tolist()) <= set(labels.tolist())
    assert clf.predict(X).dtype == clf.classes_.dtype


def test_3d_and_2d_inputs_and_sequences_longer_than_in_fit():
    rng = np.random.default_rng(0)
    X3 = rng.normal(size=(16, 5, 3))
    y = (X3[:, :, 0].mean(axis=1) > 0).astype(int)
    assert fast_classifier().fit(X3, y).predict(rng.normal(size=(2, 50, 3))).shape == (2,)
    X2 = X3[:, :, 0]
    clf = fast_classifier().fit(X2, y)
    assert clf.n_features_in_ == 1
    assert clf.predict(rng.normal(size=(3, 9))).shape == (3,)
    # A 2-D array is univariate sequences: the 3-D array with one feature.
    np.testing.assert_array_equal(clf.predict_proba(X2), clf.predict_proba(X2[:, :, None]))
    np.testing.assert_array_equal(
        clf.predict_proba(X2), fast_classifier().fit(X2[:, :, None], y).predict_proba(X2)
    )


@pytest.mark.slow
def test_learns_an_easy_problem():
    X, y = ragged_classification(n=64)
    clf = fast_classifier(units=8, epochs=40, learning_rate=0.02, early_stopping=False,
                          validation_fraction=0.0).fit(X, y)
    X_test, y_test = ragged_classification(n=64, seed=1)
    assert clf.score(X_test, y_test) > 0.8


@pytest.mark.slow
@pytest.mark.parametrize("ragged", [True, False], ids=["ragged", "3-D"])
def test_grid_search_and_cross_val_score(ragged):
    X, y = ragged_classification(n=16)
    if not ragged:
        X = np.stack([x[:3] for x in X])
    search = GridSearchCV(fast_classifier(epochs=1), {"units": [2, 3]}, cv=2).fit(X, y)
    means = search.cv_results_["mean_test_score"]
    assert search.best_params_ == {"units": [2, 3][int(np.argmax(means))]}
    # The best parameters are refit on all the data.
    refit = fast_classifier(epochs=1, **search.best_params_).fit(X, y)
    np.testing.assert_array_equal(search.predict_proba(X), refit.predict_proba(X))

    folds = list(KFold(2).split(X))
    scores = cross_val_score(fast_classifier(epochs=1), X, y, cv=folds)
    expected = []
    for train, test in folds:
        model = fast_classifier(epochs=1).fit(_take(X, train), y[train])
        expected.append(accuracy_score(y[test], model.predict(_take(X, test))))
    np.testing.assert_allclose(scores, expected)


def _take(X, rows):
    return [X[i] for i in rows] if isinstance(X, list) else X[rows]


def test_pipeline_with_a_sequence_scaler_on_ragged_input():
    X, y = ragged_classification()
    X = [100.0 + 50.0 * x for x in X]
    pipeline = make_pipeline(SequenceScaler(), fast_classifier()).fit(X, y)
    # By hand: standardise every step with the mean and deviation of all steps, then fit.
    steps = np.concatenate(X)
    scaled = [(x - steps.mean(axis=0)) / steps.std(axis=0) for x in X]
    alone = fast_classifier().fit(scaled, y)
    np.testing.assert_allclose(pipeline.predict_proba(X), alone.predict_proba(scaled), atol=1e-6)
    assert pipeline.score(X, y) == accuracy_score(y, alone.predict(scaled))


def test_network_batch_is_what_the_network_was_trained_on():
    """The network's loss on the batch equals the cross-entropy of predict_proba against the
    (smoothed) labels, and the targets decode back to the labels."""
    X, y = ragged_classification()
    clf = fast_classifier().fit(X, y)
    x, targets = clf.network_batch(X, y)
    assert x.dtype == np.float32 and x.shape == (24, max(len(s) for s in X), 2)
    for row, sequence in zip(x, X):
        np.testing.assert_array_equal(row[:len(sequence)], sequence.astype(np.float32))
        assert np.isnan(row[len(sequence):]).all()
    assert targets.dtype == np.int32 and targets.shape == (24,)
    np.testing.assert_array_equal(clf.classes_[targets], y)
    smoothing, n_classes = clf.label_smoothing, len(clf.classes_)
    q = np.full((24, n_classes), smoothing / n_classes)  # the smoothed targets
    q[np.arange(24), targets] += 1 - smoothing
    by_hand = -np.mean((q * np.log(clf.predict_proba(X))).sum(axis=1))
    loss = clf.model_.evaluate(x, targets, batch_size=24, verbose=0)
    assert loss == pytest.approx(by_hand, rel=1e-5)


def test_network_batch_refuses_labels_never_seen_and_other_features():
    X, y = ragged_classification()
    clf = fast_classifier().fit(X, y)
    with pytest.raises(InvalidInputError, match=r"y contains labels that SequenceClassifier "
                                                r"never saw in fit: \['sideways'\]"):
        clf.network_batch(X[:2], ["up", "sideways"])
    with pytest.raises(InvalidInputError, match="3 features"):
        clf.network_batch([np.zeros((4, 3))], ["up"])


def test_a_classifier_pickled_before_the_branch_pooling_and_smoothing_loads_without_them():
    X, y = ragged_classification(n=40)
    clf = fast_classifier(conv_branch=False, step_pooling=1).fit(X, y)
    new = ("conv_branch", "step_pooling", "step_pooling_", "label_smoothing")
    old = object.__new__(type(clf))
    old.__setstate__({k: v for k, v in clf.__getstate__().items() if k not in new})
    loaded = pickle.loads(pickle.dumps(old))
    assert loaded.get_params() == clf.get_params() and loaded.step_pooling_ == 1
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_label_smoothing_trains_on_smoothed_targets_and_0_on_the_plain_cross_entropy():
    X, y = ragged_classification(n=40)
    smoothed = fast_classifier(label_smoothing=0.2).fit(X, y)
    loss = smoothed.model_.loss
    assert isinstance(loss, SmoothedSparseCrossentropy) and loss.label_smoothing == 0.2
    assert fast_classifier(label_smoothing=0.0).fit(X, y).model_.loss == \
        "sparse_categorical_crossentropy"
    x, targets = smoothed.network_batch(X, y)
    p = np.clip(smoothed.model_.predict(x, verbose=0), 1e-7, 1 - 1e-7)
    q = np.full_like(p, 0.2 / p.shape[1])
    q[np.arange(len(targets)), targets] += 0.8
    assert smoothed.model_.evaluate(x, targets, verbose=0) == pytest.approx(
        np.mean(-(q * np.log(p)).sum(axis=1)), rel=1e-4)
    loaded = pickle.loads(pickle.dumps(smoothed))
    assert loaded.label_smoothing == 0.2
    np.testing.assert_array_equal(loaded.predict_proba(X), smoothed.predict_proba(X))
