"""What the estimators get from seqkit.training: a fit that diverges raises."""

import pytest
from sklearn.exceptions import NotFittedError

from seqkit import datasets, training
from seqkit.estimators import SequenceClassifier
from seqkit.exceptions import TrainingDivergedError


@pytest.fixture(scope="module")
def vowels():
    """60 sequences of the Japanese vowels training split: 7-29 steps, 12 channels."""
    X, y, _, _ = datasets.load_classification("japanese_vowels")
    return X[:60], y[:60]


def test_a_diverging_estimator_fit_raises_and_leaves_no_finished_checkpoint(vowels, tmp_path):
    """A learning rate of 1e37: Adam moves every weight by about that much in one step, and
    the read-out overflows float32."""
    X, y = vowels
    folder = tmp_path / "fit"
    classifier = SequenceClassifier(units=4, epochs=3, batch_size=16, learning_rate=1e37,
                                    early_stopping=False, validation_fraction=0.0,
                                    random_state=0, checkpoint_dir=folder)
    with pytest.raises(TrainingDivergedError, match=r"^The fit diverged: its loss became NaN "
                                                    r"or inf in epoch 1, "):
        classifier.fit(X, y)
    with pytest.raises(NotFittedError):
        classifier.predict(X)
    assert training.checkpoint_state(folder) is None
