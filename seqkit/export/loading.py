"""Reading an export back: one signature, called with NumPy arrays, no seqkit or Keras needed."""

import re

import numpy as np

from seqkit._feature_names import sequence_names
from seqkit._validation import as_float32, check_shape
from seqkit.exceptions import (
    ExportError,
    InputTypeError,
    InvalidInputError,
    InvalidParameterError,
)
from seqkit.export.manifest import read_manifest


class ExportedSignature:
    """One signature of a loaded export, called with NumPy arrays.

    Parameters
    ----------
    module : the object ``tf.saved_model.load`` returned
    name : str
    manifest : dict

    Attributes
    ----------
    name : str
    manifest : dict
    inputs : dict of str to tf.TensorSpec
        The signature's inputs by name.
    function : tf.types.experimental.ConcreteFunction
        The signature itself, which takes and returns tensors.
    """

    def __init__(self, module, name, manifest):
        self._module = module  # the signature's variables live as long as the module
        self.name = name
        self.manifest = manifest
        self.function = module.signatures[name]
        self.inputs = self.function.structured_input_signature[1]

    def __call__(self, **inputs):
        """Run the signature; strings come back as ``str`` arrays.

        Parameters
        ----------
        **inputs : array-like
            One per name of :attr:`inputs`, e.g. ``sequences=x``.

        Returns
        -------
        dict of str to numpy.ndarray
        """
        import tensorflow as tf

        if set(inputs) != set(self.inputs):
            raise InvalidParameterError(
                f"The {self.name!r} signature takes the inputs {sorted(self.inputs)}. "
                f"Got {sorted(inputs)}."
            )
        tensors = {}
        names = self.manifest.get("feature_names")
        if names is not None and "sequences" in inputs:
            # Named features, read by position: refuse DataFrames whose columns differ, as
            # predict does, rather than answer for the columns in another order.
            sequence_names(inputs["sequences"], "sequences", "the exported model",
                           fitted=names)
        for key, value in inputs.items():
            spec, value = self.inputs[key], _array(value, key, self.name)
            _check_not_empty(value, key, self.name, spec)
            check_shape(value, key, f"the {self.name!r} signature", tuple(spec.shape))
            if _takes_sequences(spec) and spec.dtype == tf.float32 and value.dtype.kind == "f":
                value = as_float32(value, f"The {key!r} input of the {self.name!r} signature")
            try:
                tensors[key] = tf.constant(value, dtype=spec.dtype)
            except (TypeError, ValueError) as err:
                raise InputTypeError(
                    f"The {key!r} input of the {self.name!r} signature must hold "
                    f"{spec.dtype.name} values. Got dtype {value.dtype} ({err})."
                ) from None
        try:
            outputs = self.function(**tensors)
        except tf.errors.InvalidArgumentError as err:  # a rule the graph checks, or a shape
            raise InvalidInputError(f"The {self.name!r} signature refused the input: "
                                    f"{_reason(err)}") from None
        return {key: _numpy(value) for key, value in outputs.items()}


def _array(value, key, signature):
    """``value`` as one NumPy array, refusing what no signature takes: ragged nesting, which
    NumPy cannot stack, and complex numbers, whose imaginary part a cast would drop."""
    try:
        value = np.asarray(value)
    except ValueError as err:
        raise InvalidInputError(
            f"The {key!r} input of the {signature!r} signature must be one array: sequences of "
            f"one length, shorter ones padded at their end (NaN, or '' for tokens). Got "
            f"nested lists NumPy cannot stack ({str(err).splitlines()[0][:160]})."
        ) from None
    if value.dtype.kind == "c":
        raise InputTypeError(f"The {key!r} input of the {signature!r} signature must hold real "
                             f"numbers. Got dtype {value.dtype}.")
    return value


def _check_not_empty(value, key, signature, spec):
    """Refuse an input of sequences (its time axis free) that holds no sequence or no step,
    before its shape and dtype are checked: ``[[]]`` is an empty sequence of any kind."""
    if not _takes_sequences(spec):
        return
    for axis, what in enumerate(("sequence", "step")):
        if value.ndim > axis and value.shape[axis] == 0:
            raise InvalidInputError(f"The {key!r} input of the {signature!r} signature must hold "
                                    f"at least one {what}. Got shape {value.shape}.")


def _takes_sequences(spec):
    """Whether a signature input takes sequences (a free time axis), not one step (the
    streaming signature's inputs)."""
    return spec.shape.rank is not None and spec.shape.rank >= 2 and spec.shape[1] is None


def _reason(error):
    """The message of a failed graph check (:func:`seqkit.padding.check_padded`), or the
    op's own message of another TensorFlow error: its last line before the node it names,
    without the ``Graph execution error:`` heading and the traceback TensorFlow puts above."""
    text = str(error)
    found = re.search(r"assertion failed: \[(.*?)\]", text, re.DOTALL)
    if found:
        return found.group(1).replace("\\'", "'")
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.startswith("\t")]
    if not lines:
        return type(error).__name__
    return re.sub(r"\s*\[Op:[^\]]*\]$", "", lines[-1])


def _numpy(tensor):
    value = tensor.numpy()
    return np.char.decode(value.astype(bytes), "utf-8") if value.dtype == object else value


def load_saved_model(path, signature="serving_default"):
    """Load one signature of an export, after checking its manifest.

    Loading reads the graph and the weights only: nothing from the folder is
    unpickled or imported.

    Parameters
    ----------
    path : path-like
        A folder written by :func:`export_saved_model`.
    signature : str, default "serving_default"
        ``"serving_default"``, ``"predict_proba"`` or ``"step"`` (where the
        export has it; see :mod:`seqkit.export`).

    Returns
    -------
    ExportedSignature

    Raises
    ------
    ExportError
        If the folder is missing, not an export, corrupt, from another
        format version, or has no such signature.
    """
    import tensorflow as tf

    manifest = read_manifest(path)
    names = sorted(manifest.get("signatures", {}))
    if signature not in names:
        raise ExportError(
            f"The export at {path} has no signature {signature!r}. It has: {', '.join(names)}."
        )
    try:
        module = tf.saved_model.load(str(path))
    except (OSError, ValueError, tf.errors.OpError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ExportError(
            f"The export at {path} is corrupt: TensorFlow cannot load it ({reason[:300]})."
        ) from None
    if signature not in module.signatures:
        raise ExportError(
            f"The export at {path} is corrupt: its SavedModel lacks the signature {signature!r} "
            "that its manifest lists."
        )
    return ExportedSignature(module, signature, manifest)
