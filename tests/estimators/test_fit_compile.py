"""A short fit trains seqkit's layers uncompiled, a long one compiled: the same numbers.

The estimators choose by the training steps a fit will run
(:data:`seqkit.cells._graph.COMPILE_AFTER_STEPS`): the choice is about time only.
Ragged sequences are padded to the longest, so the batches are the same either way.
"""

import numpy as np
import pytest

from seqkit.cells import _fast
from seqkit.estimators import _base
from tests.estimators.data import fast_classifier, ragged_classification


def _fit(cell, monkeypatch, threshold):
    monkeypatch.setattr(_base, "COMPILE_AFTER_STEPS", threshold)
    X, y = ragged_classification(n=40)
    model = fast_classifier(cell=cell, epochs=3, early_stopping=False, random_state=3)
    return model.fit(X, y), X


def _chosen(monkeypatch):
    """The ``compiled`` flag of every training pass the fast path picks, in a list."""
    chosen, passes = [], _fast.passes

    def recording(forward, backward, compiled):
        chosen.append(compiled)
        return passes(forward, backward, compiled)

    monkeypatch.setattr(_fast, "passes", recording)
    return chosen


@pytest.mark.parametrize("cell", ["peephole_lstm", "elman"])
def test_uncompiled_and_compiled_fits_give_the_same_losses_and_predictions(cell, monkeypatch):
    chosen = _chosen(monkeypatch)
    short, X = _fit(cell, monkeypatch, threshold=10**6)  # every fit counts as short
    assert chosen and not any(chosen)  # traced as plain graph ops, nothing compiled
    chosen.clear()
    long, _ = _fit(cell, monkeypatch, threshold=0)  # every fit counts as long
    assert chosen and all(chosen)
    np.testing.assert_allclose(short.history_["loss"], long.history_["loss"], rtol=1e-5)
    np.testing.assert_allclose(short.history_["val_loss"], long.history_["val_loss"],
                               rtol=1e-5)
    np.testing.assert_allclose(short.predict_proba(X), long.predict_proba(X), atol=1e-5)


def test_the_steps_of_a_fit_decide():
    model = fast_classifier(epochs=10, batch_size=32, validation_fraction=0.1)
    assert model._budget(270, 0.1).updates == 10 * 8  # JapaneseVowels: 243 to train
    assert model._budget(270, 0.1).updates < _base.COMPILE_AFTER_STEPS
    long = fast_classifier(epochs=100, batch_size=32)._budget(2000, 0.1)
    assert long.updates > _base.COMPILE_AFTER_STEPS
