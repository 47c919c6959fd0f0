"""Export as an MLflow model: a pyfunc (``seqkit/serving/serving_model.py``) serving the export."""

import contextlib
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from seqkit._validation import check_int
from seqkit.export.manifest import read_manifest
from seqkit.export.writer import check_path, write_export

ARTIFACT = "saved_model"
"""Name of the SavedModel artifact inside the MLflow model."""

SERVING_MODEL = Path(__file__).parent.parent / "serving" / "serving_model.py"
"""The standalone file that defines the MLflow pyfunc model ("models from code")."""

MAX_REQUEST_VALUES = 1_000_000
"""Default most values (sequences x steps x features, or tokens) one served request holds."""


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

    Each input is ``Tensor('object', (-1,))``, the spec MLflow passes on
    unchecked, so that the pyfunc checks and casts the request itself: MLflow
    refuses an array whose dtype is not exactly the declared one (float64
    for a float32 spec, and the reverse) and reads JSON into the declared
    dtype with NumPy, whose error on unpadded sequences of different lengths
    says nothing of padding. The SavedModel's own input specs are in the
    model's metadata (``inputs``). With ``table``, the inputs are columns of
    a row per sequence: ``array<array<double>>`` (steps of features) or
    ``array<string>`` (tokens).
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

    def unchecked(specs):
        named = len(specs) > 1
        return Schema([TensorSpec(np.dtype(object), (-1,), name=name if named else None)
                       for name in specs])

    def columns(specs):
        return Schema([
            ColSpec(Array(DataType.string) if spec["dtype"] == "string"
                    else Array(Array(DataType.double)), name)
            for name, spec in specs.items()
        ])

    default = manifest["signatures"]["serving_default"]
    return ModelSignature(
        inputs=(columns if table else unchecked)(default["inputs"]),
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
def _exported(model, owner):
    """Yield an export folder of ``model``: the folder itself, or a temporary export (a
    model that is none refused in ``owner``'s name)."""
    if isinstance(model, (str, os.PathLike)):
        read_manifest(model)
        yield Path(model)
        return
    with tempfile.TemporaryDirectory() as folder:
        yield write_export(model, Path(folder) / "export", owner)


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
        "metadata": {"seqkit_version": manifest["seqkit_version"], "kind": manifest["kind"],
                     "inputs": manifest["signatures"]["serving_default"]["inputs"]},
    }


def log_model(model, name="model", *, table=False, max_request_values=MAX_REQUEST_VALUES,
              **kwargs):
    """Log a model to the active MLflow run as a pyfunc model that serves its SavedModel.

    The MLflow model holds the export (artifact ``saved_model``) and
    ``serving_model.py`` (in :mod:`seqkit.serving`), a standalone pyfunc that calls the SavedModel's
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

    with _exported(model, "log_model") as saved_model, _quiet_type_hint_advice():
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

    check_path(path, "save_mlflow_model")
    with _exported(model, "save_mlflow_model") as saved_model, _quiet_type_hint_advice():
        arguments = _pyfunc_arguments(saved_model, max_request_values, "save_mlflow_model",
                                      table=table)
        mlflow.pyfunc.save_model(path=str(path), **arguments)
    return Path(path)
