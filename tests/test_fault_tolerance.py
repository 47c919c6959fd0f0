"""A fit killed by SIGKILL in a real process resumes from its checkpoint as if never killed."""

import json
import os
import signal

import numpy as np
import pytest

from tests.helpers.processes import finished, python_env, started

EPOCHS = 4

# One process: trains, or dies by SIGKILL at the moment `kill` names, then saves its result.
SCRIPT = f"""
import os
import signal
import sys

import keras
import numpy as np

from seqkit import networks, training

out, checkpoints, kill = sys.argv[1:4]


def die():
    os.kill(os.getpid(), signal.SIGKILL)


class SaveWeights(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        np.savez(f"{{out}}.epoch{{epoch + 1}}.npz", *self.model.get_weights())


class KillMidEpoch(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == (2, 1):  # third epoch, second of its three batches
            die()


if kill == "while_checkpointing":  # the weights of epoch 3 written, not yet renamed
    rename = os.replace

    def replace(source, target):
        if os.path.basename(source) == "partial-epoch-0003.weights.h5":
            die()
        rename(source, target)

    os.replace = replace

rng = np.random.default_rng(0)
x = rng.normal(size=(32, 6, 3)).astype("float32")
y = np.cumsum(x[..., :1], axis=1)[:, -1] / 3
keras.utils.set_random_seed(0)
model = networks.build_many_to_one(3, 1, units=6, output_activation=None)
training.compile_model(model, loss="mse", learning_rate=0.02, metrics=["mae"])
callbacks = [SaveWeights()] + ([KillMidEpoch()] if kill == "mid_epoch" else [])
history = training.fit(model, x, y, epochs={EPOCHS}, batch_size=8, validation_fraction=0.25,
                       seed=0, checkpoint_dir=checkpoints, callbacks=callbacks)
np.savez(out, *model.get_weights(), **history)
"""


def _run(script, out, checkpoints, kill="never"):
    with started(([script, out, checkpoints, kill], python_env())) as (process,):
        return finished(process)


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    path = tmp_path_factory.mktemp("script") / "train.py"
    path.write_text(SCRIPT)
    return path


@pytest.fixture(scope="module")
def uninterrupted(script, tmp_path_factory):
    folder = tmp_path_factory.mktemp("uninterrupted")
    code, output = _run(script, folder / "result.npz", folder / "checkpoints")
    assert code == 0, output
    result = np.load(folder / "result.npz")
    epochs = {n: np.load(folder / f"result.npz.epoch{n}.npz") for n in range(1, EPOCHS + 1)}
    return result, epochs


def _checkpoint_loads(checkpoints, weights_after):
    """The weights file ``state.json`` names loads into the network, optimizer state too, and
    holds the weights the uninterrupted run had after that epoch."""
    from seqkit import networks, training

    state = json.loads((checkpoints / "state.json").read_text())
    model = networks.build_many_to_one(3, 1, units=6, output_activation=None)
    training.compile_model(model, loss="mse", learning_rate=0.02, metrics=["mae"])
    model.optimizer.build(model.trainable_variables)
    model.load_weights(checkpoints / state["weights"])
    assert int(model.optimizer.iterations.numpy()) == state["epochs"] * 3  # 3 batches an epoch
    expected = weights_after[state["epochs"]]
    for got, want in zip(model.get_weights(), expected.values(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    return state


@pytest.mark.slow
@pytest.mark.parametrize("kill, epochs_saved, left_over", [
    ("mid_epoch", 2, []),
    ("while_checkpointing", 2, ["partial-epoch-0003.weights.h5"]),
])
def test_a_killed_fit_resumes_and_ends_as_if_never_killed(kill, epochs_saved, left_over, script,
                                                          uninterrupted, tmp_path):
    """Resumed, it sees the batches of an uninterrupted run from the same weights and
    optimizer state, so its history and weights equal that run's up to rounding
    (measured: identical)."""
    checkpoints = tmp_path / "checkpoints"
    code, output = _run(script, tmp_path / "killed.npz", checkpoints, kill)
    assert code == -signal.SIGKILL, output
    assert not (tmp_path / "killed.npz").exists()
    files = sorted(os.listdir(checkpoints))
    assert files == sorted([f"epoch-{epochs_saved:04d}.weights.h5", "state.json", *left_over])
    uninterrupted, weights_after = uninterrupted
    state = _checkpoint_loads(checkpoints, weights_after)
    assert state["epochs"] == epochs_saved and not state["finished"]

    code, output = _run(script, tmp_path / "resumed.npz", checkpoints)
    assert code == 0, output
    resumed = np.load(tmp_path / "resumed.npz")
    assert sorted(resumed.files) == sorted(uninterrupted.files)
    for key in uninterrupted.files:
        np.testing.assert_allclose(resumed[key], uninterrupted[key], rtol=1e-6, atol=1e-7)
    assert len(resumed["loss"]) == EPOCHS
    # Nothing half-written is left, and what is left loads.
    assert sorted(os.listdir(checkpoints)) == [f"epoch-{EPOCHS:04d}.weights.h5", "state.json"]
    assert _checkpoint_loads(checkpoints, weights_after)["epochs"] == EPOCHS
