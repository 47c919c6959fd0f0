"""seqkit: classic recurrent cells, verified, for applied sequence modelling on Keras 3.

Public names are imported lazily so that light modules (``seqkit.datasets``,
``seqkit.exceptions``) load without TensorFlow.
"""

import importlib

from seqkit._version import __version__

_PUBLIC = {
    "ElmanRNNCell": "seqkit.cells",
    "ElmanRNN": "seqkit.cells",
    "PeepholeLSTMCell": "seqkit.cells",
    "PeepholeLSTM": "seqkit.cells",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'seqkit' has no attribute {name!r}")
