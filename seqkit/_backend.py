"""Checks that Keras runs on the TensorFlow backend, which seqkit requires."""

import os

from seqkit.exceptions import BackendError


def require_tensorflow_backend():
    """Raise :class:`BackendError` unless Keras uses the TensorFlow backend.

    Keras reads its backend once, at first import, from ``KERAS_BACKEND`` or
    ``~/.keras/keras.json``; a wrong choice otherwise surfaces much later as an
    obscure error inside a layer, so seqkit checks it up front.
    """
    configured = os.environ.get("KERAS_BACKEND")
    if configured is not None and configured != "tensorflow":
        raise BackendError(
            "seqkit needs the TensorFlow Keras backend, but KERAS_BACKEND is set to "
            f"{configured!r}. Set KERAS_BACKEND=tensorflow before starting Python."
        )
    import keras

    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise BackendError(
            f"seqkit needs the TensorFlow Keras backend, but Keras is using {backend!r} "
            "(from ~/.keras/keras.json or KERAS_BACKEND). Set KERAS_BACKEND=tensorflow "
            "before starting Python, or set \"backend\": \"tensorflow\" in keras.json."
        )
