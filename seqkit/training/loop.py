"""Compiling and training: :func:`compile_model` (gradient-norm clipping on by default)
and :func:`fit`, with its checks of data and arguments and its epoch loop, which drives
Keras callbacks."""

import contextlib
import contextvars
import math
import warnings

import keras
import numpy as np

from seqkit._validation import (
    DEPRECATED,
    check_bool,
    check_choice,
    check_float,
    check_int,
    renamed_parameter,
)
from seqkit.distribute import is_chief
from seqkit.exceptions import (
    InvalidInputError,
    InvalidParameterError,
    TrainingDivergedError,
)
from seqkit.training.checkpoints import _fingerprint, _Progress, checkpoint_state
from seqkit.training.replicas import _loss_tracker, _ReplicaSteps, _results
from seqkit.training.tbptt import TruncatedBPTT

_OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "sgd": keras.optimizers.SGD,
    "rmsprop": keras.optimizers.RMSprop,
}


def compile_model(model, *, loss, learning_rate=1e-3, global_clipnorm=1.0, metrics=None,
                  optimizer="adam", ema_momentum=None, clipnorm=DEPRECATED):
    """Compile ``model`` with gradient-norm clipping against exploding gradients.

    Parameters
    ----------
    model : keras.Model
    loss : str, keras.losses.Loss or callable
    learning_rate : float, default 1e-3
    global_clipnorm : float or None, default 1.0
        The gradient of all weights together is rescaled so that its global
        norm is at most ``global_clipnorm`` (Pascanu et al., 2013; Keras'
        ``global_clipnorm``): one step of SGD then moves the weights by at most
        ``learning_rate * global_clipnorm``. None turns clipping off.
    metrics : list or None
        As in ``keras.Model.compile``.
    optimizer : {"adam", "sgd", "rmsprop"}, default "adam"
    ema_momentum : float in [0, 1) or None, default None
        Keep an exponential moving average of the weights, updated after every
        optimizer step with this momentum (Polyak averaging; Keras'
        ``use_ema``): :func:`fit` ends on the averages, unless early stopping
        restores its best epoch's weights. None keeps no average.
    clipnorm : float or None
        Deprecated: the former name of ``global_clipnorm`` (it never meant
        Keras' per-variable ``clipnorm``). Passing it warns (``FutureWarning``)
        and uses its value; passing both is an ``InvalidParameterError``.

    Returns
    -------
    keras.Model
        ``model``, compiled.
    """
    owner = "compile_model"
    optimizer = check_choice(optimizer, "optimizer", owner, tuple(_OPTIMIZERS))
    learning_rate = check_float(learning_rate, "learning_rate", owner, low=0.0,
                                low_inclusive=False)
    if not (isinstance(clipnorm, str) and clipnorm == DEPRECATED):
        check_float(clipnorm, "clipnorm", owner, low=0.0, low_inclusive=False, allow_none=True)
    global_clipnorm, renamed = renamed_parameter(global_clipnorm, clipnorm, "global_clipnorm",
                                                 "clipnorm", owner, default=1.0)
    if renamed:
        warnings.warn(renamed, FutureWarning, stacklevel=2)
    global_clipnorm = check_float(global_clipnorm, "global_clipnorm", owner, low=0.0,
                                  low_inclusive=False, allow_none=True)
    ema_momentum = check_float(ema_momentum, "ema_momentum", owner, low=0.0, high=1.0,
                               high_inclusive=False, allow_none=True)
    averaging = {} if ema_momentum is None else {"use_ema": True, "ema_momentum": ema_momentum}
    model.compile(
        optimizer=_OPTIMIZERS[optimizer](learning_rate=learning_rate,
                                         global_clipnorm=global_clipnorm, **averaging),
        loss=loss,
        metrics=metrics,
    )
    return model


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _check_data(model, x, y, sample_weight, owner, argument=None):
    """``x``, ``y`` and ``sample_weight`` as arrays, after checking them against each other
    and against ``model``'s inputs; ``argument="validation_data"`` checks that argument's
    ``x_val``, ``y_val`` and ``sample_weight_val`` the same way."""
    names = ("x", "y", "sample_weight") if argument is None else (
        "x_val", "y_val", "sample_weight_val")
    if argument is None:
        where = {name: f"The {name!r} argument of {owner}" for name in names}
        where["x"], inside = f"The 'x' and 'y' arguments of {owner}", dict.fromkeys(names, "")
    else:
        where = dict.fromkeys(names, f"The {argument!r} argument of {owner}")
        inside = {name: f" in {name}" for name in names}
    arrays = [np.asarray(a) for a in _as_list(x)]
    y = np.asarray(y)
    for name, value in [*((names[0], a) for a in arrays), (names[1], y)]:
        if value.ndim == 0 or value.shape[0] != y.shape[0]:
            raise InvalidInputError(
                f"{where[names[0]]} must have the same number of samples"
                f"{inside[names[0]] and f' in {names[0]} and {names[1]}'}. "
                f"Got {name} of shape {value.shape} and {names[1]} of shape {y.shape}."
            )
    _check_inputs(model, arrays, names[0] if argument is None else argument, owner)
    if np.issubdtype(y.dtype, np.floating) and np.isnan(y).any():
        raise InvalidInputError(
            f"{where[names[1]]} must not contain NaN{inside[names[1]]}: a NaN target makes "
            "the loss NaN even where it is masked out. Pad the targets of padded steps with a "
            "finite value."
        )
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype="float32")
        if sample_weight.ndim == 0 or sample_weight.shape != y.shape[:sample_weight.ndim]:
            raise InvalidInputError(
                f"{where[names[2]]} must have one row per sample, and one column per step "
                f"only for per-step targets: a shape that begins {names[1]}'s {y.shape}. Got "
                f"{names[2]} of shape {sample_weight.shape}."
            )
    return arrays, y, sample_weight


def _check_inputs(model, arrays, argument, owner):
    """Refuse arrays that ``model``'s inputs cannot take: not one per input, or of another
    rank or size than an input's (axes the model leaves open, such as time, take any)."""
    inputs = getattr(model, "inputs", None)
    if not inputs:  # a subclassed model declares no inputs
        return
    if len(arrays) != len(inputs):
        raise InvalidInputError(
            f"The {argument!r} argument of {owner} must hold one array per input of the "
            f"model ({len(inputs)}). Got {len(arrays)}."
        )
    for array, tensor in zip(arrays, inputs):
        shape = tuple(tensor.shape)
        if array.ndim != len(shape) or any(
                size is not None and size != got for size, got in zip(shape[1:], array.shape[1:])):
            raise InvalidInputError(
                f"The {argument!r} argument of {owner} must match the model's input "
                f"{tensor.name!r} of shape {shape}. Got an array of shape {array.shape}."
            )


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


def _validation_arrays(model, validation_data, owner):
    """``(x_val, y_val)`` or ``(x_val, y_val, sample_weight_val)`` as checked
    ``(arrays, y, weights)``."""
    if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
        got = (f"a {type(validation_data).__name__} of {len(validation_data)}"
               if isinstance(validation_data, (list, tuple)) else type(validation_data).__name__)
        raise InvalidParameterError(
            f"The 'validation_data' parameter of {owner} must be a tuple (x_val, y_val) or "
            f"(x_val, y_val, sample_weight_val). Got {got}."
        )
    x_val, y_val, *weights = validation_data
    return _check_data(model, x_val, y_val, (weights or [None])[0], owner,
                       argument="validation_data")


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


_WATCHERS = contextvars.ContextVar("seqkit_training_watchers", default=())


@contextlib.contextmanager
def watching(*callbacks):
    """Add Keras callbacks to every :func:`fit` inside the block (estimators' fits included).

    For applications that report on fits they do not call themselves, such as a
    progress line per epoch while an estimator's ``fit`` runs.

    Parameters
    ----------
    *callbacks : keras.callbacks.Callback
    """
    token = _WATCHERS.set((*_WATCHERS.get(), *callbacks))
    try:
        yield
    finally:
        _WATCHERS.reset(token)


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
    monitor="val_loss",
    plateau_patience=None,
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
    monitor : {"val_loss", "loss"}, default "val_loss"
        The loss early stopping and ``plateau_patience`` watch: the validation
        loss, or the training loss (for data too small to hold any out).
    plateau_patience : int or None, default None
        Halve the learning rate when the ``monitor`` loss has not improved for
        this many epochs, down to 1/100 of the rate the fit starts with (as
        Keras' ``ReduceLROnPlateau`` with ``factor=0.5``); None keeps the rate
        constant. A resumed fit
        counts again from the resumed epoch, as early stopping's patience does.
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

    Raises
    ------
    TrainingDivergedError
        When the loss becomes NaN or inf (training stops at once,
        ``keras.callbacks.TerminateOnNaN``), or the weights hold NaN or inf after
        an epoch. The message names the epoch; the error's ``history`` holds the
        history up to it. A checkpoint keeps the last good epoch and is not
        marked finished.
    InvalidParameterError
        For a model or arguments ``fit`` cannot train with, or a checkpoint made
        by another training.
    InvalidInputError
        For data that does not match (sample counts, NaN targets, the model's inputs, the
        targets' shape for ``sample_weight``), in ``x``, ``y`` and ``sample_weight`` or in
        ``validation_data``, before any training.

    Notes
    -----
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
    monitor = check_choice(monitor, "monitor", owner, ("val_loss", "loss"))
    plateau_patience = check_int(plateau_patience, "plateau_patience", owner, minimum=1,
                                 allow_none=True)
    verbose = check_int(verbose, "verbose", owner, minimum=0, maximum=2)
    seed = check_int(seed, "seed", owner, minimum=0, allow_none=True)
    arrays, y, sample_weight = _check_data(model, x, y, sample_weight, owner)
    if validation_fraction and validation_data is not None:
        raise InvalidParameterError(
            f"The 'validation_fraction' parameter of {owner} must be 0 when validation_data "
            f"is given. Got {validation_fraction}."
        )
    validation = (None if validation_data is None
                  else _validation_arrays(model, validation_data, owner))
    if validation_fraction:
        (arrays, y, sample_weight), validation = _split(
            arrays, y, sample_weight, validation_fraction, owner
        )
    if (early_stopping or plateau_patience) and monitor == "val_loss" and validation is None:
        name = "early_stopping" if early_stopping else "plateau_patience"
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} needs validation data to watch the "
            "validation loss: set validation_fraction > 0 or validation_data, or "
            f'monitor="loss". Got {name}={early_stopping if early_stopping else plateau_patience}'
            " without."
        )
    strategy = model.distribute_strategy
    if strategy.num_replicas_in_sync > 1:
        sizes = {"training": y.shape[0]}
        if validation is not None:
            sizes["validation"] = validation[1].shape[0]
        _check_replicas(strategy, seed, batch_size, sizes, owner)
    steps = _ReplicaSteps(model, batch_size=batch_size, epochs=epochs, train_rows=y.shape[0],
                          validation_rows=0 if validation is None else validation[1].shape[0])
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
            _end_on_averages(model, early_stopping)
            return progress.history
        if seed is not None:
            keras.utils.set_random_seed(seed)
        chain = [keras.callbacks.TerminateOnNaN()]
        if early_stopping:
            chain.append(keras.callbacks.EarlyStopping(monitor=monitor, patience=patience,
                                                       restore_best_weights=True))
        if plateau_patience:
            chain.append(_HalveOnPlateau(monitor, plateau_patience))
        chain.extend([*callbacks, *_WATCHERS.get(), progress])
        _run_epochs(
            model, train_batch, steps.evaluate, (arrays, y, sample_weight), validation,
            epochs=epochs, initial_epoch=progress.epochs_done, batch_size=batch_size,
            callbacks=chain, verbose=verbose, seed=seed,
        )
        if progress.diverged is None:
            _end_on_averages(model, early_stopping)
    if progress.diverged is not None:
        raise _diverged(progress, checkpoint_dir)
    return progress.history


def _end_on_averages(model, early_stopping):
    """Set the weights to the optimizer's moving averages, if it keeps them (as Keras' own
    fit does at its end) and early stopping has not kept its best epoch's weights. The
    checkpoints hold the weights themselves and the averages (in the optimizer's state), so a
    finished checkpoint read again ends on the same averages. Asked of every optimizer: a
    mixed-precision model's loss-scaling wrapper passes it to the one that keeps them, and
    one without averages changes nothing."""
    if not early_stopping:
        model.optimizer.finalize_variable_values(model.trainable_variables)


class _HalveOnPlateau(keras.callbacks.Callback):
    """Halve the learning rate when ``monitor`` has not improved for ``patience`` epochs,
    down to 1/100 of the rate at the start of training.

    What Keras' ``ReduceLROnPlateau`` does with ``factor=0.5``; that callback
    also writes the rate into every epoch's logs (a ``learning_rate`` entry in
    the history and the checkpoints) and reads it through a NumPy conversion
    that NumPy 2 deprecates, so it warns every epoch.
    """

    def __init__(self, monitor, patience):
        super().__init__()
        self.monitor, self.patience = monitor, patience

    def _rate(self):
        return float(self.model.optimizer.learning_rate.value.numpy())

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.floor = np.inf, 0, self._rate() / 100

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        if value < self.best:
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= self.patience and self._rate() > self.floor:
            self.model.optimizer.learning_rate.assign(max(self._rate() / 2, self.floor))
            self.wait = 0


def _diverged(progress, checkpoint_dir):
    """The :class:`TrainingDivergedError` of a fit whose ``progress`` saw it diverge."""
    epoch, what = progress.diverged
    kept = checkpoint_state(checkpoint_dir) if checkpoint_dir is not None else None
    if kept is not None:
        kept = (f" The checkpoint in checkpoint_dir {str(checkpoint_dir)!r} keeps epoch "
                f"{kept['epochs']}, not marked finished; to fit with other settings, give an "
                "empty folder or delete this one.")
    return TrainingDivergedError(
        f"The fit diverged: {what} in epoch {epoch}, so the weights cannot be trusted. "
        "Check the data for extreme values, or use a lower learning rate, stronger scaling "
        f"or a smaller global_clipnorm.{kept or ''}",
        epoch=epoch, history=progress.history,
    )


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
