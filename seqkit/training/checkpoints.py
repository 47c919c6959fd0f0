"""Checkpoints of :func:`seqkit.training.fit`.

What a training is made of (its fingerprint, compared when a checkpoint is
resumed), the callback that checkpoints after every epoch (``_Progress``), and
:func:`checkpoint_state`, which reads what a checkpoint holds.
"""

import hashlib
import json
import math
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from seqkit._files import PARTIAL_PREFIX, staged_file
from seqkit.exceptions import InvalidParameterError

_STATE_FILE = "state.json"


def _check_same_checkpoint(strategy, epochs, directory):
    """Raise unless every replica found a checkpoint of ``epochs`` epochs (None: none)."""
    if strategy.num_replicas_in_sync == 1:
        return
    mine = -1 if epochs is None else epochs
    found = strategy.gather(strategy.experimental_distribute_values_from_function(
        lambda _: tf.constant([mine])), axis=0).numpy()
    if (found != mine).any():
        raise InvalidParameterError(
            "The 'checkpoint_dir' parameter of fit must be storage every worker shares: the "
            "workers found different checkpoints (epochs done by replica, -1 for none: "
            f"{found.tolist()}). Got {str(directory)!r}."
        )


def _digest(arrays):
    """A short sha256 of arrays (None included): their dtypes, shapes and bytes."""
    digest = hashlib.sha256()
    for array in arrays:
        if array is None:
            digest.update(b"None")
            continue
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def _fingerprint(model, data, validation, options):
    """What a checkpoint was made with; one with another fingerprint is refused on resume.

    ``data`` and ``validation`` are ``(arrays, y, sample_weight)`` (validation None),
    ``options`` the arguments of :func:`fit` that decide the batches. The number of
    epochs is left out: a resumed fit may train for longer.
    """
    arrays, y, sample_weight = data
    shapes = [list(w.shape) for w in model.weights]
    optimizer = {k: v for k, v in model.optimizer.get_config().items() if k != "name"}
    return {
        "network": f"{len(shapes)} weight arrays, {sum(map(math.prod, shapes))} numbers "
                   f"({hashlib.sha256(json.dumps(shapes).encode()).hexdigest()[:8]})",
        "optimizer": f"{type(model.optimizer).__name__} "
                     f"{json.dumps(optimizer, sort_keys=True, default=str)}",
        "training data": _digest([*arrays, y, sample_weight]),
        "validation data": None if validation is None else _digest(
            [*validation[0], *validation[1:]]),
        **options,
    }


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 3]}..."


def _check_fingerprint(state, fingerprint, config, directory):
    """Raise unless the checkpoint ``state`` was made with ``fingerprint`` and ``config``.

    Checkpoints written before fingerprints were recorded are taken as they are.
    """
    if "fingerprint" not in state:
        return
    differences = [
        f"{name} (checkpoint {_short(before.get(name))}, now {_short(now.get(name))})"
        for before, now in ((state["fingerprint"], fingerprint), (state.get("config", {}), config))
        for name in sorted(set(before) | set(now), key=str)
        if before.get(name) != now.get(name)
    ]
    if differences:
        raise InvalidParameterError(
            f"The checkpoint in checkpoint_dir {str(directory)!r} was made by another "
            f"training, and a fit resumes only its own: {'; '.join(differences)} differ. "
            "Resume with the network, data and settings that made it, or give an empty "
            "folder (or delete this one) to start afresh."
        )


def checkpoint_state(checkpoint_dir):
    """What the checkpoint in ``checkpoint_dir`` holds, or None if there is none.

    Parameters
    ----------
    checkpoint_dir : str or path-like
        A ``checkpoint_dir`` of :func:`fit`.

    Returns
    -------
    dict or None
        ``epochs`` (completed), ``finished`` (training ended rather than was
        interrupted), ``seed`` (the ``seed`` it was trained with) and ``history``.
    """
    path = Path(checkpoint_dir) / _STATE_FILE
    if not path.is_file():
        return None
    state = json.loads(path.read_text())
    return {"epochs": state["epochs"], "finished": state["finished"],
            "seed": state.get("fingerprint", {}).get("seed"), "history": state["history"]}


def _divergence(model, history):
    """What shows that training diverged, or None: a NaN or inf loss in the last epoch of
    ``history``, or NaN or inf in the weights of ``model``."""
    if not math.isfinite(history.get("loss", [0.0])[-1]):
        return "its loss became NaN or inf"
    if not all(np.isfinite(w).all() for w in model.get_weights()):
        return "its weights came to hold NaN or inf"
    return None


def _seed_states(model):
    """The states of the random seeds of ``model``'s dropout layers (Keras' ``SeedGenerator``),
    in the model's order: ``save_weights`` leaves them out, and a fit resumed without them
    would draw other dropout masks than the uninterrupted fit. Their names count the seed
    generators made in the process, so the order, not the name, pairs them up."""
    return [variable for variable in model.variables
            if variable.path.endswith("seed_generator_state")]


class _Progress(keras.callbacks.Callback):
    """Collect the per-epoch history and, with a directory, checkpoint after every epoch.

    A checkpoint is ``epoch-NNNN.weights.h5`` (weights and optimizer state) plus
    ``state.json`` (epochs done, history, whether training finished, the dropout layers'
    seed states). Each file is
    written as ``partial-<name>`` and then renamed (:func:`seqkit._files.staged_file`), the
    JSON last, so ``state.json`` always names a complete weights file. Files that a
    killed run left behind (a ``partial-`` file, a superseded weights file) are
    deleted when training resumes.

    Only a ``writer`` keeps what it saves: under a distribution strategy, the chief
    worker. ``fingerprint`` and ``config`` say what the training is made of
    (:func:`_fingerprint`, and the caller's own description); a checkpoint made of
    anything else is refused.

    An epoch whose loss is NaN or inf, or after which the weights hold NaN or inf,
    stops training and sets ``diverged`` to ``(epoch, what happened)``; nothing is
    saved from then on, so the checkpoint keeps the last good epoch and is never
    marked finished by a fit that diverged.
    """

    def __init__(self, directory=None, writer=True, fingerprint=None, config=None):
        super().__init__()
        self.directory = None if directory is None else Path(directory)
        self.writer = writer
        # As JSON stores them (tuples become lists), to compare with what was stored.
        self.fingerprint, self.config = (json.loads(json.dumps(part or {}, default=repr))
                                         for part in (fingerprint, config))
        self.history, self.epochs_done, self.finished = {}, 0, False
        self.diverged = None

    def restore(self, model):
        """Load the checkpoint in the directory, if any, into ``model`` (optimizer built).

        On several workers, all must find the same checkpoint, or they would fall out
        of step (and wait for each other for ever).
        """
        if self.directory is None:
            return
        found = (self.directory / _STATE_FILE).exists()
        state = json.loads((self.directory / _STATE_FILE).read_text()) if found else None
        _check_same_checkpoint(model.distribute_strategy,
                               None if state is None else state["epochs"], self.directory)
        if state is None:
            return
        _check_fingerprint(state, self.fingerprint, self.config, self.directory)
        if self.writer:
            self._tidy(state["weights"])
        model.load_weights(self.directory / state["weights"])
        seeds = state.get("seed_states", [])  # absent from checkpoints saved before them
        for variable, value in zip(_seed_states(model), seeds):
            variable.assign(np.asarray(value, dtype=variable.dtype))
        self.history = state["history"]
        self.epochs_done = state["epochs"]
        self.finished = state["finished"]

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self.epochs_done = epoch + 1
        what = _divergence(self.model, self.history)
        if what is not None:
            self.diverged = (self.epochs_done, what)
            self.model.stop_training = True
            return
        self._save()

    def on_train_end(self, logs=None):
        if self.diverged is not None:
            return
        # After EarlyStopping (earlier in the list) restored the best weights.
        self.finished = bool(self.model.stop_training)
        self._save()

    def _save(self):
        if self.directory is None:
            return
        if not self.writer:
            # Saving can run collective operations (Keras creates reference variables on a
            # first save, which a multi-worker strategy broadcasts): save in step with the
            # chief, into a directory thrown away.
            with tempfile.TemporaryDirectory() as scratch:
                self.model.save_weights(Path(scratch) / "scratch.weights.h5")
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        weights = f"epoch-{self.epochs_done:04d}.weights.h5"
        with staged_file(self.directory / weights) as partial:
            self.model.save_weights(partial)
        state = {"epochs": self.epochs_done, "history": self.history, "weights": weights,
                 "finished": self.finished, "fingerprint": self.fingerprint,
                 "config": self.config,
                 "seed_states": [np.asarray(variable).tolist()
                                 for variable in _seed_states(self.model)]}
        with staged_file(self.directory / _STATE_FILE) as partial:
            partial.write_text(json.dumps(state))
        self._tidy(weights)

    def _tidy(self, weights):
        """Delete every checkpoint file but ``state.json`` and the weights file it names."""
        for path in self.directory.iterdir():
            if path.name.startswith(PARTIAL_PREFIX) or (
                    path.name.endswith(".weights.h5") and path.name != weights):
                path.unlink()
