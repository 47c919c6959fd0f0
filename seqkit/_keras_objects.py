"""The objects seqkit registers with Keras, known to Keras once Keras is imported.

``import seqkit`` does not import Keras (it would load TensorFlow, seconds),
yet a ``.keras`` file holding seqkit layers must load after ``import seqkit``
alone. Keras finds a registered class by its name in a plain dict
(``keras.saving.get_custom_objects()``) and imports no module for a name it
does not know, so seqkit lists here each name it registers with the module
that registers it (``tests/test_keras_objects.py`` holds the list to the
modules' decorators). When Keras is imported, now or later, each name not yet
registered gets a stand-in: its ``from_config`` imports the module, whose
decorator puts the real class in the stand-in's place, and returns what the
real class's ``from_config`` returns. A model loaded this way holds only
seqkit's real classes.
"""

import importlib
import sys
import warnings

KERAS_OBJECTS = {
    "seqkit>ElmanRNNCell": "seqkit.cells.elman",
    "seqkit>ElmanRNN": "seqkit.cells.elman",
    "seqkit>PeepholeLSTMCell": "seqkit.cells.peephole_lstm",
    "seqkit>PeepholeLSTM": "seqkit.cells.peephole_lstm",
    "seqkit>TokenMask": "seqkit.networks.masking",
    "seqkit>PaddingMask": "seqkit.networks.masking",
    "seqkit>StepPooling": "seqkit.networks.pooling",
    "seqkit>ConvBranch": "seqkit.networks.conv",
    "seqkit>FeedbackRNN": "seqkit.networks.feedback",
    "seqkit>CarriedOutput": "seqkit.networks.stateful",
    "seqkit>LinearChainCRF": "seqkit.crf",
    "seqkit>CRFLoss": "seqkit.crf",
    "seqkit>PinballLoss": "seqkit.quantiles",
    "seqkit>MaskedLoss": "seqkit.quantiles",
    "seqkit>SmoothedSparseCrossentropy": "seqkit.training.losses",
}
"""Each name seqkit registers with Keras (``package>class``), and the module that registers it."""


def _stand_in(registered_name, module):
    """A class that builds the real ``registered_name`` from its config, importing ``module``."""
    name = registered_name.partition(">")[2]

    def from_config(cls, config):
        return getattr(importlib.import_module(module), name).from_config(config)

    return type(name, (), {
        "__doc__": f"Stands in for {module}.{name} until {module} is imported.",
        "__module__": __name__,
        "from_config": classmethod(from_config),
    })


def _register(keras):
    """Put a stand-in under each of :data:`KERAS_OBJECTS` that Keras does not know yet."""
    registered = keras.saving.get_custom_objects()
    for registered_name, module in KERAS_OBJECTS.items():
        if registered_name not in registered:
            registered[registered_name] = _stand_in(registered_name, module)


class _ThenRegister:
    """Loader of Keras that, once Keras has run, registers seqkit's names."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _WhenKerasImported)]
        try:
            _register(module)
        except Exception as err:  # Keras itself loaded: let its import succeed
            warnings.warn(f"seqkit could not register its Keras layers ({err!r}); import "
                          "seqkit.cells, seqkit.networks and seqkit.crf before loading a "
                          "model that holds them.", RuntimeWarning, stacklevel=2)


class _WhenKerasImported:
    """Import hook (``sys.meta_path``): gives Keras' spec with its loader wrapped in
    :class:`_ThenRegister`, until Keras is loaded. Finding the spec alone (as code that
    checks whether a package is installed does) leaves the hook in place."""

    def __init__(self):
        self._finding = False

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras" or self._finding:
            return None
        from importlib.util import find_spec

        self._finding = True  # the other finders find the spec
        try:
            spec = find_spec(fullname)
        finally:
            self._finding = False
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenRegister(spec.loader)
        return spec


def register_with_keras():
    """Make Keras know :data:`KERAS_OBJECTS`: now if Keras is imported, else when it is."""
    if "keras" in sys.modules:
        _register(sys.modules["keras"])
    elif not any(isinstance(finder, _WhenKerasImported) for finder in sys.meta_path):
        sys.meta_path.insert(0, _WhenKerasImported())
