"""Same random_state, deterministic ops: two fits in fresh processes predict bit for bit alike."""

import numpy as np
import pytest

from tests.helpers.processes import finished, python_env, started

CELLS = ("peephole_lstm", "elman")

# Two stacked layers with dropout between them, a validation split and early stopping:
# every seeded draw (weights, dropout masks, the shuffle before the split, the batch order).
SCRIPT = f"""
import sys

import numpy as np
import tensorflow as tf

tf.config.experimental.enable_op_determinism()

from seqkit.estimators import SequenceClassifier

rng = np.random.default_rng(0)
X = rng.normal(size=(24, 7, 3)).astype("float32")
y = np.where(X[:, :, 0].sum(axis=1) > 0, "up", "down")
predictions = {{}}
for cell in {CELLS!r}:
    classifier = SequenceClassifier(cell=cell, units=5, num_layers=2, dropout=0.2, epochs=3,
                                    batch_size=8, validation_fraction=0.25, n_iter_no_change=2,
                                    random_state=7)
    predictions[cell] = classifier.fit(X, y).predict_proba(X)
np.savez(sys.argv[1], **predictions)
"""


@pytest.mark.slow
def test_two_fresh_processes_predict_bit_identically(tmp_path):
    script = tmp_path / "fit.py"
    script.write_text(SCRIPT)
    outs = [tmp_path / f"run{i}.npz" for i in (1, 2)]
    with started(*(([script, out], python_env()) for out in outs)) as processes:
        for process in processes:
            code, output = finished(process)
            assert code == 0, output
    first, second = (np.load(out) for out in outs)
    for cell in CELLS:
        assert np.ptp(first[cell][:, 0]) > 0  # a trained network, not a constant
        assert np.array_equal(first[cell], second[cell]), cell
