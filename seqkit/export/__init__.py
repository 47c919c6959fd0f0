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
    ``labels`` ``(batch,)`` string, or int64 when the classes are integers
    (as ``predict`` gives them). Tagger: ``sequences``, or ``tokens``
    ``(batch, time)`` string for a tagger fit on tokens -> ``labels``
    ``(batch, time)`` string (``""`` at padded steps) and ``lengths``
    ``(batch,)`` int32. Forecaster: ``history`` ``(batch, time, targets)``
    float32, plus ``covariates`` ``(batch, time + horizon, covariates)`` when
    fit with covariates (those of the history's steps, then of the steps
    forecast) -> ``forecasts`` ``(batch, horizon, targets)`` float64 on the
    original scale, read from the last ``lookback`` steps of each history (a
    shorter history, of 1 step or more, padded at the start as ``predict``
    pads it).
``predict_proba``
    Classifier and tagger: ``probabilities``, columns in the order of
    ``classes_`` (the tagger's are 0 at padded steps; it returns ``lengths``
    too).
``predict_quantiles``
    Forecaster fit with ``loss="quantile"``: the inputs of
    ``serving_default`` -> ``quantiles`` ``(batch, horizon, targets,
    levels)`` float64 on the original scale, increasing along the levels
    (listed in the manifest's ``quantiles``); its ``serving_default`` gives
    the median.
``step``
    Streaming: one timestep ``x`` (``(batch, features)`` float32, or
    ``(batch,)`` string tokens) and the recurrent states ``h_1`` (and
    ``c_1`` for LSTM cells), ``h_2``, ... ``(batch, units)``, zeros at the
    start of a sequence -> the prediction after that step (as in
    ``serving_default`` and ``predict_proba``) and the new states under the
    same names. A padding step (all NaN, or ``""``) leaves the states as they
    were. Not defined for bidirectional networks, whose output at a step
    depends on the steps after it, nor for networks with a convolutional
    branch (``conv_branch=True``, the classifier's and the numeric tagger's
    default) or pooled steps, for the same reason; for forecasters only with
    ``scaling="standard"`` or ``None`` and no covariates (a window's scale
    depends on all of its steps), fed the last ``lookback`` values from zero
    states.

Variable lengths in one batch: pad numeric sequences at the end with NaN (a
step whose features are all NaN is padding) and token sequences with ``""``
(so ``""`` is never a token there). A single sequence needs no padding.

Each export holds a ``seqkit-export.json`` manifest (format version, seqkit
version, kind, signatures with their inputs and outputs) that
:func:`load_saved_model` checks before loading.

The package's rooms: :mod:`~seqkit.export.spec` (the description an
estimator gives of what it serves), :mod:`~seqkit.export.graph` and one
module per kind (:mod:`~seqkit.export.labels`, :mod:`~seqkit.export.forecaster`)
for the TensorFlow functions, :mod:`~seqkit.export.writer`,
:mod:`~seqkit.export.manifest` and :mod:`~seqkit.export.loading` for the
folder, :mod:`~seqkit.export.mlflow_model` and :mod:`~seqkit.export.onnx` for
the other formats.
"""

from seqkit.exceptions import ExportError
from seqkit.export.loading import ExportedSignature, load_saved_model
from seqkit.export.manifest import FORMAT_VERSION, MANIFEST, read_manifest
from seqkit.export.mlflow_model import (
    ARTIFACT,
    MAX_REQUEST_VALUES,
    SERVING_MODEL,
    log_model,
    save_mlflow_model,
)
from seqkit.export.onnx import export_onnx
from seqkit.export.spec import ForecastSpec, ServingSpec
from seqkit.export.writer import export_saved_model, staged_directory

__all__ = [
    "ARTIFACT",
    "FORMAT_VERSION",
    "MANIFEST",
    "MAX_REQUEST_VALUES",
    "SERVING_MODEL",
    "ExportError",
    "ExportedSignature",
    "ForecastSpec",
    "ServingSpec",
    "export_onnx",
    "export_saved_model",
    "load_saved_model",
    "log_model",
    "read_manifest",
    "save_mlflow_model",
    "staged_directory",
]
