"""SequenceTagger: token and numeric sequences, label lists, scores."""

import numpy as np
import pytest
from sklearn.metrics import make_scorer
from sklearn.model_selection import cross_val_score

from seqkit.metrics import entity_f1, token_accuracy
from seqkit.preprocessing import OOV_ID
from tests.estimators.data import fast_tagger, tagging_tokens


def test_token_sequences_get_label_lists_of_their_own_lengths():
    X, y = tagging_tokens()
    tagger = fast_tagger().fit(X, y)
    assert tagger.classes_.tolist() == ["B-LOC", "B-PER", "I-PER", "O"]
    predicted = tagger.predict(X)
    assert [len(p) for p in predicted] == [len(x) for x in X]
    assert all(isinstance(label, str) for labels in predicted for label in labels)
    probabilities = tagger.predict_proba(X[:2])
    assert [p.shape for p in probabilities] == [(3, 4), (4, 4)]
    assert tagger.score(X, y) == pytest.approx(token_accuracy(y, predicted))


def test_unknown_tokens_share_the_out_of_vocabulary_id():
    X, y = tagging_tokens()
    tagger = fast_tagger().fit(X, y)
    assert tagger.vocabulary_.transform([["Zorro"]])[0].tolist() == [OOV_ID]
    assert len(tagger.predict([["Zorro", "visited", "Atlantis", "today"]])[0]) == 4


def test_numeric_sequences_with_integer_labels():
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(n, 3)) for n in (5, 9, 2, 7)]
    y = [(x[:, 0] > 0).astype(int) for x in X]
    tagger = fast_tagger().fit(X, y)
    assert tagger.n_features_in_ == 3 and tagger.vocabulary_ is None
    predicted = tagger.predict(X)
    assert [len(p) for p in predicted] == [5, 9, 2, 7]
    assert set(np.concatenate(predicted).tolist()) <= {0, 1}


@pytest.mark.slow
def test_learns_entity_tags_and_scores_them_with_entity_f1():
    X, y = tagging_tokens(repeat=8)
    tagger = fast_tagger(units=16, epochs=40, learning_rate=0.02, min_frequency=1,
                         early_stopping=False, validation_fraction=0.0).fit(X, y)
    assert tagger.score(X, y) > 0.9
    assert entity_f1(y, tagger.predict(X)) > 0.8


@pytest.mark.slow
def test_entity_f1_as_a_cross_validation_scorer():
    X, y = tagging_tokens(repeat=2)
    scores = cross_val_score(fast_tagger(epochs=1), X, y, cv=2, scoring=make_scorer(entity_f1))
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
