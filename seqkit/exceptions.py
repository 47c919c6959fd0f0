"""Error types raised by seqkit.

Every error subclasses a built-in (``ValueError``, ``TypeError``) so code that
already catches those keeps working; messages name the argument, the rule and
what was received.
"""


class SeqkitError(Exception):
    """Base class of every seqkit-specific error."""


class InvalidParameterError(SeqkitError, ValueError):
    """A constructor or function parameter has a value outside its allowed range."""


class InvalidInputError(SeqkitError, ValueError):
    """Input data has the wrong shape, length or values (NaN, inf, empty)."""


class InputTypeError(SeqkitError, TypeError):
    """Input data or a parameter has the wrong kind (dtype, Python type)."""


class DataIntegrityError(SeqkitError, ValueError):
    """A bundled data file is missing, malformed or fails its checksum."""


class DataFileError(SeqkitError, ValueError):
    """A user's data file cannot be read or breaks a rule of its format or task.

    The message names the file, the line or row and the column where that
    applies, the rule, and what was found.
    """


class BackendError(SeqkitError, ImportError):
    """Keras is configured with a backend other than TensorFlow."""


class TrainingDivergedError(SeqkitError, ArithmeticError):
    """Training diverged (its loss or its weights became NaN or inf): the weights cannot be
    trusted.

    Parameters
    ----------
    message : str
    epoch : int or None
        The epoch (counted from 1) in which training diverged.
    history : dict or None
        ``{metric: [value per epoch]}`` up to and including that epoch, as
        :func:`seqkit.training.fit` would have returned it.

    Attributes
    ----------
    epoch, history
        As given.
    """

    def __init__(self, message, *, epoch=None, history=None):
        super().__init__(message)
        self.epoch = epoch
        self.history = history


class HigherOrderGradientError(SeqkitError, LookupError):
    """A gradient of a gradient was asked of a layer whose backward pass is hand-written.

    A ``LookupError``, as TensorFlow's own error for an op that has no gradient."""


class ExportError(SeqkitError, ValueError):
    """An export is missing, corrupt, from an incompatible version, or lacks a signature."""


class TrackingError(SeqkitError, RuntimeError):
    """The MLflow tracking store cannot be reached or used."""


class CommandError(SeqkitError):
    """What the user asked a ``seqkit`` command for cannot be done; the message says why."""
