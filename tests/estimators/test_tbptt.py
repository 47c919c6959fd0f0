"""Truncated BPTT through the estimators: refused with every setting that blocks it, at once,
and trained on real data where the network allows it."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from seqkit import datasets
from seqkit.estimators import SequenceClassifier, SequenceForecaster, SequenceTagger
from seqkit.exceptions import InvalidParameterError
from tests.estimators.data import (
    fast_tagger,
    monthly_series,
    numeric_tagging,
    ragged_classification,
    tagging_tokens,
)


def _refused(estimator, X, y, pattern):
    with pytest.raises(InvalidParameterError, match=pattern):
        estimator.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(estimator)


def test_a_classifier_names_every_setting_that_blocks_tbptt():
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(n, 2)) for n in (150, 230, 90, 120)]  # step_pooling "auto" -> 3
    _refused(SequenceClassifier(tbptt_steps=10), X, ["a", "b", "a", "b"],
             r"The 'tbptt_steps' parameter of SequenceClassifier needs a network read forward "
             r"one step at a time, whose states carry from chunk to chunk: set "
             r"bidirectional=False and conv_branch=False and step_pooling=1\. Got tbptt_steps=10 "
             r"with bidirectional=True, conv_branch=True, "
             r"step_pooling='auto' \(3 for this data\)\.$")
    _refused(SequenceClassifier(tbptt_steps=10, bidirectional=False, conv_branch=False), X,
             ["a", "b", "a", "b"],
             r"set step_pooling=1\. Got tbptt_steps=10 with step_pooling='auto' \(3 for ")


def test_a_tagger_names_the_branch_only_for_numeric_input():
    X, y = numeric_tagging()
    _refused(SequenceTagger(tbptt_steps=2), X, y,
             r"set bidirectional=False and conv_branch=False\. Got tbptt_steps=2 with "
             r"bidirectional=True, conv_branch=True\.$")
    tokens, tags = tagging_tokens()
    _refused(SequenceTagger(tbptt_steps=2, crf=False), tokens, tags,
             r"set bidirectional=False\. Got tbptt_steps=2 with bidirectional=True\.$")
    # Token input has no branch, so the default conv_branch=True does not block it.
    tagger = fast_tagger(tbptt_steps=2, epochs=1).fit(tokens, tags)
    assert [len(p) for p in tagger.predict(tokens)] == [len(t) for t in tokens]


def test_a_tagger_refuses_tbptt_with_a_crf_also_when_auto_chooses_it():
    """A CRF's loss would score every chunk as a whole sentence, where IOB2 forbids the
    I- tag that starts a chunk cut inside an entity."""
    tokens, tags = tagging_tokens()  # IOB2 tags: crf="auto" resolves to a CRF
    _refused(SequenceTagger(tbptt_steps=2), tokens, tags,
             r"whose states carry from chunk to chunk, and a loss of each step alone, not a "
             r"CRF's over whole label paths, which the chunks would cut: set "
             r"bidirectional=False and crf=False\. Got tbptt_steps=2 with bidirectional=True, "
             r"crf='auto' \(True for this data\)\.$")
    X, y = numeric_tagging()
    _refused(SequenceTagger(tbptt_steps=2, bidirectional=False, conv_branch=False, crf=True),
             X, y, r"set crf=False\. Got tbptt_steps=2 with crf=True\.$")


def test_a_forecaster_names_bidirectional_and_chunks_longer_than_the_data_are_refused():
    series = monthly_series()
    with pytest.raises(InvalidParameterError, match=r"set bidirectional=False\. Got "
                       r"tbptt_steps=2 with bidirectional=True\.$"):
        SequenceForecaster(horizon=2, lookback=6, bidirectional=True, tbptt_steps=2).fit(series)
    # Sequences of 3 to 8 steps: a 50-step chunk is refused once the data are seen, and the
    # estimator is left unfitted rather than half-fitted.
    X, y = ragged_classification()
    _refused(SequenceClassifier(bidirectional=False, conv_branch=False, tbptt_steps=50), X, y,
             r"'tbptt_steps' .* must be an int in \[1, 8\]\. Got 50")


def test_a_forward_classifier_trains_with_tbptt_on_japanese_vowels():
    X_train, y_train, X_test, y_test = datasets.load_classification("japanese_vowels")
    clf = SequenceClassifier(bidirectional=False, conv_branch=False, tbptt_steps=8, units=16,
                             epochs=15, batch_size=32, learning_rate=0.01, random_state=0)
    clf.fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.6  # 9 speakers: chance is below 0.24

