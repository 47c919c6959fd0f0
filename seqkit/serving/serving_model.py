"""The MLflow pyfunc model that serves a seqkit SavedModel export.

This file is the model's code ("models from code"): MLflow copies it into
every model that :func:`seqkit.export.log_model` logs and runs it on loading,
so it imports only TensorFlow, NumPy and MLflow, never seqkit or Keras. It
loads the export from the model's ``saved_model`` artifact and calls its
signatures directly.

Requests: the signature's inputs (``sequences``, ``tokens``, ``history`` and
``covariates``), NaN-padded (numeric; JSON ``null`` too) or ``""``-padded
(tokens) at the end when sequences in one request differ in length; numbers
of any real dtype (NumPy's default float64 included), cast to the
SavedModel's float32. ``params={"signature": "predict_proba"}`` picks another
signature than ``serving_default``. An input of one feature per step (a
univariate history) may leave out that axis: ``(batch, steps)``, as the
estimators' 2-D arrays. The MLflow signature declares each input
as ``Tensor('object', (-1,))``, which MLflow passes on unchecked (a float32
or float64 tensor spec would refuse the other dtype, and make the scoring
server read ragged JSON with NumPy's own error); so
:meth:`SeqkitSavedModel.predict` checks the whole request, in this order:
more values than the model's ``max_request_values`` (its model config, set
by :func:`seqkit.export.log_model`), then for each input no sequence or an
empty one, sequences of different lengths (unpadded), the shape (rank,
number of features), the kind of values, then NaN or inf inside a sequence,
padding before real steps, no real step, covariates that do not cover a
forecaster's history and horizon (a history needs 1 step; one shorter than
the lookback is padded at the start, as ``predict`` pads it). These and an
unknown signature raise an ``MlflowException`` with ``INVALID_PARAMETER_VALUE``,
which the scoring server answers with status 400 and the message.

A model logged with ``table=True`` takes a table instead: a pandas
DataFrame, as ``mlflow.pyfunc.spark_udf`` hands over each batch of a Spark
DataFrame's rows, with a column per input and a row per sequence, holding its
steps (each a list of the features) or its tokens, unpadded.
"""

import json
import os

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

MANIFEST = "seqkit-export.json"
STREAMING = "step"  # takes one step and states, not sequences: not served here


def _invalid(message):
    return MlflowException(message, error_code=INVALID_PARAMETER_VALUE)


def _no_steps(sequence):
    """Whether ``sequence`` is a sized sequence of length 0 (a string is a token, not one)."""
    if isinstance(sequence, str):
        return False
    try:
        return len(sequence) == 0
    except TypeError:
        return False


def _is_sequence(item):
    return isinstance(item, (list, tuple)) or (isinstance(item, np.ndarray) and item.ndim >= 1)


def _ragged_shape(value):
    """The shape of nested lists as ``(2, 1 to 3, 2)``: each axis's size, or its range of sizes."""
    sizes, level = [], [value]
    while level and all(_is_sequence(item) for item in level):
        lengths = sorted({len(item) for item in level})
        sizes.append(str(lengths[0]) if len(lengths) == 1 else f"{lengths[0]} to {lengths[-1]}")
        level = [part for item in level for part in item]
    return "(" + ", ".join(sizes) + ("," if len(sizes) == 1 else "") + ")"


def _as_array(value):
    """``value`` as an array; nested lists of different lengths as an object array of them."""
    try:
        return np.asarray(value)
    except ValueError:  # NumPy refuses ragged lists but for dtype=object
        return np.array(value, dtype=object)


def _request_array(name, value, spec):
    """``value`` as the array that the signature input ``spec`` takes, after checking, in
    order: that it holds sequences, each with a step; that they are padded to one length;
    its shape; its values' kind. Numbers of any real dtype are cast to the spec's."""
    shape = tuple(spec.shape)
    expected = "(" + ", ".join("-1" if size is None else str(size) for size in shape) + ")"
    tokens = not spec.dtype.is_floating
    if value.ndim == 0:
        raise _invalid(f"The {name!r} input does not match expected shape {expected}. Got "
                       f"one value, {value.item()!r}.")
    if value.shape[0] == 0:
        raise _invalid(f"The {name!r} input must hold at least one sequence. Got shape "
                       f"{value.shape}.")
    if value.ndim >= 2 and value.shape[1] == 0:
        raise _invalid(f"The {name!r} input must hold at least one step. Got shape {value.shape}.")
    if value.ndim < len(shape) and value.dtype == object and any(
        _is_sequence(item) for item in value.flat
    ):  # NumPy kept lists of different lengths
        empty = next((i for i, item in enumerate(value) if _no_steps(item)), None)
        if empty is not None:
            raise _invalid(f"The {name!r} input must hold at least one step in each sequence. "
                           f"Sequence {empty} has none.")
        pad = '""' if tokens else "null (NaN)"
        univariate = " or (-1, -1)" if not tokens and len(shape) == 3 and shape[2] == 1 else ""
        raise _invalid(
            f"The {name!r} input holds sequences of different lengths: pad each at its end "
            f"with {pad} to the longest, so that the request is one array of shape "
            f"{expected}{univariate}. Got shape {_ragged_shape(value.tolist())}."
        )
    if not tokens and value.ndim == 2 and len(shape) == 3 and shape[2] == 1:
        value = value[..., np.newaxis]  # one feature per step: (batch, steps) will do
    if value.ndim != len(shape) or any(
        size is not None and size != got for size, got in zip(shape, value.shape)
    ):
        raise _invalid(f"The {name!r} input does not match expected shape {expected}. Got "
                       f"shape {value.shape}.")
    if tokens:
        if value.dtype.kind != "U":
            for item in value.flat if value.dtype == object else value.flat[:1]:
                if not isinstance(item, str):
                    raise _invalid(f"The {name!r} input must hold str tokens (\"\" pads). Got "
                                   f"{item!r} of type {type(item).__name__}.")
            value = value.astype(str)
        try:  # TensorFlow's strings are UTF-8: a lone surrogate (JSON's "\ud800") is not
            np.char.encode(value, "utf-8")
        except UnicodeEncodeError as err:
            raise _invalid(f"The {name!r} input must hold tokens that are valid Unicode text "
                           f"(UTF-8). Got {str(err.object)!r}: {err.reason}.") from None
        return value
    if value.dtype.kind == "c":
        raise _invalid(f"The {name!r} input must hold real numbers. Got dtype {value.dtype}.")
    try:
        cast = value.astype(spec.dtype.as_numpy_dtype)
    except (TypeError, ValueError) as err:
        raise _invalid(f"The {name!r} input must hold numbers (null pads). Got a value that "
                       f"is not: {err}") from None
    if np.isinf(cast).any():  # inf given, or a finite value beyond the spec's float32
        value = value.astype(np.float64)
        big = np.argwhere(np.isfinite(value) & (np.abs(value) > np.finfo(cast.dtype).max))
        if len(big):
            raise _invalid(
                f"The {name!r} input must hold values within float32's range (magnitude up "
                f"to 3.4e38), the precision the model takes. Got {value[tuple(big[0])]:.3g} in "
                f"sequence {big[0][0]} at step {big[0][1]}.")
    return cast


def _real_steps(name, values):
    """Number of real steps of each sequence, after checking the values and the padding."""
    if values.dtype.kind == "f":
        if np.isinf(values).any():
            raise _invalid(f"The {name!r} input must not contain inf.")
        missing = np.isnan(values)
        padding = missing.all(axis=-1)
        partial = missing.any(axis=-1) & ~padding
        if partial.any():
            sequence, step = np.argwhere(partial)[0]
            raise _invalid(
                f"The {name!r} input has NaN in some features of sequence {sequence} at step "
                f"{step}. NaN marks padding only when a step's features are all NaN."
            )
    else:
        padding = values == ""
    lengths = (~padding).sum(axis=1)
    misplaced = (padding != (np.arange(values.shape[1])[None, :] >= lengths[:, None])).any(axis=1)
    if misplaced.any():
        raise _invalid(
            f"The {name!r} input has padding before real steps in sequence "
            f"{np.flatnonzero(misplaced)[0]}. Pad sequences at their end only."
        )
    if lengths.min() == 0:
        raise _invalid(f"The {name!r} input holds a sequence with no real step: sequence "
                       f"{np.argmin(lengths)}.")
    return lengths


def _decoded(value):
    """A TensorFlow output as NumPy, strings as ``str``."""
    value = value.numpy()
    return np.char.decode(value.astype(bytes), "utf-8") if value.dtype == object else value


def _from_table(function, table):
    """The inputs of ``function`` from ``table`` (a column per input, a row per sequence) as
    arrays padded at the end: NaN after numeric steps, ``""`` after tokens."""
    arrays = {}
    for name, spec in function.structured_input_signature[1].items():
        tokens = not spec.dtype.is_floating
        shape = () if tokens else (spec.shape[-1],)
        rows = []
        for row, value in enumerate(table[name]):
            try:
                steps = np.asarray(list(value), dtype=str if tokens else np.float32)
            except (TypeError, ValueError):
                steps = None
            if steps is None or (len(steps) and steps.shape[1:] != shape):
                kind = "tokens" if tokens else f"steps of {shape[0]} features each"
                raise _invalid(f"Each row of the {name!r} column must hold one sequence: a list "
                               f"of {kind}. Row {row} does not.")
            rows.append(steps)
        padded = np.full((len(rows), max(map(len, rows), default=0), *shape),
                         "" if tokens else np.nan, dtype=object if tokens else np.float32)
        for row, steps in enumerate(rows):
            if len(steps):
                padded[row, :len(steps)] = steps
        arrays[name] = padded
    return arrays


class SeqkitSavedModel(mlflow.pyfunc.PythonModel):
    """Serve the signatures of a seqkit SavedModel export."""

    def load_context(self, context):
        import tensorflow as tf

        path = context.artifacts["saved_model"]
        with open(os.path.join(path, MANIFEST), encoding="utf-8") as file:
            self.manifest = json.load(file)
        self.module = tf.saved_model.load(path)
        self.max_values = (context.model_config or {}).get("max_request_values")
        self.signatures = {
            name: self.module.signatures[name]
            for name in self.manifest["signatures"] if name != STREAMING
        }

    def _inputs(self, function, model_input):
        """The request as the signature's arrays, each checked (MLflow checks only the
        names of a table model's columns: see the module's docstring)."""
        specs = function.structured_input_signature[1]
        if isinstance(model_input, pd.DataFrame):
            model_input = _from_table(function, model_input)
        if not isinstance(model_input, dict):
            model_input = {next(iter(specs)): model_input}
        if set(model_input) != set(specs):
            raise _invalid(f"This model takes the inputs {sorted(specs)}. Got "
                           f"{sorted(model_input)}.")
        arrays = {name: _as_array(value) for name, value in model_input.items()}
        values = sum(array.size for array in arrays.values())
        if self.max_values is not None and values > self.max_values:
            raise _invalid(
                f"The request holds {values} values; this model takes at most "
                f"max_request_values={self.max_values} per request. Split the batch."
            )
        arrays = {name: _request_array(name, value, specs[name]) for name, value in arrays.items()}
        lengths = {name: _real_steps(name, value) for name, value in arrays.items()}
        self._check_forecast_lengths(lengths)
        return arrays

    def _check_forecast_lengths(self, lengths):
        """A forecaster's covariates must cover each history and the horizon (a history of
        any length from 1 step is forecast: one shorter than the lookback is padded)."""
        if "history" in lengths and "covariates" in lengths:
            horizon = self.manifest["horizon"]
            wrong = np.flatnonzero(lengths["covariates"] != lengths["history"] + horizon)
            if wrong.size:
                raise _invalid(
                    f"The covariates of each history must cover its steps, then the "
                    f"horizon={horizon} steps forecast. Sequence {wrong[0]} has "
                    f"{lengths['covariates'][wrong[0]]} covariate steps for "
                    f"{lengths['history'][wrong[0]]} history steps."
                )

    def predict(self, context, model_input, params=None):
        """Run a signature on ``model_input``.

        Parameters
        ----------
        context : mlflow.pyfunc.PythonModelContext
        model_input : numpy.ndarray or dict of str to numpy.ndarray
            The input of a one-input signature, or every input by name.
        params : dict or None
            ``{"signature": name}``; default ``"serving_default"``.

        Returns
        -------
        numpy.ndarray or dict of str to numpy.ndarray
            The signature's output, or its outputs by name when it has several.
        """
        import tensorflow as tf

        name = (params or {}).get("signature") or "serving_default"
        if name not in self.signatures:
            streaming = (" 'step' takes one step and the states: call it on the SavedModel "
                         "itself." if name == STREAMING else "")
            raise _invalid(f"Unknown signature {name!r}. This model serves: "
                           f"{', '.join(sorted(self.signatures))}.{streaming}")
        function = self.signatures[name]
        arrays = self._inputs(function, model_input)
        outputs = function(**{key: tf.constant(value) for key, value in arrays.items()})
        outputs = {key: _decoded(value) for key, value in outputs.items()}
        return next(iter(outputs.values())) if len(outputs) == 1 else outputs


mlflow.models.set_model(SeqkitSavedModel())
