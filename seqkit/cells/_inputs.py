"""What a seqkit recurrent layer is called with: the checks, and the state broadcasting.

A layer takes what ``keras.layers.SimpleRNN`` and ``keras.layers.LSTM`` take,
with the same numbers, on both of its paths; what Keras refuses, it refuses
with a seqkit error that names the argument, the rule and what was received:

- ``sequences``: real numbers of any dtype (floats, ints, bools), cast to
  the layer's compute dtype, as Keras computes them; at least one time step,
  and, once the layer is built, the features per step it was built for;
- ``mask``: ``(batch, timesteps)`` (or ``(batch, timesteps, 1)``) bools or
  0/1 numbers, with batch 1 or that of the sequences;
- ``initial_state``: one tensor per state of the cell (a bare tensor for a
  one-state cell), each ``(batch, size)``, ``(1, size)`` or ``(size,)``; a
  state of batch 1 is shared by every sequence, and sequences of batch 1 run
  from every state given, as in Keras.

:func:`check_call` runs before Keras' ``Layer.__call__``, on static shapes
(symbolic tensors included), so that a refusal comes from seqkit;
:func:`prepared` runs inside ``call`` and broadcasts the sequences, states
and mask to one batch, so that the fast path (whose loop keeps its shapes)
gives what the portable path gives. A batch known only when the graph runs
(a traced function, a model with unknown batch) is broadcast there; a
mismatch found then is TensorFlow's error.
"""

import keras
from keras import ops

from seqkit.exceptions import InputTypeError, InvalidInputError

_REAL = ("float", "int", "uint", "bool", "bfloat")
_MASK_RULE = ("a (batch, timesteps) tensor of bools (or 0/1 numbers), True at the real steps, "
              "with batch 1 or the batch of the sequences")


def _dtype(value):
    try:
        return keras.backend.standardize_dtype(value.dtype)
    except (ValueError, TypeError):
        return str(getattr(value.dtype, "name", value.dtype))


def _is_real(value):
    return _dtype(value).startswith(_REAL)


def _tensor_like(value):
    """``value`` itself if it has a shape and a dtype (arrays, tensors, symbolic tensors), else
    converted (Python lists and numbers); None if it cannot be."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return value
    try:
        return None if value is None else ops.convert_to_tensor(value)
    except (ValueError, TypeError):
        return None


def _describe(value):
    text = repr(value)
    return text if len(text) <= 60 else f"{type(value).__name__} {text[:50]}..."


def _differ(a, b):
    return a is not None and b is not None and a != b


def _shape(value):
    return tuple(None if d is None else int(d) for d in value.shape)


# ------------------------------------------------------------------------ the checks


def _checked_sequences(sequences, owner):
    tensor = _tensor_like(sequences)
    if tensor is None or not _is_real(tensor):
        got = f"dtype {_dtype(tensor)}" if tensor is not None else _describe(sequences)
        raise InputTypeError(
            f"The 'sequences' input of {owner} must hold real numbers (floats, ints or bools). "
            f"Got {got}."
        )
    return tensor


def _unwrapped_mask(mask):
    if isinstance(mask, (list, tuple)) and mask and all(
        m is None or hasattr(m, "shape") for m in mask
    ):
        return mask[0]  # one mask per input, as Keras passes them: the sequences' comes first
    return mask


def _checked_mask(mask, sequences, batch, owner):
    mask = _unwrapped_mask(mask)
    if mask is None:
        return None
    tensor = _tensor_like(mask)
    if tensor is None or not _is_real(tensor):
        got = f"dtype {_dtype(tensor)}" if tensor is not None else _describe(mask)
        raise InputTypeError(f"The 'mask' argument of {owner} must be {_MASK_RULE}. Got {got}.")
    shape = _shape(tensor)
    if len(shape) == 3 and shape[-1] == 1:
        shape = shape[:2]
    if len(shape) != 2 or _differ(shape[1], sequences.shape[1]) or (
        shape[0] != 1 and _differ(shape[0], batch)
    ):
        raise InvalidInputError(
            f"The 'mask' argument of {owner} must be {_MASK_RULE}. Got shape {_shape(tensor)} "
            f"for sequences of shape {_shape(sequences)}."
        )
    return tensor


def _state_rule(sizes, batch):
    what = ("a tensor (or a list of 1 tensor)" if len(sizes) == 1
            else f"a list of {len(sizes)} tensors")
    shapes = " and ".join(dict.fromkeys(f"(batch, {size}) or ({size},)" for size in sizes))
    return (f"{what}, one per state, of shape {shapes}, where batch is 1 or the batch of "
            "the sequences" + ("" if batch is None else f" ({batch})"))


def state_batch(sizes, sequences_shape, state_shapes, owner):
    """The batch that the sequences and the states broadcast to (None if unknown yet).

    Parameters
    ----------
    sizes : list of int
        The cell's state sizes.
    sequences_shape : tuple
        ``(batch, timesteps, features)``, static (``None`` where unknown).
    state_shapes : list of tuple
        The static shapes of the states given.
    owner : str
        The layer's class name, for the messages.

    Returns
    -------
    int or None

    Raises
    ------
    InvalidInputError
        If the number of states, their rank, their size or their batch is wrong.
    """
    batch = sequences_shape[0]
    state_shapes = [tuple(shape) for shape in state_shapes]
    error = InvalidInputError(
        f"The 'initial_state' argument of {owner} must be {_state_rule(sizes, batch)}. "
        f"Got shapes {state_shapes}."
    )
    if len(state_shapes) != len(sizes) or any(
        len(shape) not in (1, 2) or _differ(shape[-1], size)
        for shape, size in zip(state_shapes, sizes)
    ):
        raise error
    batches = [batch] + [shape[0] if len(shape) == 2 else 1 for shape in state_shapes]
    if None in batches:
        return None
    if any(b not in (1, max(batches)) for b in batches):
        raise error
    return max(batches)


def _checked_states(initial_state, sequences, sizes, owner):
    given = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
    states = []
    for position, state in enumerate(given):
        tensor = _tensor_like(state)
        if tensor is None or not _is_real(tensor):
            got = _describe(state) if tensor is None else f"dtype {_dtype(tensor)}"
            raise InputTypeError(
                f"The 'initial_state' argument of {owner} must be "
                f"{_state_rule(sizes, sequences.shape[0])}, of real numbers. "
                f"Got {got} at position {position}."
            )
        states.append(tensor)
    batch = state_batch(sizes, _shape(sequences), [_shape(s) for s in states], owner)
    return states, batch


def check_call(sequences, initial_state, mask, sizes, owner, features=None):
    """Check a layer's call arguments on their static shapes and dtypes.

    Parameters
    ----------
    sequences, initial_state, mask
        As given to the layer (arrays, tensors, symbolic tensors or lists).
    sizes : list of int
        The cell's state sizes.
    owner : str
        The layer's class name, for the messages.
    features : int or None, default None
        The features per step the layer was built for (None: not built yet).

    Returns
    -------
    tuple
        ``(sequences, initial_state, mask)``: Python lists and numbers
        converted to tensors, anything else as given.

    Raises
    ------
    InputTypeError
        If one of them does not hold real numbers.
    InvalidInputError
        If their shapes do not fit (see the module's docstring).
    """
    sequences = _checked_sequences(sequences, owner)
    if len(sequences.shape) != 3:
        return sequences, initial_state, mask  # Keras' input spec refuses it, naming the shape
    batch, steps, width = sequences.shape
    if steps == 0:
        raise InvalidInputError(f"The 'sequences' input of {owner} must have at least one time "
                                f"step. Got shape {_shape(sequences)}.")
    if _differ(features, width):
        raise InvalidInputError(
            f"The 'sequences' input of {owner} must have {features} features per step, as when "
            f"the layer was built. Got shape {_shape(sequences)}.")
    if initial_state is not None:
        initial_state, batch = _checked_states(initial_state, sequences, sizes, owner)
    mask = _checked_mask(mask, sequences, batch, owner)
    return sequences, initial_state, mask


# ------------------------------------------------------------------- inside the call


def prepared(sequences, initial_state, mask, compute_dtype):
    """The call's tensors as the loops take them.

    The sequences and states are cast to ``compute_dtype``, a ``(size,)``
    state becomes ``(1, size)``, a ``(batch, timesteps, 1)`` mask loses its
    last axis, and all are broadcast to one batch (the fast path runs a large
    batch in halves, which a mask or state of batch 1 would not split into).

    Returns
    -------
    tuple
        ``(sequences, initial_state, mask)``.
    """
    if _dtype(sequences) != compute_dtype:
        sequences = ops.cast(sequences, compute_dtype)
    mask = _unwrapped_mask(mask)
    if mask is not None and len(mask.shape) == 3:
        mask = ops.squeeze(mask, axis=-1)
    states = [ops.cast(s, compute_dtype) for s in ([] if initial_state is None else initial_state)]
    states = [s if len(s.shape) == 2 else s[None] for s in states]
    batches = [sequences.shape[0]] + [s.shape[0] for s in states]
    if None in batches:  # known only when the graph runs
        batch = ops.shape(sequences)[0]
        for state in states:
            batch = ops.maximum(batch, ops.shape(state)[0])
    else:
        batch = max(batches)

    def widened(tensor):
        if isinstance(batch, int) and tensor.shape[0] == batch:
            return tensor
        return ops.broadcast_to(tensor, (batch, *ops.shape(tensor)[1:]))

    return (widened(sequences) if states else sequences,
            None if initial_state is None else [widened(s) for s in states],
            None if mask is None else widened(mask))
