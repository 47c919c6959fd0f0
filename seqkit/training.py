"""Training recurrent networks: full and truncated BPTT, safe defaults, gradient diagnostics.

* :func:`compile_model` compiles with gradient-norm clipping on by default.
* :func:`fit` trains with full backpropagation through time or, with
  ``tbptt_steps=k``, truncated BPTT (:class:`TruncatedBPTT`); it always stops
  on a NaN loss, can stop early on a validation split, can checkpoint every
  epoch and resume a killed run as if it had never stopped, and trains on
  several workers under a ``tf.distribute`` strategy (:mod:`seqkit.distribute`).
* :func:`gradient_norms_over_time` returns ``||dLoss/dh_t||`` for every step
  ``t`` of the first recurrent layer, and :func:`plot_gradient_norms` draws it:
  vanishing or exploding gradients, seen with one's own eyes.

Truncated BPTT reads the final states of every recurrent layer, so every
recurrent layer of the model must have ``return_state=True``, as in the models
of :mod:`seqkit.networks`.
"""

import hashlib
import json
import math
import tempfile
import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from seqkit._files import PARTIAL_PREFIX, staged_file
from seqkit._validation import check_bool, check_choice, check_float, check_int
from seqkit.distribute import is_chief
from seqkit.exceptions import InvalidInputError, InvalidParameterError
from seqkit.networks import cell_state_sizes

_OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "sgd": keras.optimizers.SGD,
    "rmsprop": keras.optimizers.RMSprop,
}


def compile_model(model, *, loss, learning_rate=1e-3, clipnorm=1.0, metrics=None,
                  optimizer="adam"):
    """Compile ``model`` with gradient-norm clipping against exploding gradients.

    Parameters
    ----------
    model : keras.Model
    loss : str, keras.losses.Loss or callable
    learning_rate : float, default 1e-3
    clipnorm : float or None, default 1.0
        The gradient of all weights together is rescaled so that its global
        norm is at most ``clipnorm`` (Pascanu et al., 2013): one step of SGD
        then moves the weights by at most ``learning_rate * clipnorm``. None
        turns clipping off.
    metrics : list or None
        As in ``keras.Model.compile``.
    optimizer : {"adam", "sgd", "rmsprop"}, default "adam"

    Returns
    -------
    keras.Model
        ``model``, compiled.
    """
    owner = "compile_model"
    optimizer = check_choice(optimizer, "optimizer", owner, tuple(_OPTIMIZERS))
    learning_rate = check_float(learning_rate, "learning_rate", owner, low=0.0,
                                low_inclusive=False)
    clipnorm = check_float(clipnorm, "clipnorm", owner, low=0.0, low_inclusive=False,
                           allow_none=True)
    model.compile(
        optimizer=_OPTIMIZERS[optimizer](learning_rate=learning_rate, global_clipnorm=clipnorm),
        loss=loss,
        metrics=metrics,
    )
    return model


# ------------------------------------------------------------------ graph replay


def _replay(model, inputs, call):
    """Run ``model``'s layer graph on ``inputs``, calling each layer as ``call(layer, *a, **kw)``.

    ``keras.models.clone_model(clone_function=lambda layer: layer, call_function=call)`` does
    the same walk but then refuses outputs that depend on tensors other than the model's
    inputs, which is the point here (state inputs, probe inputs); hence Keras' own walk.
    """
    return model._run_through_graph(inputs, operation_fn=lambda layer: layer, call_fn=call)


def _fresh_inputs(model):
    return [keras.Input(batch_shape=t.shape, dtype=t.dtype) for t in model.inputs]


def _recurrent_layers(model, owner, what, *, bidirectional=False):
    """The model's recurrent layers, after checking ``what`` can work with them (with
    ``bidirectional``, ``Bidirectional`` wrappers count as recurrent layers)."""
    layers = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional) and bidirectional:
            layers.append(layer)
        elif isinstance(layer, keras.layers.Bidirectional):
            raise InvalidParameterError(
                f"The 'model' parameter of {owner} must have only forward-running recurrent "
                f"layers for {what}. Got the Bidirectional layer {layer.name!r}."
            )
        if isinstance(layer, keras.layers.RNN):
            layers.append(layer)
    if not layers:
        raise InvalidParameterError(
            f"The 'model' parameter of {owner} must have a recurrent layer for {what}. Got "
            f"a model with layers {[layer.name for layer in model.layers]}."
        )
    return layers


# ------------------------------------------------------------------ truncated BPTT


class TruncatedBPTT:
    """Truncated backpropagation through time over chunks of ``steps`` steps.

    A batch of long sequences is cut into chunks of ``steps`` steps (the last
    one may be shorter). Chunk ``j + 1`` starts from the final states of every
    recurrent layer after chunk ``j``; chunk 1 starts from the model's own
    initial states (zeros, or those it computes from static inputs), so the
    state is reset between batches of sequences. The carried states enter a
    chunk as constants: the loss of a chunk is backpropagated through that
    chunk only, and memory grows with ``steps``, not with the sequence length.

    With per-step outputs (many-to-many) every chunk has its own loss; with one
    output per sequence (many-to-one) only the last chunk does, the earlier
    ones just carry the state forward.

    Parameters
    ----------
    model : keras.Model
        A compiled model with one output whose recurrent layers run forward and
        have ``return_state=True`` (any model of :mod:`seqkit.networks` but the
        bidirectional and encoder-decoder ones), built outside any
        ``tf.distribute`` strategy: truncated BPTT runs on one replica.
    steps : int
        Chunk length ``k``, ``>= 1``.

    Attributes
    ----------
    first, carried : keras.Model
        The model with the final states as extra outputs; ``carried`` also takes
        the initial states as extra inputs. Same layers, same weights.
    train_chunk : callable
        ``train_chunk(inputs, y, sample_weight, states) -> (loss, states)``, one
        compiled optimisation step on a chunk (``states`` None for a first chunk).
    advance : callable
        ``advance(inputs, states) -> states``, a compiled forward pass only.

    Notes
    -----
    Inputs with a time axis (float ``(batch, time, features)``, or int token
    ids ``(batch, time)``) are cut into chunks; other inputs (static features)
    are given whole to every chunk.
    """

    def __init__(self, model, steps):
        owner = "TruncatedBPTT"
        self.model = model
        self.steps = check_int(steps, "steps", owner, minimum=1)
        if any(isinstance(w.value, tf.distribute.DistributedValues) for w in model.weights):
            raise InvalidParameterError(
                f"The 'model' parameter of {owner} must be built outside any tf.distribute "
                "strategy: truncated BPTT runs on one replica. Got a model built under "
                f"{type(model.distribute_strategy).__name__}."
            )
        layers = _recurrent_layers(model, owner, "truncated BPTT")
        for layer in layers:
            if not layer.return_state:
                raise InvalidParameterError(
                    f"The 'model' parameter of {owner} must have recurrent layers with "
                    f"return_state=True for truncated BPTT (the seqkit.networks builders make "
                    f"them so). Got layer {layer.name!r} with return_state=False."
                )
        if len(model.outputs) != 1:
            raise InvalidParameterError(
                f"The 'model' parameter of {owner} must have one output for truncated BPTT. "
                f"Got {len(model.outputs)} outputs."
            )
        self.timed = [len(t.shape) == 3 or (len(t.shape) == 2 and "int" in t.dtype)
                      for t in model.inputs]
        if sum(self.timed) != 1:
            raise InvalidParameterError(
                f"The 'model' parameter of {owner} must have exactly one input with a time "
                f"axis for truncated BPTT. Got input shapes "
                f"{[tuple(t.shape) for t in model.inputs]}."
            )
        self.per_step = len(model.outputs[0].shape) == 3
        self.first = self._twin(carried=False)
        self.carried = self._twin(carried=True)
        self.train_chunk = tf.function(self._train_chunk, reduce_retracing=True)
        self.advance = tf.function(self._advance, reduce_retracing=True)

    def _twin(self, carried):
        """The model with its final states as extra outputs and, if ``carried``, its initial
        states as extra inputs; same layers, same weights."""
        inputs, state_inputs, state_outputs = _fresh_inputs(self.model), [], []

        def call(layer, *args, **kwargs):
            if isinstance(layer, keras.layers.RNN):
                if carried:
                    sizes = cell_state_sizes(layer.cell)
                    kwargs["initial_state"] = [keras.Input((size,)) for size in sizes]
                    state_inputs.extend(kwargs["initial_state"])
                outputs = layer(*args, **kwargs)
                state_outputs.extend(outputs[1:])
                return outputs
            return layer(*args, **kwargs)

        outputs = _replay(self.model, inputs, call)
        return keras.Model([*inputs, *state_inputs], [outputs, *state_outputs])

    def forward(self, inputs, states=None, training=False):
        """Run one chunk.

        Parameters
        ----------
        inputs : list of tensors
            The model's inputs, cut to the chunk.
        states : list of tensors or None
            The states carried from the previous chunk; None for a first chunk.
        training : bool

        Returns
        -------
        tuple
            ``(outputs, states)``: the chunk's outputs and the final states of
            every recurrent layer, gradients stopped (the chunk border).
        """
        inputs = [ops.convert_to_tensor(a) for a in inputs]
        if states is None:
            y_pred, *states = self.first(inputs, training=training)
        else:
            y_pred, *states = self.carried([*inputs, *states], training=training)
        return y_pred, [ops.stop_gradient(s) for s in states]

    def _train_chunk(self, inputs, y, sample_weight, states):
        model = self.model
        with tf.GradientTape() as tape:
            y_pred, states = self.forward(inputs, states, training=True)
            loss = model.compute_loss(y=y, y_pred=y_pred, sample_weight=sample_weight,
                                      training=True)
        # Weights used only before the chunk (e.g. those mapping static features to the
        # initial state, in a later chunk) get no gradient: that is the truncation.
        pairs = [(g, v) for g, v in zip(tape.gradient(loss, model.trainable_variables),
                                        model.trainable_variables) if g is not None]
        model.optimizer.apply(*zip(*pairs))
        model.compute_metrics(None, y, y_pred, sample_weight)
        return loss, states

    def _advance(self, inputs, states):
        return self.forward(inputs, states, training=True)[1]

    def chunks(self, n_steps):
        """The ``(start, stop)`` step ranges of the chunks of a sequence of ``n_steps`` steps."""
        return [(start, min(start + self.steps, n_steps))
                for start in range(0, n_steps, self.steps)]

    def _cut(self, arrays, start, stop):
        return [a[:, start:stop] if timed else a for a, timed in zip(arrays, self.timed)]

    def train_batch(self, inputs, y, sample_weight=None):
        """One optimisation step per chunk over a batch of whole sequences.

        Parameters
        ----------
        inputs : list of arrays
            The model's inputs for the batch.
        y : array
            ``(batch, time, ...)`` per-step targets, or ``(batch, ...)`` per sequence.
        sample_weight : array or None
            ``(batch,)``, or ``(batch, time)`` for per-step outputs.

        Returns
        -------
        float
            The mean loss of the chunks that have one.
        """
        n_steps = inputs[self.timed.index(True)].shape[1]
        ranges = self.chunks(n_steps)
        states, losses = None, []
        for j, (start, stop) in enumerate(ranges):
            chunk = [tf.convert_to_tensor(a) for a in self._cut(inputs, start, stop)]
            if not self.per_step and j < len(ranges) - 1:
                states = self.advance(chunk, states)
                continue
            y_chunk, w_chunk = y, sample_weight
            if self.per_step:
                y_chunk = y[:, start:stop]
                if sample_weight is not None and np.ndim(sample_weight) == 2:
                    w_chunk = sample_weight[:, start:stop]
            loss, states = self.train_chunk(chunk, y_chunk, w_chunk, states)
            losses.append(float(loss))
        return float(np.mean(losses))


# ---------------------------------------------------------------------------- fit


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


class _Progress(keras.callbacks.Callback):
    """Collect the per-epoch history and, with a directory, checkpoint after every epoch.

    A checkpoint is ``epoch-NNNN.weights.h5`` (weights and optimizer state) plus
    ``state.json`` (epochs done, history, whether training finished). Each file is
    written as ``partial-<name>`` and then renamed (:func:`seqkit._files.staged_file`), the
    JSON last, so ``state.json`` always names a complete weights file. Files that a
    killed run left behind (a ``partial-`` file, a superseded weights file) are
    deleted when training resumes.

    Only a ``writer`` keeps what it saves: under a distribution strategy, the chief
    worker. ``fingerprint`` and ``config`` say what the training is made of
    (:func:`_fingerprint`, and the caller's own description); a checkpoint made of
    anything else is refused.
    """

    def __init__(self, directory=None, writer=True, fingerprint=None, config=None):
        super().__init__()
        self.directory = None if directory is None else Path(directory)
        self.writer = writer
        # As JSON stores them (tuples become lists), to compare with what was stored.
        self.fingerprint, self.config = (json.loads(json.dumps(part or {}, default=repr))
                                         for part in (fingerprint, config))
        self.history, self.epochs_done, self.finished = {}, 0, False

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
        self.history = state["history"]
        self.epochs_done = state["epochs"]
        self.finished = state["finished"]

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self.epochs_done = epoch + 1
        self._save()

    def on_train_end(self, logs=None):
        # After EarlyStopping (earlier in the list) restored the best weights.
        self.finished = bool(self.model.stop_training)
        self._save()

    def _save(self):
        if self.directory is None or not math.isfinite(self.history.get("loss", [0.0])[-1]):
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
                 "config": self.config}
        with staged_file(self.directory / _STATE_FILE) as partial:
            partial.write_text(json.dumps(state))
        self._tidy(weights)

    def _tidy(self, weights):
        """Delete every checkpoint file but ``state.json`` and the weights file it names."""
        for path in self.directory.iterdir():
            if path.name.startswith(PARTIAL_PREFIX) or (
                    path.name.endswith(".weights.h5") and path.name != weights):
                path.unlink()


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _check_data(x, y, sample_weight, owner):
    arrays = [np.asarray(a) for a in _as_list(x)]
    y = np.asarray(y)
    for name, value in [*(("x", a) for a in arrays), ("y", y)]:
        if value.ndim == 0 or value.shape[0] != y.shape[0]:
            raise InvalidInputError(
                f"The 'x' and 'y' arguments of {owner} must have the same number of samples. "
                f"Got {name} of shape {value.shape} and y of shape {y.shape}."
            )
    if np.issubdtype(y.dtype, np.floating) and np.isnan(y).any():
        raise InvalidInputError(
            f"The 'y' argument of {owner} must not contain NaN: a NaN target makes the loss "
            "NaN even where it is masked out. Pad the targets of padded steps with a finite "
            "value."
        )
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype="float32")
        if sample_weight.shape[:1] != y.shape[:1]:
            raise InvalidInputError(
                f"The 'sample_weight' argument of {owner} must have one row per sample "
                f"({y.shape[0]}). Got shape {sample_weight.shape}."
            )
    return arrays, y, sample_weight


def _unwrap(arrays):
    return arrays if len(arrays) > 1 else arrays[0]


def _split(arrays, y, sample_weight, fraction, owner):
    """Hold out the last ``fraction`` of the samples, as Keras' ``validation_split`` does.

    Returns the training and the validation ``(arrays, y, sample_weight)``.
    """
    n = y.shape[0]
    cut = n - math.ceil(fraction * n)
    if cut < 1:
        raise InvalidParameterError(
            f"The 'validation_fraction' parameter of {owner} must leave at least one training "
            f"sample. Got {fraction} of {n} samples."
        )
    return tuple(
        ([a[part] for a in arrays], y[part], None if sample_weight is None else sample_weight[part])
        for part in (slice(None, cut), slice(cut, None))
    )


def _validation_arrays(validation_data):
    """``(x_val, y_val)`` or ``(x_val, y_val, sample_weight_val)`` as ``(arrays, y, weights)``."""
    x_val, y_val, *weights = validation_data
    return [np.asarray(a) for a in _as_list(x_val)], np.asarray(y_val), (weights or [None])[0]


def _last_batch(n, batch_size):
    """The size of the last (smallest) batch when ``n`` samples are cut into ``batch_size``."""
    return n - (math.ceil(n / batch_size) - 1) * batch_size


def _check_replicas(strategy, seed, batch_size, sizes, owner):
    """Refuse what training on several replicas cannot do.

    Every worker must draw the same batches (a seed), and a replica given no
    sample of a batch would make its loss NaN. ``sizes`` maps ``"training"``
    (and ``"validation"``) to a number of samples.
    """
    replicas = strategy.num_replicas_in_sync
    if seed is None:
        raise InvalidParameterError(
            f"The 'seed' parameter of {owner} must be an int when training on {replicas} "
            "replicas: every worker must draw the same batches. Got None."
        )
    for name, n in sizes.items():
        if _last_batch(n, batch_size) < replicas:
            raise InvalidParameterError(
                f"The 'batch_size' parameter of {owner} must give each of the {replicas} "
                f"replicas at least one sample of every batch. Got batch_size={batch_size} for "
                f"{n} {name} samples: a batch of {_last_batch(n, batch_size)}."
            )


def fit(
    model,
    x,
    y,
    *,
    epochs=10,
    batch_size=32,
    validation_fraction=0.0,
    validation_data=None,
    early_stopping=False,
    patience=5,
    tbptt_steps=None,
    checkpoint_dir=None,
    checkpoint_config=None,
    callbacks=(),
    verbose=0,
    seed=None,
    sample_weight=None,
):
    """Train a compiled model with full or truncated backpropagation through time.

    Parameters
    ----------
    model : keras.Model
        Compiled (see :func:`compile_model`).
    x : array or list of arrays
        The model's input(s).
    y : array
        Targets; per-step targets of padded steps must be finite (they are masked out).
    epochs : int, default 10
        Total number of epochs, counting those of a resumed checkpoint.
    batch_size : int, default 32
    validation_fraction : float in [0, 1), default 0
        Hold out the last fraction of the samples (as Keras' ``validation_split``;
        with windows of a time series, the most recent ones).
    validation_data : tuple or None
        ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight_val)``, instead of a fraction.
    early_stopping : bool, default False
        Stop when ``val_loss`` has not improved for ``patience`` epochs and restore
        the best weights. Needs validation data.
    patience : int, default 5
    tbptt_steps : int or None, default None
        None: full BPTT over whole sequences. ``k``: truncated BPTT over chunks of
        ``k`` steps (see :class:`TruncatedBPTT`), ``1 <= k <=`` the sequence length.
    checkpoint_dir : str, path or None
        Save weights, optimizer state and history after every epoch. If the
        directory holds a checkpoint, load it and continue from the epoch after it
        (a run that stopped early is not trained further). A resumed run sees
        the batches an uninterrupted one would (see ``seed``); the early-stopping
        patience counts again from the resumed epoch. A fit killed at any moment
        leaves a loadable checkpoint: files are written under temporary names,
        then renamed. A checkpoint is resumed only by the training that made it:
        the same network (weight shapes), optimizer settings, data, batch size,
        seed, validation and truncation; anything else raises an
        ``InvalidParameterError`` naming what differs (``epochs`` may change).
    checkpoint_config : dict or None
        More of what a checkpoint must have been made with to be resumed, as
        JSON-serialisable values (e.g. an estimator's parameters); stored with
        the checkpoint and compared like the rest.
    callbacks : sequence of keras.callbacks.Callback
        More callbacks.
    verbose : int, default 0
    seed : int or None
        Seeds Keras (``keras.utils.set_random_seed``) and the batch order: the
        batches of epoch ``e`` are a permutation drawn from ``seed + e``. Needed
        when training on several replicas.
    sample_weight : array or None
        ``(batch,)``, or ``(batch, time)`` for per-step outputs.

    Returns
    -------
    dict
        ``{metric: [value per epoch]}``, e.g. ``loss``, ``val_loss``.

    Notes
    -----
    A NaN loss always stops training (``keras.callbacks.TerminateOnNaN``), with a
    ``RuntimeWarning``; the last checkpoint, if any, holds the last good weights.

    A model built and compiled under a ``tf.distribute`` strategy (see
    :mod:`seqkit.distribute`) trains on all its replicas: ``batch_size`` is the
    global batch, split over the replicas of every worker, so the result equals
    one-process training up to rounding (gradient clipping aside: Keras clips
    each replica's share; see ``docs/cluster.md``). Every worker must call
    ``fit`` with the same data and arguments. Only the chief writes checkpoints;
    every worker reads them, so ``checkpoint_dir`` must be storage all workers see.
    """
    owner = "fit"
    if not model.compiled or model.optimizer is None:
        raise InvalidParameterError(
            f"The 'model' parameter of {owner} must be compiled (see "
            f"seqkit.training.compile_model). Got an uncompiled model {model.name!r}."
        )
    epochs = check_int(epochs, "epochs", owner, minimum=1)
    batch_size = check_int(batch_size, "batch_size", owner, minimum=1)
    validation_fraction = check_float(validation_fraction, "validation_fraction", owner,
                                      low=0.0, high=1.0, high_inclusive=False)
    early_stopping = check_bool(early_stopping, "early_stopping", owner)
    patience = check_int(patience, "patience", owner, minimum=0)
    verbose = check_int(verbose, "verbose", owner, minimum=0, maximum=2)
    seed = check_int(seed, "seed", owner, minimum=0, allow_none=True)
    arrays, y, sample_weight = _check_data(x, y, sample_weight, owner)
    if validation_fraction and validation_data is not None:
        raise InvalidParameterError(
            f"The 'validation_fraction' parameter of {owner} must be 0 when validation_data "
            f"is given. Got {validation_fraction}."
        )
    validation = None if validation_data is None else _validation_arrays(validation_data)
    if validation_fraction:
        (arrays, y, sample_weight), validation = _split(
            arrays, y, sample_weight, validation_fraction, owner
        )
    if early_stopping and validation is None:
        raise InvalidParameterError(
            f"The 'early_stopping' parameter of {owner} needs validation data: set "
            "validation_fraction > 0 or validation_data. Got early_stopping=True without."
        )
    strategy = model.distribute_strategy
    if strategy.num_replicas_in_sync > 1:
        sizes = {"training": y.shape[0]}
        if validation is not None:
            sizes["validation"] = validation[1].shape[0]
        _check_replicas(strategy, seed, batch_size, sizes, owner)
    steps = _ReplicaSteps(model)
    train_batch = steps.train
    if tbptt_steps is not None:
        trainer = TruncatedBPTT(model, check_int(tbptt_steps, "tbptt_steps", owner, minimum=1))
        n_steps = arrays[trainer.timed.index(True)].shape[1]
        check_int(tbptt_steps, "tbptt_steps", owner, minimum=1, maximum=n_steps)
        train_batch = _truncated_batches(trainer)

    with strategy.scope():
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        fingerprint = _fingerprint(model, (arrays, y, sample_weight), validation, {
            "batch_size": batch_size, "seed": seed, "tbptt_steps": tbptt_steps,
            "validation_fraction": validation_fraction,
        })
        progress = _Progress(checkpoint_dir, writer=is_chief(strategy), fingerprint=fingerprint,
                             config=checkpoint_config)
        progress.restore(model)
        if progress.finished or progress.epochs_done >= epochs:
            return progress.history
        if seed is not None:
            keras.utils.set_random_seed(seed)
        chain = [keras.callbacks.TerminateOnNaN()]
        if early_stopping:
            chain.append(keras.callbacks.EarlyStopping(patience=patience,
                                                       restore_best_weights=True))
        chain.extend([*callbacks, progress])
        _run_epochs(
            model, train_batch, steps.evaluate, (arrays, y, sample_weight), validation,
            epochs=epochs, initial_epoch=progress.epochs_done, batch_size=batch_size,
            callbacks=chain, verbose=verbose, seed=seed,
        )
    losses = progress.history.get("loss", [])
    if losses and not math.isfinite(losses[-1]):
        warnings.warn(
            f"Training stopped in epoch {len(losses)}: the loss became NaN. The weights may "
            "hold NaN; lower the learning rate or check the data for extreme values.",
            RuntimeWarning, stacklevel=2,
        )
    return progress.history


def _results(model):
    return {name: float(value) for name, value in model.get_metrics_result().items()}


def _loss_tracker(model):
    """The model's running mean of the loss, which Keras' ``train_step`` updates."""
    return next(metric for metric in model.metrics if metric.name == "loss")


class _ReplicaSteps:
    """Training and evaluation steps run on every replica of the model's strategy.

    Each replica takes its contiguous share of a batch (``np.array_split``), so a
    batch is global: its samples are split over all replicas of all workers. The
    metrics are read outside the replicas, where TensorFlow sums them over the
    replicas. Without a distribution strategy there is one replica and this is
    plain Keras training.

    Notes
    -----
    The training step is Keras' ``train_step`` but for one factor: a replica's
    loss counts in the gradient by its share of the batch. Keras divides each
    replica's mean loss by the number of replicas ``N``, which averages the
    replicas' means; when a batch does not split evenly (the last one, mostly)
    that weighs samples unequally, and the result drifts from one-process
    training (measured: 1e-3 in the weights after one epoch). With the factor
    ``N n_r / n`` (``n_r`` of the batch's ``n`` samples on the replica) the
    gradient is the batch's mean exactly.

    Keras 3.15's own ``Model.fit`` and ``Model.evaluate`` fail under a
    ``MultiWorkerMirroredStrategy`` of more than one worker (keras-team/keras#20585:
    they reduce the first batch of data, then the scalar logs over ``axis=0``,
    across workers); calling ``strategy.run`` here avoids both.
    """

    def __init__(self, model):
        self.model = model
        self.strategy = model.distribute_strategy
        self.loss_tracker = _loss_tracker(model)
        self._train = self._compiled(self._train_step)
        self._test = self._compiled(lambda data: model.test_step(data[:3]))

    def _compiled(self, step):
        def run(data):
            self.strategy.run(step, args=(data,))

        return tf.function(run, reduce_retracing=True)

    def _train_step(self, data):
        x, y, sample_weight, share = data
        model = self.model
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            loss = model.compute_loss(x, y, y_pred, sample_weight, training=True)
            scaled = model.optimizer.scale_loss(loss * share)
        weights = model.trainable_weights
        model.optimizer.apply(tape.gradient(scaled, weights), weights)
        replicas = self.strategy.num_replicas_in_sync
        self.loss_tracker.update_state(loss * replicas, sample_weight=tf.shape(y)[0])
        model.compute_metrics(x, y, y_pred, sample_weight)

    def _shared(self, inputs, y, sample_weight):
        def share(context):
            n, i = context.num_replicas_in_sync, context.replica_id_in_sync_group

            def part(a):
                return None if a is None else np.array_split(a, n)[i]

            rows = part(y)
            return (_unwrap([part(a) for a in inputs]), rows, part(sample_weight),
                    np.array(n * rows.shape[0] / y.shape[0], "float32"))

        return self.strategy.experimental_distribute_values_from_function(share)

    def train(self, inputs, y, sample_weight):
        """One optimisation step on a batch; returns the epoch's logs so far."""
        self._train(self._shared(inputs, y, sample_weight))
        return _results(self.model)

    def evaluate(self, inputs, y, sample_weight, batch_size):
        """The loss and metrics on ``(inputs, y)``, as ``Model.evaluate`` computes them."""
        self.model.reset_metrics()
        for start in range(0, y.shape[0], batch_size):
            rows = slice(start, start + batch_size)
            self._test(self._shared([a[rows] for a in inputs], y[rows],
                                    None if sample_weight is None else sample_weight[rows]))
        return _results(self.model)


def _truncated_batches(trainer):
    """A ``train_batch`` for :func:`_run_epochs` that trains with :class:`TruncatedBPTT`."""
    tracker = _loss_tracker(trainer.model)

    def train(inputs, y, sample_weight):
        tracker.update_state(trainer.train_batch(inputs, y, sample_weight),
                             sample_weight=y.shape[0])
        return _results(trainer.model)

    return train


def _run_epochs(model, train_batch, evaluate, data, validation, *, epochs, initial_epoch,
                batch_size, callbacks, verbose, seed):
    """The epoch loop of :func:`fit`, driving Keras callbacks.

    ``train_batch(inputs, y, sample_weight)`` trains on one batch and returns the
    epoch's logs so far; ``evaluate(inputs, y, sample_weight, batch_size)`` the
    logs of the validation data. The batch order of epoch ``e`` is drawn from
    ``seed + e`` alone, so a run resumed at epoch ``e`` sees the batches an
    uninterrupted run sees, and every worker sees the same ones.
    """
    arrays, y, sample_weight = data
    n = y.shape[0]
    n_batches = math.ceil(n / batch_size)
    chain = keras.callbacks.CallbackList(
        callbacks, model=model, add_progbar=verbose > 0, verbose=verbose, epochs=epochs,
        steps=n_batches,
    )
    model.stop_training = False
    chain.on_train_begin()
    logs = {}
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        chain.on_epoch_begin(epoch)
        order = np.random.default_rng(None if seed is None else seed + epoch).permutation(n)
        for b in range(n_batches):
            chain.on_train_batch_begin(b)
            rows = order[b * batch_size:(b + 1) * batch_size]
            weights = None if sample_weight is None else sample_weight[rows]
            logs = train_batch([a[rows] for a in arrays], y[rows], weights)
            chain.on_train_batch_end(b, logs)
            if model.stop_training:
                break
        if validation is not None:
            scores = evaluate(*validation, batch_size)
            logs = {**logs, **{f"val_{name}": value for name, value in scores.items()}}
        chain.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    chain.on_train_end(logs)


# ---------------------------------------------------------------- diagnostics


def gradient_norms_over_time(model, x, y, loss=None):
    """The norm of ``dLoss/dh_t`` at every step ``t`` of the first recurrent layer.

    ``h_t`` is the hidden state after step ``t`` (the first state of an LSTM,
    ``h`` not ``c``); the derivative is the total one, through every later step,
    i.e. the error signal BPTT carries back to step ``t``. In a many-to-one
    network, norms that shrink towards ``t = 1`` by orders of magnitude are
    vanishing gradients; norms that grow are exploding ones. For a
    ``Bidirectional`` first layer each direction gets its own column: the
    backward layer's ``h_t`` is its state after reading steps ``T..t``, so its
    error signal travels from ``t = 1`` towards ``T``.

    Parameters
    ----------
    model : keras.Model
    x : array or list of arrays
        The model's input(s), a batch.
    y : array
        Targets.
    loss : str, keras.losses.Loss, callable or None
        The loss; None uses the loss the model was compiled with. A
        ``keras.losses.Loss`` leaves padded steps out, as the compiled loss does;
        a plain function is averaged over all steps.

    Returns
    -------
    numpy.ndarray of shape (timesteps,), or (timesteps, 2) for a Bidirectional layer
        ``||dLoss/dh_t||`` over the batch and the units, for ``t = 1..T`` in
        input order; columns forward, backward.

    Notes
    -----
    The first recurrent layer is run step by step through its cell with a zero
    probe ``d_t`` added to ``h_t`` (same numbers); ``dLoss/dd_t = dLoss/dh_t``.
    """
    owner = "gradient_norms_over_time"
    first = _recurrent_layers(model, owner, "gradient norms over time", bidirectional=True)[0]
    if loss is None and not model.compiled:
        raise InvalidParameterError(
            f"The 'loss' parameter of {owner} must be given for an uncompiled model. Got None."
        )
    arrays = [tf.convert_to_tensor(a) for a in _as_list(x)]
    paired = isinstance(first, keras.layers.Bidirectional)
    directions = [first.forward_layer, first.backward_layer] if paired else [first]
    sizes = [cell_state_sizes(layer.cell)[0] for layer in directions]
    inputs, probe = _fresh_inputs(model), keras.Input((None, sum(sizes)))

    def probed(index):
        layer = directions[index]
        return keras.layers.RNN(
            _ProbeCell(layer.cell, sum(sizes[:index]), sum(sizes)),
            return_sequences=layer.return_sequences, return_state=layer.return_state,
            go_backwards=layer.go_backwards, zero_output_for_mask=layer.zero_output_for_mask,
        )

    def call(layer, *args, **kwargs):
        if layer is not first:
            return layer(*args, **kwargs)
        sequences = keras.layers.Concatenate()([args[0], probe])
        if not paired:
            return probed(0)(sequences, *args[1:], **kwargs)
        return _bidirectional(first, probed(0), probed(1), sequences, **kwargs)

    probed_model = keras.Model([*inputs, probe], _replay(model, inputs, call))
    delta = tf.zeros((arrays[0].shape[0], int(arrays[0].shape[1]), sum(sizes)))
    with tf.GradientTape() as tape:
        tape.watch(delta)
        y_pred = probed_model([*arrays, delta], training=False)
        if loss is None:
            value = model.compute_loss(y=y, y_pred=y_pred, training=False)
        else:
            value = ops.mean(keras.losses.get(loss)(y, y_pred))
    gradient = tape.gradient(value, delta).numpy()
    norms = [np.sqrt(np.sum(np.square(part), axis=(0, 2)))
             for part in np.split(gradient, np.cumsum(sizes)[:-1], axis=-1)]
    return np.stack(norms, axis=1) if paired else norms[0]


def _bidirectional(wrapper, forward, backward, sequences, initial_state=None, **kwargs):
    """What ``keras.layers.Bidirectional`` computes, with its two layers replaced."""
    half = None if initial_state is None else len(initial_state) // 2
    y = forward(sequences, initial_state=None if half is None else initial_state[:half],
                **kwargs)
    y_rev = backward(sequences, initial_state=None if half is None else initial_state[half:],
                     **kwargs)
    states = ()
    if wrapper.return_state:
        states = tuple(y[1:]) + tuple(y_rev[1:])
        y, y_rev = y[0], y_rev[0]
    if wrapper.return_sequences:
        y_rev = ops.flip(y_rev, axis=1)
    merged = {
        "concat": lambda: ops.concatenate([y, y_rev], axis=-1),
        "sum": lambda: y + y_rev,
        "ave": lambda: (y + y_rev) / 2,
        "mul": lambda: y * y_rev,
        None: lambda: (y, y_rev),
    }[wrapper.merge_mode]()
    if not wrapper.return_state:
        return merged
    return (*merged, *states) if wrapper.merge_mode is None else (merged, *states)


class _ProbeCell(keras.layers.Layer):
    """Wraps a built cell. Its input is ``[x_t, probes_t]``, where ``d_t``, ``probes_t``
    from ``start`` on, is this cell's; it returns ``h_t + d_t`` as output and first state."""

    def __init__(self, cell, start, probe_size, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell
        self.start, self.probe_size = start, probe_size
        self.state_size = cell.state_size
        self.output_size = cell.output_size

    def call(self, inputs, states, training=False):
        size = cell_state_sizes(self.cell)[0]
        n_x = inputs.shape[-1] - self.probe_size
        x, delta = inputs[:, :n_x], inputs[:, n_x + self.start:n_x + self.start + size]
        h, new_states = self.cell(x, states, training=training)
        h = h + delta
        new_states = new_states if isinstance(new_states, (list, tuple)) else [new_states]
        return h, [h, *new_states[1:]]


def plot_gradient_norms(norms, ax=None):
    """Draw ``||dLoss/dh_t||`` against ``t`` on a log scale.

    Parameters
    ----------
    norms : array-like of shape (timesteps,) or (timesteps, 2)
        From :func:`gradient_norms_over_time`; two columns (forward,
        backward) draw two labelled lines.
    ax : matplotlib.axes.Axes or None
        Where to draw; a new figure if None.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    norms = np.asarray(norms, dtype=float)
    if norms.size == 0 or not (norms.ndim == 1 or (norms.ndim == 2 and norms.shape[1] == 2)):
        raise InvalidInputError(
            "The 'norms' argument of plot_gradient_norms must be a non-empty array of shape "
            f"(timesteps,) or (timesteps, 2). Got shape {norms.shape}."
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
    steps = np.arange(1, len(norms) + 1)
    if norms.ndim == 1:
        ax.semilogy(steps, norms, marker=".")
    else:
        for column, label in zip(norms.T, ("forward", "backward")):
            ax.semilogy(steps, column, marker=".", label=label)
        ax.legend()
    ax.set_xlabel("time step t")
    ax.set_ylabel(r"$\|\partial L / \partial h_t\|$")
    ax.set_title("Gradient reaching each time step")
    ax.grid(True, which="both", alpha=0.3)
    return ax.figure
