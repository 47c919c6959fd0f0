"""Export one signature as an ONNX file, through ``tf2onnx``."""

import dataclasses
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from seqkit import _files
from seqkit.exceptions import ExportError, InvalidParameterError
from seqkit.export.writer import build_graph, check_path, serving_spec, write


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

    check_path(path, "export_onnx")
    spec = serving_spec(model, "export_onnx")
    if importlib.util.find_spec("tf2onnx") is None:
        raise ImportError(
            "ONNX export needs tf2onnx (and onnxruntime to run the result): "
            "pip install tf2onnx onnxruntime"
        )
    graph = build_graph(dataclasses.replace(spec, network=_portable(spec.network)))
    names = sorted(set(graph.endpoints()) - {"step"})
    if signature not in names:
        raise InvalidParameterError(
            f"The 'signature' parameter of export_onnx must be one of {names}. "
            f"Got {signature!r} instead."
        )
    path = Path(path)
    with tempfile.TemporaryDirectory() as folder, _files.staged_file(path) as partial:
        write(graph, Path(folder) / "export")
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
