"""seqkit: classic recurrent cells, verified, for applied sequence modelling on Keras 3.

Public names are imported lazily so that light modules (``seqkit.datasets``,
``seqkit.exceptions``) load without TensorFlow. The Keras backend is checked
first, without importing Keras, because a wrong one otherwise fails deep inside
the first layer that runs. Every layer (and loss) seqkit registers with Keras
is known to Keras once both are imported, in either order, so
``keras.models.load_model`` reads a ``.keras`` file that holds them after
``import seqkit`` alone (see :mod:`seqkit._keras_objects`).
"""

import importlib

from seqkit._backend import require_tensorflow_backend
from seqkit._keras_objects import register_with_keras
from seqkit._version import __version__

require_tensorflow_backend()
register_with_keras()

_PUBLIC = {
    "ElmanRNNCell": "seqkit.cells",
    "ElmanRNN": "seqkit.cells",
    "PeepholeLSTMCell": "seqkit.cells",
    "PeepholeLSTM": "seqkit.cells",
    "SequenceClassifier": "seqkit.estimators",
    "SequenceTagger": "seqkit.estimators",
    "SequenceForecaster": "seqkit.estimators",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'seqkit' has no attribute {name!r}")
