"""Training on several workers: two real worker processes on 127.0.0.1, and the API around them."""

import json
import os
import re
import socket
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf

from seqkit import distribute, networks, training
from seqkit.estimators import SequenceClassifier
from seqkit.exceptions import InvalidParameterError
from tests.helpers.processes import finished, python_env, started

# Every process runs this: two workers with their TF_CONFIG, and one alone as the reference.
# The strategy comes first, before any TensorFlow operation, as a multi-worker one must.
SCRIPT = """
import os
import shutil
import sys
from pathlib import Path

from seqkit import distribute

strategy = distribute.strategy_from_environment()

import keras
import numpy as np

from seqkit import networks, training
from seqkit.exceptions import InvalidParameterError

cell, out, checkpoints = sys.argv[1:4]
rng = np.random.default_rng(0)
x = rng.normal(size=(20, 5, 3)).astype("float32")
y = x.mean(axis=(1, 2))[:, None]
keras.utils.set_random_seed(0)
with distribute.distributed(strategy):
    model = networks.build_many_to_one(3, 1, cell=cell, units=4, output_activation=None)
    training.compile_model(model, loss="mse", learning_rate=0.05, global_clipnorm=None)
    history = training.fit(model, x, y, epochs=2, batch_size=8, validation_fraction=0.2,
                           seed=0, checkpoint_dir=checkpoints)

# A checkpoint only the chief sees (storage not shared): every worker refuses to resume,
# rather than fall out of step with the others.
private = Path(f"{checkpoints}-{os.getpid()}")
if distribute.is_chief(strategy):
    shutil.copytree(checkpoints, private)
try:
    training.fit(model, x, y, epochs=2, batch_size=8, validation_fraction=0.2, seed=0,
                 checkpoint_dir=private)
    refusal = ""
except InvalidParameterError as err:
    refusal = str(err)
np.savez(out, *model.get_weights(), replicas=strategy.num_replicas_in_sync,
         chief=distribute.is_chief(strategy), loss=history["loss"],
         val_loss=history["val_loss"], refusal=refusal)
"""


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["peephole_lstm", "elman"])
def test_two_workers_train_one_model_that_matches_one_process(cell, tmp_path):
    """Both workers end with the same weights, equal to one process's within rounding.

    Each step the workers take 4 of the batch's 8 samples each and all-reduce their
    gradients; one process sums the same 8 per-sample gradients in another order.
    That changes float32 rounding only (measured: at most 1.2e-7 here after four Adam
    steps), hence ``atol=1e-5``; anything else (a worker seeing all 8 samples, the
    gradient summed instead of averaged, a skipped all-reduce) moves weights by
    more than 1e-3.
    """
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    shared = tmp_path / "checkpoints"
    runs = [([script, cell, tmp_path / f"worker{i}.npz", shared],
             python_env({"cluster": cluster, "task": {"type": "worker", "index": i}}))
            for i in range(2)]
    runs.append(([script, cell, tmp_path / "alone.npz", tmp_path / "alone"], python_env()))
    with started(*runs) as processes:
        for process in processes:
            code, output = finished(process)
            assert code == 0, output

    first, second, single = (np.load(tmp_path / f"{name}.npz")
                             for name in ("worker0", "worker1", "alone"))
    assert (first["replicas"], second["replicas"], single["replicas"]) == (2, 2, 1)
    assert (first["chief"], second["chief"]) == (True, False)
    weights = [key for key in single.files if key.startswith("arr_")]
    for key in [*weights, "loss", "val_loss"]:
        np.testing.assert_array_equal(first[key], second[key])
    for key in weights:
        np.testing.assert_allclose(first[key], single[key], atol=1e-5)
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(first[key], single[key], rtol=1e-5)
    # Only the chief wrote checkpoints, and it left one complete one.
    assert sorted(os.listdir(shared)) == ["epoch-0002.weights.h5", "state.json"]
    assert str(single["refusal"]) == ""  # one process resumes its finished run: nothing to do
    for worker in (first, second):
        assert "must be storage every worker shares" in str(worker["refusal"])
        assert "[2, -1]" in str(worker["refusal"])


# ------------------------------------------------------------------ the environment


@pytest.mark.parametrize("tf_config", [None, "", json.dumps(
    {"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 0}})])
def test_one_worker_or_none_means_the_default_strategy(tf_config, monkeypatch):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    strategy = distribute.strategy_from_environment()
    assert strategy is tf.distribute.get_strategy()
    assert strategy.num_replicas_in_sync == 1 and distribute.is_chief(strategy)


def test_a_malformed_tf_config_is_named(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", "{cluster: workers}")
    with pytest.raises(InvalidParameterError, match="TF_CONFIG environment variable must be JSON") \
            as refused:
        distribute.strategy_from_environment()
    example = re.search(r"of the form (\{.*\})\. Got", str(refused.value)).group(1)
    assert json.loads(example.replace("...", '"host2:port"'))["task"]["index"] == 0


@pytest.mark.parametrize("config, words", [
    ({"cluster": {"worker": ["h:1"], "ps": ["h:2"]}, "task": {"type": "ps", "index": 0}},
     r"must name chief and worker tasks only: .* no \['ps'\] tasks"),
    ({"cluster": {"worker": ["h:1", "h:2"]}, "task": {"type": "worker", "index": 3}},
     r"task must be one of its cluster's tasks.* Got the task \{'type': 'worker', 'index': 3\}"),
    ({"cluster": {"worker": ["h:1", "h:2"]}, "task": {"type": "evaluator"}},
     r"task must be one of its cluster's tasks"),
])
def test_a_cluster_this_process_cannot_join_is_refused(monkeypatch, config, words):
    # Each machine trained alone, as if no cluster had been named.
    monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    with pytest.raises(InvalidParameterError, match=words):
        distribute.strategy_from_environment()


def test_a_late_multi_worker_strategy_says_it_must_come_first(monkeypatch):
    """This process has run TensorFlow already; TensorFlow's refusal is explained."""
    tf.constant(1.0)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    monkeypatch.setenv("TF_CONFIG", json.dumps(
        {"cluster": cluster, "task": {"type": "worker", "index": 0}}))
    with pytest.raises(RuntimeError, match="must be created at the start of the program"):
        distribute.strategy_from_environment()


# ------------------------------------------------- fit under a one-replica strategy


def _trained(strategy, **fit_kwargs):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 5, 3)).astype("float32")
    y = x.mean(axis=(1, 2))[:, None]
    keras.utils.set_random_seed(0)
    with distribute.distributed(strategy):
        model = networks.build_many_to_one(3, 1, cell="elman", units=4, output_activation=None)
        training.compile_model(model, loss="mse", metrics=["mae"])
    history = training.fit(model, x, y, epochs=2, batch_size=4, validation_fraction=0.2,
                           seed=0, **fit_kwargs)
    return history, model.get_weights()


@pytest.fixture(scope="module")
def mirrored():
    """A one-replica MirroredStrategy: the distributed code path, in this process."""
    return tf.distribute.MirroredStrategy(["/cpu:0"])


def test_fit_under_a_strategy_equals_plain_fit(mirrored):
    plain_history, plain = _trained(tf.distribute.get_strategy())
    history, weights = _trained(mirrored)
    assert history == plain_history
    for got, expected in zip(weights, plain):
        np.testing.assert_array_equal(got, expected)


def test_truncated_bptt_under_a_strategy_is_refused(mirrored):
    with pytest.raises(InvalidParameterError, match="built outside any tf.distribute strategy"):
        _trained(mirrored, tbptt_steps=2)


def test_an_estimator_fits_under_distributed(mirrored):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 5, 2)).astype("float32")
    y = np.array(["a", "b"] * 6)
    params = {"cell": "elman", "units": 4, "epochs": 2, "batch_size": 4, "random_state": 0,
              "validation_fraction": 0.0, "early_stopping": False}
    plain = SequenceClassifier(**params).fit(X, y)
    with distribute.distributed(mirrored):
        spread = SequenceClassifier(**params).fit(X, y)
    assert spread.model_.distribute_strategy is mirrored
    # One replica's sums and the strategy's may round apart in the last float32 bit.
    np.testing.assert_allclose(spread.predict_proba(X), plain.predict_proba(X), rtol=1e-6,
                               atol=1e-7)


def test_several_replicas_need_a_seed_and_a_sample_each():
    two = SimpleNamespace(num_replicas_in_sync=2)
    with pytest.raises(InvalidParameterError, match="'seed' parameter of fit must be an int"):
        training.loop._check_replicas(two, None, 8, {"training": 16}, "fit")
    with pytest.raises(InvalidParameterError, match="Got batch_size=8 for 17 training samples: "
                                                    "a batch of 1"):
        training.loop._check_replicas(two, 0, 8, {"training": 17}, "fit")
    training.loop._check_replicas(two, 0, 8, {"training": 18, "validation": 2}, "fit")
