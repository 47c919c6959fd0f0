"""Deploy fitted estimators: self-contained SavedModels, an MLflow model, ONNX.

A fitted estimator (or a scikit-learn ``Pipeline`` of a
:class:`~seqkit.preprocessing.SequenceScaler` then a classifier or tagger)
exports as a TensorFlow SavedModel that runs with TensorFlow alone: the
preprocessing travels inside the graph, so a client sends raw values and gets
predictions in its own terms. :func:`export_saved_model` writes it,
:func:`load_saved_model` reads one signature back (no Keras, no seqkit and no
pickle involved), :func:`log_model` logs it as an MLflow model and
:func:`export_onnx` converts it to ONNX.

Signatures (``saved_model_cli show --dir DIR --all`` lists them):

``serving_default``
    Classifier: ``sequences`` ``(batch, time, features)`` float32 ->
    ``labels`` ``(batch,)`` string. Tagger: ``sequences``, or ``tokens``
    ``(batch, time)`` string for a tagger fit on tokens -> ``labels``
    ``(batch, time)`` string (``""`` at padded steps) and ``lengths``
    ``(batch,)`` int32. Forecaster: ``history`` ``(batch, time, targets)``
    float32, plus ``covariates`` ``(batch, time + horizon, covariates)`` when
    fit with covariates (those of the history's steps, then of the steps
    forecast) -> ``forecasts`` ``(batch, horizon, targets)`` float64 on the
    original scale, read from the last ``lookback`` steps of each history.
``predict_proba``
    Classifier and tagger: ``probabilities``, columns in the order of
    ``classes_`` (the tagger's are 0 at padded steps; it returns ``lengths``
    too).
``step``
    Streaming: one timestep ``x`` (``(batch, features)`` float32, or
    ``(batch,)`` string tokens) and the recurrent states ``h_1`` (and
    ``c_1`` for LSTM cells), ``h_2``, ... ``(batch, units)``, zeros at the
    start of a sequence -> the prediction after that step (as in
    ``serving_default`` and ``predict_proba``) and the new states under the
    same names. A padding step (all NaN, or ``""``) leaves the states as they
    were. Not defined for bidirectional networks, whose output at a step
    depends on the steps after it; for forecasters only with
    ``scaling="standard"`` or ``None`` and no covariates (a window's scale
    depends on all of its steps), fed the last ``lookback`` values from zero
    states.

Variable lengths in one batch: pad numeric sequences at the end with NaN (a
step whose features are all NaN is padding) and token sequences with ``""``
(so ``""`` is never a token there). A single sequence needs no padding.

Each export holds a ``seqkit-export.json`` manifest (format version, seqkit
version, kind, signatures with their inputs and outputs) that
:func:`load_saved_model` checks before loading.
"""

import abc
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from seqkit import _files
from seqkit._validation import check_int, check_shape
from seqkit._version import __version__
from seqkit.exceptions import InputTypeError, InvalidParameterError, SeqkitError

FORMAT_VERSION = 1
"""Version of the export layout; :func:`load_saved_model` reads only this one."""

MANIFEST = "seqkit-export.json"
"""File name of the manifest inside an export."""

ARTIFACT = "saved_model"
"""Name of the SavedModel artifact inside the MLflow model."""

SERVING_MODEL = Path(__file__).with_name("serving_model.py")
"""The standalone file that defines the MLflow pyfunc model ("models from code")."""

MAX_REQUEST_VALUES = 1_000_000
"""Default most values (sequences x steps x features, or tokens) one served request holds."""

__all__ = [
    "ARTIFACT",
    "FORMAT_VERSION",
    "MANIFEST",
    "ExportError",
    "ExportedSignature",
    "export_onnx",
    "export_saved_model",
    "load_saved_model",
    "log_model",
    "read_manifest",
    "save_mlflow_model",
]


class ExportError(SeqkitError, ValueError):
    """An export is missing, corrupt, from an incompatible version, or lacks a signature."""


# ----------------------------------------------------------------------- the graphs


def _tf():
    import tensorflow as tf

    return tf


def _recurrent_layers(network):
    """The layers ``recurrent_1 .. recurrent_L`` of a :mod:`seqkit.networks` model, in order."""
    layers = {
        int(layer.name[10:]): layer for layer in network.layers
        if layer.name.startswith("recurrent_") and layer.name[10:].isdigit()
    }
    return [layers[i] for i in sorted(layers)]


def _real(sequences):
    """Where numeric ``sequences`` ``(batch, time, features)`` are real: not all NaN."""
    tf = _tf()
    return tf.logical_not(tf.reduce_all(tf.math.is_nan(sequences), axis=-1))


def _lengths(real):
    tf = _tf()
    return tf.reduce_sum(tf.cast(real, tf.int32), axis=1)


def _state_names(index, layer):
    """Names of the states of recurrent layer ``index`` (1-based): ``h_i`` and maybe ``c_i``."""
    from seqkit.networks import cell_state_sizes

    sizes = cell_state_sizes(layer.cell)
    return {f"{kind}_{index}": size for kind, size in zip("hc", sizes)}


class _Graph(abc.ABC):
    """The TensorFlow functions of one fitted estimator's export.

    Subclasses (one per estimator kind) define :meth:`endpoints`. ``network``
    is the estimator's Keras model, or a copy of it (see :func:`export_onnx`).
    """

    kind = None

    def __init__(self, estimator, scaler, network):
        tf = _tf()
        self.estimator = estimator
        self.network = network
        self.layers = _recurrent_layers(network)
        self.readout = network.get_layer("readout")
        self.tokens = getattr(estimator, "vocabulary_", None) is not None
        self.resources = []
        if self.tokens:
            # "" is padding; int64 ids and no string comparison, which ONNX converters map.
            preprocessing = _preprocessing()
            ids = {"": preprocessing.PAD_ID, **{
                token: i for token, i in estimator.vocabulary_.vocabulary_.items() if token
            }}
            self.table = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(
                    tf.constant(list(ids), tf.string), tf.constant(list(ids.values()), tf.int64)
                ),
                default_value=preprocessing.OOV_ID,
            )
            self.resources.append(self.table)
        self.n_features = None if self.tokens else network.inputs[0].shape[-1]
        self.scaling = None if scaler is None else (scaler.mean_, scaler.scale_)
        # Sub-word feature ids are hashed in the graph from the raw tokens (seqkit.subwords).
        self.subword_buckets = (estimator.subword_buckets
                                if getattr(estimator, "subword_features_", False) else None)

    @property
    def streaming(self):
        """Whether a ``step`` signature exists: a network read forward only."""
        import keras

        return not any(isinstance(layer, keras.layers.Bidirectional) for layer in self.layers)

    def input_spec(self, name="sequences", width=None, step=False):
        """The ``TensorSpec`` of the main input, whole sequences or one ``step``."""
        tf = _tf()
        if self.tokens:
            return tf.TensorSpec([None] if step else [None, None], tf.string, name="x" if step
                                 else "tokens")
        shape = [None, width or self.n_features]
        return tf.TensorSpec(shape if step else [None, None, shape[1]], tf.float32,
                             name="x" if step else name)

    def encode(self, inputs):
        """Network input for raw ``inputs`` and where they are real (not padding).

        Numeric steps are scaled (NaN stays NaN, as the network masks it);
        tokens become ids, ``""`` the padding id.
        """
        tf = _tf()
        if self.tokens:
            # The reshape (a no-op) tells ONNX converters the rank the lookup keeps.
            ids = tf.reshape(tf.cast(self.table.lookup(inputs), tf.int32), tf.shape(inputs))
            real = tf.not_equal(ids, _preprocessing().PAD_ID)
            if self.subword_buckets:
                from seqkit.subwords import subword_ids

                ids = tf.concat([ids[..., None], subword_ids(inputs, self.subword_buckets)], -1)
            return ids, real
        real = _real(inputs)
        if self.scaling is not None:
            mean, scale = self.scaling
            inputs = tf.cast((tf.cast(inputs, tf.float64) - mean) / scale, tf.float32)
        return inputs, real

    def state_specs(self):
        """``TensorSpec`` of each state the ``step`` signature takes and returns."""
        tf = _tf()
        return {
            name: tf.TensorSpec([None, size], tf.float32, name=name)
            for i, layer in enumerate(self.layers, 1)
            for name, size in _state_names(i, layer).items()
        }

    def advance(self, x, states):
        """Run one step through the stacked cells.

        Returns the top layer's output and the new states; a padding step
        keeps the old ones (and so the old output).
        """
        tf = _tf()
        x, real = self.encode(x)
        if self.tokens and self.subword_buckets:
            parts = self.network.get_layer("subword_embedding")(x[..., 1:])
            x = tf.concat([self.network.get_layer("embedding")(x[..., 0]),
                           tf.reshape(parts, [tf.shape(parts)[0], -1])], axis=-1)
        elif self.tokens:
            x = self.network.get_layer("embedding")(x)
        else:
            x = tf.where(tf.math.is_nan(x), tf.zeros_like(x), x)
        new = {}
        for i, layer in enumerate(self.layers, 1):
            names = list(_state_names(i, layer))
            old = [states[name] for name in names]
            x, updated = layer.cell.call(x, old, training=False)
            updated = updated if isinstance(updated, (list, tuple)) else [updated]
            for name, before, after in zip(names, old, updated):
                new[name] = tf.where(real[:, None], after, before)
        return new[f"h_{len(self.layers)}"], new, real

    @abc.abstractmethod
    def endpoints(self):
        """``{name: (function, input specs)}`` of every signature."""

    def manifest(self):
        """What the manifest says about this kind, besides the signatures."""
        return {"kind": self.kind, "input": "tokens" if self.tokens else "sequences",
                "n_features": self.n_features}


def _preprocessing():
    from seqkit import preprocessing

    return preprocessing


class _LabelGraph(_Graph):
    """What the classifier and the tagger share: classes as strings, labels from probabilities."""

    def __init__(self, estimator, scaler, network):
        super().__init__(estimator, scaler, network)
        self.classes = [str(c) for c in estimator.classes_]

    def labels(self, probabilities):
        tf = _tf()
        # A constant made in the graph (not captured), so that ONNX converters keep it inside.
        classes = tf.constant(self.classes)
        return tf.gather(classes, tf.argmax(probabilities, axis=-1, output_type=tf.int32))

    def step_endpoint(self, padding_label):
        """The ``step`` signature: labels and probabilities after one step, and the states."""
        tf = _tf()

        def step(x, states):
            h, new, real = self.advance(x, states)
            probabilities = self.readout(h)
            labels = self.labels(probabilities)
            if padding_label is not None:
                labels = tf.where(real, labels, padding_label)
            return {"labels": labels, "probabilities": probabilities, **new}

        return step, [self.input_spec(step=True), self.state_specs()]

    def manifest(self):
        return {**super().manifest(), "classes": self.classes}


class _ClassifierGraph(_LabelGraph):
    kind = "classifier"

    def endpoints(self):
        def predict_proba(sequences):
            return {"probabilities": self.network(self.encode(sequences)[0], training=False)}

        def serving_default(sequences):
            return {"labels": self.labels(predict_proba(sequences)["probabilities"])}

        spec = [self.input_spec()]
        endpoints = {"serving_default": (serving_default, spec),
                     "predict_proba": (predict_proba, spec)}
        if self.streaming:
            endpoints["step"] = self.step_endpoint(None)
        return endpoints


class _TaggerGraph(_LabelGraph):
    kind = "tagger"

    def __init__(self, estimator, scaler, network):
        super().__init__(estimator, scaler, network)
        from seqkit.crf import find_crf

        self.crf = find_crf(network)

    @property
    def streaming(self):
        # With a CRF, the best label of a step depends on the steps after it.
        return super().streaming and self.crf is None

    def endpoints(self):
        tf = _tf()

        def tag(inputs):
            encoded, real = self.encode(inputs)
            return self.network(encoded, training=False), real, _lengths(real)

        def predict_proba(inputs):
            probabilities, real, lengths = tag(inputs)
            if self.crf is not None:
                probabilities = self.crf.marginals(probabilities, real)
            return {"probabilities": probabilities * tf.cast(real, probabilities.dtype)[..., None],
                    "lengths": lengths}

        def serving_default(inputs):
            scores, real, lengths = tag(inputs)
            if self.crf is None:
                labels = self.labels(scores)
            else:
                labels = tf.gather(tf.constant(self.classes), self.crf.decode(scores, real))
            return {"labels": tf.where(real, labels, ""), "lengths": lengths}

        spec = [self.input_spec()]
        endpoints = {"serving_default": (serving_default, spec),
                     "predict_proba": (predict_proba, spec)}
        if self.streaming:
            endpoints["step"] = self.step_endpoint("")
        return endpoints


class _ForecasterGraph(_Graph):
    kind = "forecaster"

    def __init__(self, estimator, scaler, network):
        super().__init__(estimator, None, network)
        self.n_features = estimator.n_targets_
        self.n_covariates = estimator.n_features_in_
        self.targets = (estimator.target_scaler_.mean_, estimator.target_scaler_.scale_)

    @property
    def streaming(self):
        return (super().streaming and self.estimator.scaling != "window"
                and not self.n_covariates)

    def _unscale(self, output, loc, scale):
        tf = _tf()
        est = self.estimator
        output = tf.reshape(tf.cast(output, tf.float64), [-1, est.horizon, est.n_targets_])
        return output * scale + loc

    def _windows(self, history, covariates):
        """The last ``lookback`` real steps of each history (and the covariates around them)."""
        tf = _tf()
        est = self.estimator
        lengths = _lengths(_real(history))
        checks = [tf.debugging.assert_greater_equal(
            lengths, est.lookback,
            message=f"Each history must have at least lookback={est.lookback} steps.",
        )]
        if covariates is not None:
            checks.append(tf.debugging.assert_equal(
                _lengths(_real(covariates)), lengths + est.horizon,
                message=f"The covariates must cover each history's steps, then the "
                        f"horizon={est.horizon} steps forecast.",
            ))
        with tf.control_dependencies(checks):
            start = lengths[:, None] - est.lookback
        window = tf.gather(history, start + tf.range(est.lookback), batch_dims=1)
        if covariates is None:
            return tf.cast(window, tf.float64), None
        block = tf.gather(covariates, start + tf.range(est.lookback + est.horizon), batch_dims=1)
        mean, scale = est.covariate_scaler_.mean_, est.covariate_scaler_.scale_
        return tf.cast(window, tf.float64), (tf.cast(block, tf.float64) - mean) / scale

    def forecast(self, history, covariates=None):
        tf = _tf()
        est = self.estimator
        window, block = self._windows(history, covariates)
        if est.scaling == "window":
            loc = window[:, -1:]
            spread = tf.math.reduce_std(window, axis=1, keepdims=True)
            scale = tf.where(spread > 1e-12 * (1 + tf.abs(loc)), spread, tf.ones_like(spread))
        else:
            loc, scale = self.targets
        sequence = (window - loc) / scale
        if block is None:
            output = self.network(tf.cast(sequence, tf.float32), training=False)
        else:
            sequence = tf.concat([sequence, block[:, : est.lookback]], axis=2)
            future = tf.reshape(block[:, est.lookback :], [-1, est.horizon * self.n_covariates])
            output = self.network([tf.cast(sequence, tf.float32), tf.cast(future, tf.float32)],
                                  training=False)
        return {"forecasts": self._unscale(output, loc, scale)}

    def endpoints(self):
        history = self.input_spec("history")
        if self.n_covariates:
            covariates = self.input_spec("covariates", width=self.n_covariates)
            endpoints = {"serving_default": (self.forecast, [history, covariates])}
        else:
            endpoints = {"serving_default": (self.forecast, [history])}
        if self.streaming:
            endpoints["step"] = (self.step, [self.input_spec(step=True), self.state_specs()])
        return endpoints

    def step(self, x, states):
        tf = _tf()
        mean, scale = self.targets
        h, new, _ = self.advance(tf.cast((tf.cast(x, tf.float64) - mean) / scale, tf.float32),
                                 states)
        return {"forecasts": self._unscale(self.readout(h), mean, scale), **new}

    def manifest(self):
        est = self.estimator
        return {**super().manifest(), "lookback": est.lookback, "horizon": est.horizon,
                "n_covariates": self.n_covariates}


def _unwrap(model):
    """``(estimator, scaler or None)`` of an estimator or a Pipeline ``[SequenceScaler, ...]``."""
    from sklearn.pipeline import Pipeline
    from sklearn.utils.validation import check_is_fitted

    from seqkit.estimators import SequenceClassifier, SequenceForecaster, SequenceTagger

    steps = list(model.named_steps.values()) if isinstance(model, Pipeline) else [model]
    preprocessing = _preprocessing()
    scaler = steps[0] if len(steps) == 2 else None
    estimator = steps[-1]
    kinds = (SequenceClassifier, SequenceTagger, SequenceForecaster)
    if (len(steps) > 2 or not isinstance(estimator, kinds)
            or (len(steps) == 2 and not isinstance(scaler, preprocessing.SequenceScaler))):
        got = [type(step).__name__ for step in steps]
        raise InputTypeError(
            "The 'model' argument of export_saved_model must be a seqkit estimator, or a "
            f"Pipeline of a SequenceScaler then a SequenceClassifier or SequenceTagger. Got {got}."
        )
    if scaler is not None and (isinstance(estimator, SequenceForecaster)
                               or getattr(estimator, "vocabulary_", None) is not None):
        raise InputTypeError(
            "A SequenceScaler can only precede a classifier or a numeric tagger in an export: "
            f"it scales numeric sequences. Got it before {type(estimator).__name__}."
        )
    check_is_fitted(estimator)
    if scaler is not None:
        check_is_fitted(scaler)
    return estimator, scaler


def _graph(model, network=None):
    """The :class:`_Graph` of a fitted model, over ``network`` (default: its ``model_``)."""
    from seqkit.estimators import SequenceClassifier, SequenceTagger

    estimator, scaler = _unwrap(model)
    kind = (_ClassifierGraph if isinstance(estimator, SequenceClassifier)
            else _TaggerGraph if isinstance(estimator, SequenceTagger) else _ForecasterGraph)
    return kind(estimator, scaler, estimator.model_ if network is None else network)


# ----------------------------------------------------------------------- writing


def _spec_dict(tensor):
    """``{"shape": [...], "dtype": ...}`` of a tensor or spec, unknown sizes as -1."""
    return {"shape": [-1 if d is None else int(d) for d in tensor.shape],
            "dtype": tensor.dtype.name}


@contextlib.contextmanager
def staged_directory(final):
    """Yield an empty folder next to ``final`` that replaces ``final`` if the block succeeds.

    An interrupted or failed block leaves ``final`` as it was (a previous
    export stays intact); the staging folder is removed either way.

    Parameters
    ----------
    final : path-like
        Where the folder ends up. An existing one is replaced only if it is
        empty or a seqkit export.
    """
    final = Path(final)
    if final.exists() and not (final.is_dir() and (not any(final.iterdir())
                                                   or (final / MANIFEST).is_file())):
        raise ExportError(
            f"{final} exists and is not a seqkit export; refusing to replace it. "
            "Choose a new folder, or remove it first."
        )
    with _files.staged_directory(final) as stage:
        yield stage


def export_saved_model(model, path):
    """Export a fitted estimator as a TensorFlow SavedModel that runs without seqkit.

    Parameters
    ----------
    model : fitted estimator or Pipeline
        A :class:`~seqkit.estimators.SequenceClassifier`,
        :class:`~seqkit.estimators.SequenceTagger` or
        :class:`~seqkit.estimators.SequenceForecaster`; or a ``Pipeline`` of a
        :class:`~seqkit.preprocessing.SequenceScaler` then a classifier or
        numeric tagger (the scaling goes into the graph).
    path : path-like
        The folder to write. It is written next to its place and then moved
        there, so an interrupted export leaves a previous one intact.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    InputTypeError
        For anything but the models above.
    sklearn.exceptions.NotFittedError
        If the model is not fitted.
    ExportError
        If ``path`` exists and is neither empty nor a seqkit export.

    Notes
    -----
    The signatures and the padding conventions are described in
    :mod:`seqkit.export`.
    """
    _write(_graph(model), path)
    return Path(path)


def _write(graph, path):
    """Write the SavedModel and the manifest of ``graph`` to ``path`` (staged)."""
    import keras

    archive = keras.export.ExportArchive()
    archive.track(graph.network)
    for resource in graph.resources:
        archive.track(resource)
    signatures = {}
    for name, (function, specs) in graph.endpoints().items():
        traced = archive.add_endpoint(name, function, specs).get_concrete_function(*specs)
        signatures[name] = {
            "inputs": {spec.name: _spec_dict(spec) for spec in _tf().nest.flatten(specs)},
            "outputs": {key: _spec_dict(out) for key, out in traced.structured_outputs.items()},
        }
    manifest = {
        "format": "seqkit-export",
        "format_version": FORMAT_VERSION,
        "seqkit_version": __version__,
        "tensorflow_version": _tf().__version__,
        **graph.manifest(),
        "signatures": signatures,
    }
    with staged_directory(path) as stage:
        archive.write_out(str(stage), verbose=False)
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


# ----------------------------------------------------------------------- reading


def read_manifest(path):
    """Read and check the manifest of an export.

    Parameters
    ----------
    path : path-like
        An export folder written by :func:`export_saved_model`.

    Returns
    -------
    dict

    Raises
    ------
    ExportError
        If the folder is missing, is not a seqkit export, its manifest is
        corrupt, or it was written in another format version.
    """
    path = Path(path)
    if not path.is_dir():
        raise ExportError(f"No seqkit export at {path}: the folder does not exist.")
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(
            f"{path} is not a seqkit export: it has no {MANIFEST}. Export models with "
            "seqkit.export.export_saved_model or `seqkit export`."
        ) from None
    except (OSError, ValueError) as err:
        raise ExportError(f"The export at {path} is corrupt: {MANIFEST} is unreadable ({err}).") \
            from None
    if not isinstance(manifest, dict) or manifest.get("format") != "seqkit-export":
        raise ExportError(f"The export at {path} is corrupt: {MANIFEST} is not a seqkit manifest.")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ExportError(
            f"The export at {path} has format version {version!r} (written by seqkit "
            f"{manifest.get('seqkit_version', 'unknown')}); seqkit {__version__} reads version "
            f"{FORMAT_VERSION}. Export the model again with this seqkit, or load it with the "
            "seqkit that wrote it."
        )
    return manifest


class ExportedSignature:
    """One signature of a loaded export, called with NumPy arrays.

    Parameters
    ----------
    module : the object ``tf.saved_model.load`` returned
    name : str
    manifest : dict

    Attributes
    ----------
    name : str
    manifest : dict
    inputs : dict of str to tf.TensorSpec
        The signature's inputs by name.
    function : tf.types.experimental.ConcreteFunction
        The signature itself, which takes and returns tensors.
    """

    def __init__(self, module, name, manifest):
        self._module = module  # the signature's variables live as long as the module
        self.name = name
        self.manifest = manifest
        self.function = module.signatures[name]
        self.inputs = self.function.structured_input_signature[1]

    def __call__(self, **inputs):
        """Run the signature; strings come back as ``str`` arrays.

        Parameters
        ----------
        **inputs : array-like
            One per name of :attr:`inputs`, e.g. ``sequences=x``.

        Returns
        -------
        dict of str to numpy.ndarray
        """
        tf = _tf()
        if set(inputs) != set(self.inputs):
            raise InvalidParameterError(
                f"The {self.name!r} signature takes the inputs {sorted(self.inputs)}. "
                f"Got {sorted(inputs)}."
            )
        tensors = {}
        for key, value in inputs.items():
            spec, value = self.inputs[key], np.asarray(value)
            check_shape(value, key, f"the {self.name!r} signature", tuple(spec.shape))
            try:
                tensors[key] = tf.constant(value, dtype=spec.dtype)
            except (TypeError, ValueError) as err:
                raise InputTypeError(
                    f"The {key!r} input of the {self.name!r} signature must hold "
                    f"{spec.dtype.name} values. Got dtype {value.dtype} ({err})."
                ) from None
        return {key: _numpy(value) for key, value in self.function(**tensors).items()}


def _numpy(tensor):
    value = tensor.numpy()
    return np.char.decode(value.astype(bytes), "utf-8") if value.dtype == object else value


def load_saved_model(path, signature="serving_default"):
    """Load one signature of an export, after checking its manifest.

    Loading reads the graph and the weights only: nothing from the folder is
    unpickled or imported.

    Parameters
    ----------
    path : path-like
        A folder written by :func:`export_saved_model`.
    signature : str, default "serving_default"
        ``"serving_default"``, ``"predict_proba"`` or ``"step"`` (where the
        export has it; see :mod:`seqkit.export`).

    Returns
    -------
    ExportedSignature

    Raises
    ------
    ExportError
        If the folder is missing, not an export, corrupt, from another
        format version, or has no such signature.
    """
    manifest = read_manifest(path)
    names = sorted(manifest.get("signatures", {}))
    if signature not in names:
        raise ExportError(
            f"The export at {path} has no signature {signature!r}. It has: {', '.join(names)}."
        )
    tf = _tf()
    try:
        module = tf.saved_model.load(str(path))
    except (OSError, ValueError, tf.errors.OpError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ExportError(
            f"The export at {path} is corrupt: TensorFlow cannot load it ({reason[:300]})."
        ) from None
    if signature not in module.signatures:
        raise ExportError(
            f"The export at {path} is corrupt: its SavedModel lacks the signature {signature!r} "
            "that its manifest lists."
        )
    return ExportedSignature(module, signature, manifest)


# ----------------------------------------------------------------------- MLflow


def _requirements():
    """Pinned pip requirements of the served model: what the serving file imports."""
    from importlib.metadata import PackageNotFoundError, version

    pins = []
    for names in (("tensorflow-cpu", "tensorflow"), ("numpy",), ("pandas",), ("mlflow",)):
        for name in names:
            with contextlib.suppress(PackageNotFoundError):
                pins.append(f"{name}=={version(name)}")
                break
    return pins


def _mlflow_signature(manifest, table=False):
    """The MLflow signature of ``serving_default``, with a ``signature`` parameter.

    With ``table``, the inputs are columns of a row per sequence:
    ``array<array<double>>`` (steps of features) or ``array<string>`` (tokens).
    """
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, DataType, ParamSchema, ParamSpec, Schema, TensorSpec
    from mlflow.types.schema import Array

    def schema(specs):
        named = len(specs) > 1
        return Schema([
            TensorSpec(np.dtype(str) if spec["dtype"] == "string" else np.dtype(spec["dtype"]),
                       tuple(spec["shape"]), name=name if named else None)
            for name, spec in specs.items()
        ])

    def columns(specs):
        return Schema([
            ColSpec(Array(DataType.string) if spec["dtype"] == "string"
                    else Array(Array(DataType.double)), name)
            for name, spec in specs.items()
        ])

    default = manifest["signatures"]["serving_default"]
    return ModelSignature(
        inputs=(columns if table else schema)(default["inputs"]),
        outputs=schema(default["outputs"]),
        params=ParamSchema([ParamSpec("signature", "string", "serving_default")]),
    )


def _input_example(manifest, table=False):
    """A small valid request: one sequence (with covariates when the model takes them)."""
    inputs = manifest["signatures"]["serving_default"]["inputs"]
    steps = manifest.get("lookback", 3)
    example = {}
    for name, spec in inputs.items():
        if spec["dtype"] == "string":
            example[name] = np.array([["seqkit", "serves", "tokens"]])
        else:
            rows = steps + manifest["horizon"] if name == "covariates" else steps
            example[name] = np.zeros((1, rows, spec["shape"][-1]), dtype=spec["dtype"])
    if table:
        import pandas as pd

        return pd.DataFrame({name: [value[0].tolist()] for name, value in example.items()})
    return example if len(example) > 1 else next(iter(example.values()))


@contextlib.contextmanager
def _exported(model):
    """Yield an export folder of ``model``: the folder itself, or a temporary export."""
    if isinstance(model, (str, os.PathLike)):
        read_manifest(model)
        yield Path(model)
        return
    with tempfile.TemporaryDirectory() as folder:
        yield export_saved_model(model, Path(folder) / "export")


@contextlib.contextmanager
def _quiet_type_hint_advice():
    """Silence MLflow's advice to type-hint ``predict``: the signature is written by hand.

    MLflow puts a filter of its own in front while it logs, so an ignore filter
    does not hold; the warnings are recorded and all but that advice re-issued.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for warning in caught:
        if "Add type hints" not in str(warning.message):
            warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                   warning.lineno)


def _pyfunc_arguments(saved_model, max_request_values, owner, table=False):
    """The arguments of ``mlflow.pyfunc.log_model``/``save_model`` for an export folder."""
    limit = check_int(max_request_values, "max_request_values", owner, minimum=1)
    manifest = read_manifest(saved_model)
    return {
        "model_config": {"max_request_values": limit},
        "python_model": str(SERVING_MODEL),
        "artifacts": {ARTIFACT: str(saved_model)},
        "signature": _mlflow_signature(manifest, table),
        "input_example": _input_example(manifest, table),
        "pip_requirements": _requirements(),
        "metadata": {"seqkit_version": manifest["seqkit_version"], "kind": manifest["kind"]},
    }


def log_model(model, name="model", *, table=False, max_request_values=MAX_REQUEST_VALUES,
              **kwargs):
    """Log a model to the active MLflow run as a pyfunc model that serves its SavedModel.

    The MLflow model holds the export (artifact ``saved_model``) and
    ``serving_model.py``, a standalone pyfunc that calls the SavedModel's
    signatures directly: ``mlflow.pyfunc.load_model(uri).predict`` and
    ``mlflow models serve`` need TensorFlow, NumPy, pandas and MLflow, not
    seqkit. ``predict(x)`` runs ``serving_default``; ``predict(x,
    params={"signature": "predict_proba"})`` another signature.

    Parameters
    ----------
    model : fitted estimator, Pipeline or path-like
        What :func:`export_saved_model` takes, or a folder it wrote.
    name : str, default "model"
        The model's name in the run.
    table : bool, default False
        Take tables rather than arrays: a pandas DataFrame with a column per
        input and a row per sequence, holding its steps (each a list of the
        features) or its tokens, unpadded. What ``mlflow.pyfunc.spark_udf``
        feeds to score a Spark DataFrame (MLflow gives it fixed shapes only,
        and these sequences vary in length).
    max_request_values : int, default MAX_REQUEST_VALUES
        Most values one request may hold: larger requests are refused with
        status 400 before the model runs. A server can change it with
        MLflow's model config (``SERVING_MODEL_CONFIG``).
    **kwargs
        Further arguments of ``mlflow.pyfunc.log_model`` (e.g.
        ``registered_model_name``, or ``input_example`` to replace the
        generated one).

    Returns
    -------
    mlflow.models.model.ModelInfo
        Its ``model_uri`` loads or serves the model.
    """
    import mlflow

    with _exported(model) as saved_model, _quiet_type_hint_advice():
        arguments = _pyfunc_arguments(saved_model, max_request_values, "log_model", table=table)
        return mlflow.pyfunc.log_model(name=name, **{**arguments, **kwargs})


def save_mlflow_model(model, path, *, table=False, max_request_values=MAX_REQUEST_VALUES):
    """Write a model as an MLflow model folder (as :func:`log_model` logs it, without a run).

    Parameters
    ----------
    model : fitted estimator, Pipeline or path-like
        What :func:`export_saved_model` takes, or a folder it wrote.
    path : path-like
        A folder that must not exist yet.
    table : bool, default False
        As in :func:`log_model`.
    max_request_values : int, default MAX_REQUEST_VALUES
        As in :func:`log_model`.

    Returns
    -------
    pathlib.Path
    """
    import mlflow

    with _exported(model) as saved_model, _quiet_type_hint_advice():
        arguments = _pyfunc_arguments(saved_model, max_request_values, "save_mlflow_model",
                                      table=table)
        mlflow.pyfunc.save_model(path=str(path), **arguments)
    return Path(path)


# ----------------------------------------------------------------------- ONNX


def _portable(network):
    """A copy of ``network`` whose seqkit layers step through their cells (no XLA loop)."""
    import keras

    from seqkit.cells._base import RecurrentLayer

    def clone(layer):
        config = layer.get_config()
        if isinstance(layer, RecurrentLayer):
            config["fast_path"] = False
        return type(layer).from_config(config)

    copy = keras.models.clone_model(network, clone_function=clone)
    copy.set_weights(network.get_weights())
    return copy


def export_onnx(model, path, *, signature="serving_default", opset=17):
    """Convert one signature of a fitted model to an ONNX file (needs ``tf2onnx``).

    The SavedModel is built as by :func:`export_saved_model` (preprocessing,
    vocabulary and labels included), over a copy of the network whose seqkit
    layers run their portable cell loop (``fast_path=False``, the same
    numbers): ONNX has no counterpart of their XLA-compiled loop. The
    conversion runs ``python -m tf2onnx.convert`` in a subprocess.

    Parameters
    ----------
    model : fitted estimator or Pipeline
        As in :func:`export_saved_model`.
    path : path-like
        The ``.onnx`` file to write.
    signature : {"serving_default", "predict_proba"}, default "serving_default"
        Which signature becomes the ONNX graph; its inputs and outputs keep
        their names.
    opset : int, default 17
        The ONNX opset.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ImportError
        Without tf2onnx.
    InvalidParameterError
        For a signature the model has not (``step`` is not converted).
    ExportError
        If tf2onnx fails, with its last message.
    """
    import importlib.util

    if importlib.util.find_spec("tf2onnx") is None:
        raise ImportError(
            "ONNX export needs tf2onnx (and onnxruntime to run the result): "
            "pip install tf2onnx onnxruntime"
        )
    graph = _graph(model, _portable(_unwrap(model)[0].model_))
    names = sorted(set(graph.endpoints()) - {"step"})
    if signature not in names:
        raise InvalidParameterError(
            f"The 'signature' parameter of export_onnx must be one of {names}. "
            f"Got {signature!r} instead."
        )
    path = Path(path)
    with tempfile.TemporaryDirectory() as folder, _files.staged_file(path) as partial:
        _write(graph, Path(folder) / "export")
        result = subprocess.run(
            [sys.executable, "-m", "tf2onnx.convert", "--saved-model", str(Path(folder) / "export"),
             "--signature_def", signature, "--opset", str(opset), "--output", str(partial)],
            capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
        if result.returncode or not partial.is_file():
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            raise ExportError(f"tf2onnx could not convert the {signature!r} signature: "
                              f"{lines[-1] if lines else 'no message'}")
    return path
