"""Checks that Keras runs on the TensorFlow backend, which seqkit requires."""

import json
import os
import sys
from pathlib import Path

from seqkit.exceptions import BackendError

_FIX = (
    "Set KERAS_BACKEND=tensorflow before starting Python, or \"backend\": \"tensorflow\" "
    "in {config}."
)


def _configured_backend():
    """The backend Keras will pick, read the way Keras reads it, without importing Keras."""
    if "keras" in sys.modules and hasattr(sys.modules["keras"], "backend"):
        return sys.modules["keras"].backend.backend(), "the already imported Keras"
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"], "KERAS_BACKEND"
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    config = home / "keras.json"
    try:
        backend = json.loads(config.read_text()).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow", None
    return backend, str(config)


def require_tensorflow_backend():
    """Raise :class:`BackendError` unless Keras uses (or will use) the TensorFlow backend.

    A wrong backend otherwise surfaces much later as an obscure error inside a
    layer, so seqkit checks it when its TensorFlow-dependent modules load.
    """
    backend, source = _configured_backend()
    if backend != "tensorflow":
        config = source if source and source.endswith(".json") else "~/.keras/keras.json"
        where = "KERAS_BACKEND is set to" if source == "KERAS_BACKEND" else f"{source} selects"
        raise BackendError(
            f"seqkit needs the TensorFlow Keras backend, but {where} {backend!r}. "
            + _FIX.format(config=config)
        )
