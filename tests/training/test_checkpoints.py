"""Checkpoints of fit: an interrupted fit resumes where it stopped."""

import json
import os

import keras
import numpy as np
import pytest

from seqkit import training
from tests.training.tiny import flat_weights, tiny_data, tiny_model


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            raise KeyboardInterrupt


@pytest.mark.slow
def test_an_interrupted_fit_resumes_where_it_stopped(tmp_path):
    x, y = tiny_data(per_step=False)
    start = tiny_model(per_step=False).get_weights()

    def fresh(weights=start):
        model = tiny_model(per_step=False)
        model.set_weights(weights)
        return model

    whole = fresh()
    expected = training.fit(whole, x, y, epochs=4, batch_size=len(x))
    with pytest.raises(KeyboardInterrupt):
        training.fit(fresh(), x, y, epochs=4, batch_size=len(x), checkpoint_dir=tmp_path,
                     callbacks=[_Interrupt()])
    assert json.loads((tmp_path / "state.json").read_text())["epochs"] == 2
    other = fresh([w + 1.0 for w in start])  # the checkpoint, not these, must count
    resumed = training.fit(other, x, y, epochs=4, batch_size=len(x), checkpoint_dir=tmp_path)
    np.testing.assert_allclose(resumed["loss"], expected["loss"], rtol=1e-4)
    # The weights, and Adam's moments with them.
    np.testing.assert_allclose(flat_weights(other), flat_weights(whole), atol=1e-5)
    assert sorted(os.listdir(tmp_path)) == ["epoch-0004.weights.h5", "state.json"]
