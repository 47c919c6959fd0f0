"""What the seqkit estimators share: parameters, seeding, training, pickling and saving."""

import contextlib
import inspect
import logging
import numbers
import os
import pickle
import tempfile
import warnings
import weakref
import zipfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from seqkit import networks, training
from seqkit._files import staged_file
from seqkit._validation import (
    DEPRECATED,
    check_bool,
    check_choice,
    check_float,
    check_int,
    renamed_parameter,
)
from seqkit.cells import shape_agnostic_inference, uncompiled_training
from seqkit.cells._graph import COMPILE_AFTER_STEPS
from seqkit.estimators._budget import (
    EMA_MOMENTUM,
    Budget,
    check_auto_fraction,
    check_auto_int,
    resolve,
)
from seqkit.exceptions import (
    InputTypeError,
    InvalidInputError,
    InvalidParameterError,
    TrainingDivergedError,
)
from seqkit.export import export_saved_model
from seqkit.networks.stateful import FORWARD_ONLY
from seqkit.preprocessing import SequenceScaler

_MODEL_FILE = "model.keras"
_PREDICT_STEPS = weakref.WeakKeyDictionary()
"""Each network's inference step (a ``tf.function``), traced inside
``shape_agnostic_inference``."""
_ESTIMATOR_FILE = "estimator.pkl"


def model_to_bytes(model):
    """The ``.keras`` archive of ``model``, as bytes."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / _MODEL_FILE
        model.save(path)
        return path.read_bytes()


def model_from_bytes(data):
    """The Keras model stored by :func:`model_to_bytes`."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / _MODEL_FILE
        path.write_bytes(data)
        return keras.saving.load_model(path, compile=False, safe_mode=True)


def check_known_labels(labels, classes, owner, name="y"):
    """Raise unless every label of ``labels`` is one of the fitted ``classes``."""
    unseen = sorted(set(np.asarray(labels).tolist()) - set(classes.tolist()), key=str)
    if unseen:
        raise InvalidInputError(
            f"{name} contains labels that {owner} never saw in fit: {unseen[:5]}. "
            f"Known labels: {classes[:10].tolist()}."
        )


SHARED_PARAMS = {
    "cell": "peephole_lstm",
    "units": 64,
    "num_layers": 1,
    "bidirectional": False,
    "dropout": 0.0,
    "epochs": "auto",
    "batch_size": "auto",
    "learning_rate": 1e-3,
    "learning_rate_schedule": "plateau",
    "global_clipnorm": 1.0,
    "validation_fraction": 0.1,
    "early_stopping": True,
    "n_iter_no_change": 10,
    "tbptt_steps": None,
    "random_state": None,
    "checkpoint_dir": None,
    "verbose": 0,
    "clipnorm": DEPRECATED,
}
"""The parameters every estimator takes, with their defaults."""


def input_scaling(values, scaling):
    """The network's ``input_scaling`` for padded training ``values`` ``(batch, time,
    features)``: ``(mean, scale)`` per feature over the real steps with ``scaling=
    "standard"`` (a constant feature keeps scale 1), None with ``scaling=None``."""
    if scaling is None:
        return None
    scaler = SequenceScaler().fit(values)
    return scaler.mean_, scaler.scale_


def estimator_init(**own_params):
    """An ``__init__`` that stores ``own_params`` and :data:`SHARED_PARAMS`, and nothing else.

    The keyword arguments are the estimator's own parameters with their
    defaults (one that is also a shared parameter overrides its shared
    default). The ``__init__`` made has them, then the shared ones, as
    keyword-only arguments in its signature, which is what scikit-learn's
    ``get_params`` and ``clone`` read; so each parameter list is written once.
    """
    defaults = {**own_params, **SHARED_PARAMS, **own_params}

    def __init__(self, **params):
        unknown = sorted(set(params) - set(defaults))
        if unknown:
            raise TypeError(
                f"{type(self).__name__}.__init__() got unexpected keyword arguments {unknown}."
            )
        for name, default in defaults.items():
            setattr(self, name, params.get(name, default))

    __init__.__signature__ = inspect.Signature([
        inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        *(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
          for name, default in defaults.items()),
    ])
    return __init__


def _shuffled(x, y, seed):
    """``x`` (an array or a list of arrays) and ``y`` in one random order of their samples."""
    order = np.random.default_rng(seed).permutation(len(y))
    if isinstance(x, list):
        return [part[order] for part in x], y[order]
    return x[order], y[order]


class BaseSequenceEstimator(BaseEstimator):
    """Parameters and machinery shared by the seqkit estimators.

    Parameters
    ----------
    cell : {"peephole_lstm", "lstm", "gru", "elman"}, default "peephole_lstm"
        The recurrent cell (see :mod:`seqkit.networks`).
    units : int, default 64
        Size of each recurrent layer's state.
    num_layers : int, default 1
        Number of stacked recurrent layers.
    bidirectional : bool, default False
        Read each sequence in both directions.
    dropout : float in [0, 1), default 0
        Dropout between layers, in training.
    epochs : int or "auto", default "auto"
        The most passes over the training data. ``"auto"``: enough for about
        2,000 optimizer updates, between 5 and 1,000 epochs
        (:mod:`seqkit.estimators._budget`).
    batch_size : int or "auto", default "auto"
        ``"auto"``: about 16 batches per epoch, between 8 and 32 samples.
    learning_rate : float, default 1e-3
        Adam's initial learning rate.
    learning_rate_schedule : {"plateau", "constant"}, default "plateau"
        ``"plateau"`` halves the learning rate when the watched loss (the
        validation loss, else the training loss) has not improved for half of
        ``n_iter_no_change`` epochs, down to 1/100 of ``learning_rate``.
    global_clipnorm : float or None, default 1.0
        Rescale the gradient of all weights together to at most this global
        norm (Keras' ``global_clipnorm``); ``None`` does not clip.
    validation_fraction : float in [0, 1) or "auto", default 0.1
        Fraction of the training data held out to watch for over-fitting
        (reported in ``history_``, used by ``early_stopping``). ``"auto"``
        (the classifier's and the tagger's default): 0.1 from 200 training
        sequences on; below that nothing is held out, early stopping is off
        and the fit runs its whole budget (the learning-rate schedule watches
        the training loss). A fit with nothing held out and at least 500
        updates (every ``"auto"`` budget) ends on the moving average of its
        weights over about the last 100 updates (momentum
        :data:`~seqkit.estimators._budget.EMA_MOMENTUM`; Polyak averaging)
        rather than on the last update's, which it has no best epoch to
        replace with. The batch normalisation statistics of a convolutional
        branch stay those of the training run.
    early_stopping : bool, default True
        Stop when the validation loss has not improved for
        ``n_iter_no_change`` epochs, and keep the best weights. Needs
        ``validation_fraction > 0`` (or ``"auto"``).
    n_iter_no_change : int, default 10
        Patience of early stopping, in epochs.
    tbptt_steps : int or None, default None
        Truncate backpropagation through time to this many steps; ``None``
        backpropagates through whole sequences. The states must carry from
        chunk to chunk, so it needs ``bidirectional=False`` and, where the
        estimator has them, no convolutional branch, no step pooling and no
        CRF (a tagger's, which scores whole label paths); ``fit`` raises
        ``InvalidParameterError`` naming every such setting otherwise.
    random_state : int, RandomState or None, default None
        Seeds weights, dropout and shuffling. With an int, two fits on the
        same data give identical predictions (shown on CPU; TensorFlow's
        global op-determinism switch is not needed there and is left alone).
        Fitting sets Keras' global seeds (Python, NumPy, TensorFlow).
    checkpoint_dir : str, path-like or None, default None
        A folder where ``fit`` saves the network, the optimizer state and the
        history after every epoch (atomically; see
        :func:`seqkit.training.fit`). A ``fit`` that finds a checkpoint there,
        say after the process was killed, resumes from its last completed
        epoch and ends as an uninterrupted fit would; with ``random_state``
        None or a ``RandomState``, it reuses the seed the checkpoint was made
        with. Only the same estimator class, parameters (``epochs``,
        ``verbose`` and ``checkpoint_dir`` aside) and data may resume a
        checkpoint; anything else raises ``InvalidParameterError`` naming
        what differs. A finished fit's checkpoint stays: fitting again
        returns its model at once. Use one folder per fit (not one shared
        by a grid search).
    verbose : {0, 1, 2}, default 0
        0 prints nothing; 1 shows Keras' progress bar for each epoch; 2 one
        line per epoch.
    clipnorm : float or None
        Deprecated: the former name of ``global_clipnorm``. Setting it makes
        ``fit`` warn (``FutureWarning``) and use its value; setting both is an
        ``InvalidParameterError``.

    Notes
    -----
    A ``fit`` whose loss or weights become NaN or inf raises
    :class:`~seqkit.exceptions.TrainingDivergedError` naming the epoch (see
    :func:`seqkit.training.fit`) and leaves the estimator unfitted; a
    ``checkpoint_dir`` keeps the last good epoch, not marked finished.

    A fitted estimator pickles (the network travels as the bytes of a
    ``.keras`` archive) and :meth:`save` writes it to one file that
    :meth:`load` reads back; both give identical predictions in a new
    process.
    """

    __init__ = estimator_init()

    # ------------------------------------------------------------------ fitting

    def _check_params(self):
        """Check the shared parameters; subclasses extend this with their own."""
        owner = type(self).__name__
        check_choice(self.cell, "cell", owner, networks.CELL_NAMES)
        check_choice(self.learning_rate_schedule, "learning_rate_schedule", owner,
                     ("plateau", "constant"))
        for name in ("units", "num_layers", "n_iter_no_change"):
            check_int(getattr(self, name), name, owner, minimum=1)
        for name in ("epochs", "batch_size"):
            check_auto_int(getattr(self, name), name, owner)
        check_int(self.tbptt_steps, "tbptt_steps", owner, minimum=1, allow_none=True)
        check_int(self.verbose, "verbose", owner, minimum=0, maximum=2)
        check_bool(self.bidirectional, "bidirectional", owner)
        check_bool(self.early_stopping, "early_stopping", owner)
        check_float(self.dropout, "dropout", owner, low=0.0, high=1.0, high_inclusive=False)
        check_auto_fraction(self.validation_fraction, "validation_fraction", owner)
        check_float(self.learning_rate, "learning_rate", owner, low=0.0, low_inclusive=False)
        check_float(self.global_clipnorm, "global_clipnorm", owner, low=0.0, low_inclusive=False,
                    allow_none=True)
        if not (isinstance(self.clipnorm, str) and self.clipnorm == DEPRECATED):
            check_float(self.clipnorm, "clipnorm", owner, low=0.0, low_inclusive=False,
                        allow_none=True)
        self._global_clipnorm()
        self._check_checkpoint_dir(owner)
        if self.early_stopping and self.validation_fraction == 0:
            raise InvalidParameterError(
                f"The 'early_stopping' parameter of {owner} needs validation_fraction > 0 to "
                "watch. Got early_stopping=True with validation_fraction=0.0; set one of them."
            )
        try:
            check_random_state(self.random_state)
        except ValueError:
            raise InputTypeError(
                f"The 'random_state' parameter of {owner} must be an int, a "
                f"numpy.random.RandomState or None. Got {self.random_state!r} instead."
            ) from None

    def _check_checkpoint_dir(self, owner):
        folder = self.checkpoint_dir
        if folder is None:
            return
        if not isinstance(folder, (str, os.PathLike)):
            raise InputTypeError(
                f"The 'checkpoint_dir' parameter of {owner} must be a path (str or "
                f"os.PathLike) or None. Got {folder!r} instead."
            )
        if not str(folder) or Path(folder).is_file():
            raise InvalidParameterError(
                f"The 'checkpoint_dir' parameter of {owner} must name a folder (it is created "
                f"if missing). Got {str(folder)!r}, "
                f"{'an empty path' if not str(folder) else 'which is a file'}."
            )

    def _global_clipnorm(self):
        """``(global_clipnorm, warning)``: the clipping norm, from ``clipnorm`` if that old
        name is set, and the ``FutureWarning`` message to give then (else None)."""
        return renamed_parameter(self.global_clipnorm, self.clipnorm, "global_clipnorm",
                                 "clipnorm", type(self).__name__,
                                 default=SHARED_PARAMS["global_clipnorm"])

    def _checkpoint_config(self):
        """What a checkpoint must have been made with for this estimator to resume it."""
        params = self.get_params()
        for name in ("epochs", "verbose", "checkpoint_dir", "random_state", "clipnorm"):
            params.pop(name)
        params["global_clipnorm"] = self._global_clipnorm()[0]
        if isinstance(self.random_state, numbers.Integral):
            params["random_state"] = int(self.random_state)
        return {"estimator": type(self).__name__, **params}

    def _seed(self):
        """The seed of this fit: drawn from ``random_state``, or that of the checkpoint resumed."""
        if self.checkpoint_dir is not None and not isinstance(self.random_state, numbers.Integral):
            state = training.checkpoint_state(self.checkpoint_dir)
            if state is not None and state["seed"] is not None:
                return state["seed"]
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _fit_network(self, build, x, y, *, loss, network, **fit_options):
        """Seed, build, compile and train a network; set ``model_`` and ``history_``.

        ``build`` is a :mod:`seqkit.networks` builder, called with the
        ``network`` arguments and the architecture parameters; ``fit_options``
        override the arguments of :func:`seqkit.training.fit` that come from
        parameters. The samples are shuffled first, so that the validation
        fraction (the last samples) is a random one.
        """
        self._check_tbptt(network)
        global_clipnorm, renamed = self._global_clipnorm()
        if renamed:
            # Called by the estimator's fit: the warning points at the caller of fit.
            warnings.warn(renamed, FutureWarning, stacklevel=3)
        seed = self._seed()
        keras.utils.set_random_seed(seed)
        model = build(
            **network, cell=self.cell, units=self.units, num_layers=self.num_layers,
            bidirectional=self.bidirectional, dropout=self.dropout, seed=seed,
        )
        x, y = _shuffled(x, y, seed)
        validation = fit_options.get("validation_data")
        budget = self._budget(len(y), fit_options.pop("validation_fraction",
                                                      self.validation_fraction),
                              0 if validation is None else len(validation[1]))
        held_out = budget.validation_fraction or validation is not None
        training.compile_model(
            model, loss=loss, learning_rate=self.learning_rate, global_clipnorm=global_clipnorm,
            # A fit without held-out data runs its whole budget and has no best epoch to
            # keep: it ends on the moving average of its weights instead of the last step's.
            ema_momentum=EMA_MOMENTUM if budget.averages_weights else None,
        )
        patience = budget.patience(self.n_iter_no_change)
        options = {
            "epochs": budget.epochs,
            "batch_size": budget.batch_size,
            "validation_fraction": budget.validation_fraction,
            # The training loss can sit on a plateau for many epochs before it falls (an
            # LSTM on long sequences, in the accuracy suite): stopping on it ends such fits
            # before they learn, so without held-out data the fit runs its whole budget.
            "early_stopping": self.early_stopping and bool(held_out),
            "patience": patience,
            "monitor": "val_loss" if held_out else "loss",
            "plateau_patience": (max(patience // 2, 1)
                                 if self.learning_rate_schedule == "plateau" else None),
            "tbptt_steps": self.tbptt_steps,
            "verbose": self.verbose,
            "seed": seed,
            "checkpoint_dir": self.checkpoint_dir,
            "checkpoint_config": self._checkpoint_config(),
            **fit_options,
        }
        try:
            with contextlib.ExitStack() as switches:
                switches.enter_context(shape_agnostic_inference())  # validation: any shape
                # A short fit trains seqkit's layers uncompiled: the XLA compile of each
                # first-met shape costs about what a few hundred compiled steps save (the
                # figures are in uncompiled_training's docstring). The choice changes no
                # number beyond float rounding.
                if budget.updates < COMPILE_AFTER_STEPS:
                    switches.enter_context(uncompiled_training())
                self.history_ = training.fit(model, x, y, **options)
        except (TrainingDivergedError, InvalidParameterError):
            # Refused by training.fit (say, tbptt_steps beyond the longest sequence) or
            # diverged: the estimator is left unfitted, not half-fitted.
            self._forget_fit()
            raise
        self.model_ = model

    def _check_tbptt(self, network):
        """Refuse ``tbptt_steps`` with every setting that keeps it from working, at once.

        Truncated BPTT carries each layer's final states into the next chunk
        of the sequence (:func:`seqkit.networks.stateful_twin`), which only a
        network read forward, step by step, allows: a backward direction, a
        convolutional branch or step pooling reads steps of later chunks.
        ``network`` holds the builder's arguments, with data-dependent
        settings resolved (a token tagger's has no convolutional branch);
        :meth:`_tbptt_needs` adds the estimator's own. The estimator is left
        unfitted.
        """
        if self.tbptt_steps is None:
            return
        settings = {**network, "bidirectional": self.bidirectional}
        needs = {name: (settings.get(name, value), value, None)
                 for name, value in FORWARD_ONLY.items()}
        needs.update(self._tbptt_needs())
        blocking = {name: need for name, need in needs.items() if need[0] != need[1]}
        if blocking:
            self._forget_fit()
            whys = "".join(f", and {why}" for _, _, why in blocking.values() if why)
            raise InvalidParameterError(
                f"The 'tbptt_steps' parameter of {type(self).__name__} needs a network read "
                f"forward one step at a time, whose states carry from chunk to chunk{whys}: set "
                + " and ".join(f"{name}={needed!r}" for name, (_, needed, _) in blocking.items())
                + f". Got tbptt_steps={self.tbptt_steps!r} with "
                + ", ".join(self._as_given(name, got) for name, (got, _, _) in blocking.items())
                + "."
            )

    def _as_given(self, name, resolved):
        """``name=value`` as passed, with what fit resolved it to when that differs
        (``crf='auto' (True for this data)``)."""
        given = getattr(self, name, resolved)
        if given == resolved:
            return f"{name}={resolved!r}"
        return f"{name}={given!r} ({resolved!r} for this data)"

    def _tbptt_needs(self):
        """The estimator's settings beyond the network's that ``tbptt_steps`` needs, as
        ``{name: (value, needed value, why)}`` (see :meth:`_check_tbptt`); none here."""
        return {}

    def _budget(self, n_samples, validation_fraction, n_validation=0):
        """The :class:`~seqkit.estimators._budget.Budget` of a fit on ``n_samples`` (and
        ``n_validation`` held out apart), kept as ``budget_`` and told to the ``seqkit``
        logger."""
        self.budget_ = resolve(n_samples, batch_size=self.batch_size, epochs=self.epochs,
                               validation_fraction=validation_fraction,
                               n_validation=n_validation)
        logging.getLogger("seqkit").info("%s: %s.", type(self).__name__,
                                         self.budget_.describe())
        return self.budget_

    def _forget_fit(self):
        """Delete every fitted attribute (a name ending in ``_``), as ``check_is_fitted``
        finds them: a fit that fails halfway leaves the estimator unfitted, not half-fitted."""
        for name in [name for name in vars(self) if name.endswith("_")
                     and not name.startswith("__")]:
            delattr(self, name)

    def _predict_network(self, x):
        """The network's outputs for ``x`` (an array, or a list of arrays for a network of
        several inputs), in batches of the fit's batch size, with seqkit's layers on their
        shape-agnostic loop.

        ``predict`` meets shapes that training never saw (one sequence of a
        new length, a last partial batch); the fast path's XLA loop compiles a
        program for each (0.2-1.4 s), where the uncompiled graph loop of
        :func:`seqkit.cells.shape_agnostic_inference` runs at once with the
        same numbers. The step is traced once for batches of any number of
        rows (Keras' ``Model.predict`` traces a last, shorter batch again:
        about 1 s for a small bidirectional network) and kept with the
        network; a new sequence length traces it again, the second one for any
        length (``reduce_retracing``).
        """
        model = self.model_
        size = self.budget_.batch_size
        rows = (x[0] if isinstance(x, (list, tuple)) else x).shape[0]
        batches = [tf.nest.map_structure(lambda a, part=slice(start, start + size): a[part], x)
                   for start in range(0, rows, size)]
        with shape_agnostic_inference():
            step = _PREDICT_STEPS.get(model)
            if step is None:
                network = weakref.ref(model)  # the step, kept beside the network, must not keep it
                step = _PREDICT_STEPS[model] = tf.function(
                    lambda batch: network()(batch, training=False),
                    reduce_retracing=True, autograph=False)
                step.get_concrete_function(tf.nest.map_structure(
                    lambda a: tf.TensorSpec((None, *a.shape[1:]), a.dtype), batches[0]))
            outputs = [step(batch) for batch in batches]
        return tf.nest.map_structure(lambda *parts: np.concatenate(parts), *outputs)

    # ------------------------------------------------------------------ persistence

    def __getstate__(self):
        state = super().__getstate__()
        if "model_" in state:
            state = {**state, "model_": model_to_bytes(state["model_"])}
        return state

    def __setstate__(self, state):
        if "global_clipnorm" not in state:  # pickled before clipnorm became global_clipnorm
            state = {**state, "global_clipnorm": state.get("clipnorm", 1.0),
                     "clipnorm": DEPRECATED}
        if "model_" in state and "budget_" not in state:  # fitted before "auto" budgets
            state = {**state, "budget_": Budget(state["batch_size"], state["epochs"],
                                                state["validation_fraction"], 0)}
        if isinstance(state.get("model_"), bytes):
            state = {**state, "model_": model_from_bytes(state["model_"])}
        super().__setstate__(state)

    def save(self, path):
        """Write the fitted estimator to ``path``, a zip archive.

        The archive holds ``model.keras``, the network as a Keras archive
        (loadable with ``keras.saving.load_model`` alone), and
        ``estimator.pkl``, the estimator without it.

        Parameters
        ----------
        path : str or path-like
        """
        check_is_fitted(self)
        bare = object.__new__(type(self))
        bare.__dict__.update({k: v for k, v in self.__dict__.items() if k != "model_"})
        with staged_file(path) as partial, zipfile.ZipFile(partial, "w") as archive:
            archive.writestr(_MODEL_FILE, model_to_bytes(self.model_))
            archive.writestr(_ESTIMATOR_FILE, pickle.dumps(bare))

    @classmethod
    def load(cls, path):
        """Read an estimator written by :meth:`save`.

        Like ``pickle``, this runs code from the file: load only files you trust.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        estimator
        """
        try:
            with zipfile.ZipFile(path) as archive:
                estimator = pickle.loads(archive.read(_ESTIMATOR_FILE))
                model_bytes = archive.read(_MODEL_FILE)
        except (zipfile.BadZipFile, KeyError) as err:
            raise InvalidInputError(
                f"{path} is not an estimator archive written by save(): {err}."
            ) from None
        model = model_from_bytes(model_bytes)
        if not isinstance(estimator, cls):
            raise InputTypeError(
                f"{path} holds a {type(estimator).__name__}, not a {cls.__name__}."
            )
        estimator.model_ = model
        return estimator

    def export(self, path):
        """Export as a TensorFlow SavedModel that loads and serves without seqkit.

        See :func:`seqkit.export.export_saved_model` for the signatures and
        the padding conventions.

        Parameters
        ----------
        path : str or path-like
            The folder to write (atomically: an interrupted export leaves a
            previous one intact).

        Returns
        -------
        pathlib.Path
        """
        return export_saved_model(self, path)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
