"""Parameter checks shared by cells, networks and estimators.

All messages follow one shape, naming the parameter, its owner, the rule and
what was received::

    The 'units' parameter of ElmanRNNCell must be an int >= 1. Got 0 instead.
"""

import numbers
import typing

import numpy as np
import scipy.sparse

from seqkit._feature_names import sequence_names
from seqkit.exceptions import InputTypeError, InvalidInputError, InvalidParameterError


def _describe(value):
    return f"{value!r}" if not isinstance(value, np.ndarray) else f"an array of shape {value.shape}"


def check_int(value, name, owner, *, minimum=None, maximum=None, allow_none=False,
              or_auto=False):
    """Return ``value`` as an ``int`` after checking its type and range; ``or_auto``: the
    parameter also takes ``"auto"`` (checked by the caller), which the message names."""
    if value is None and allow_none:
        return None
    rule = "an int"
    if minimum is not None and maximum is not None:
        rule = f"an int in [{minimum}, {maximum}]"
    elif minimum is not None:
        rule = f"an int >= {minimum}"
    elif maximum is not None:
        rule = f"an int <= {maximum}"
    if allow_none:
        rule += " or None"
    if or_auto:
        rule += ' or "auto"'
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputTypeError(
            f"The {name!r} parameter of {owner} must be {rule}. Got {_describe(value)} instead."
        )
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be {rule}. Got {value!r} instead."
        )
    return int(value)


def check_float(
    value, name, owner, *, low=None, high=None, low_inclusive=True, high_inclusive=True,
    allow_none=False, or_auto=False,
):
    """Return ``value`` as a ``float`` after checking its type, finiteness and range;
    ``or_auto`` as in :func:`check_int`."""
    if value is None and allow_none:
        return None
    lo = "" if low is None else ("[" if low_inclusive else "(") + f"{low}"
    hi = "" if high is None else f"{high}" + ("]" if high_inclusive else ")")
    if low is not None and high is not None:
        rule = f"a float in {lo}, {hi}"
    elif low is not None:
        rule = f"a float {'>=' if low_inclusive else '>'} {low}"
    elif high is not None:
        rule = f"a float {'<=' if high_inclusive else '<'} {high}"
    else:
        rule = "a finite float"
    if allow_none:
        rule += " or None"
    if or_auto:
        rule += ' or "auto"'
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputTypeError(
            f"The {name!r} parameter of {owner} must be {rule}. Got {_describe(value)} instead."
        )
    value = float(value)
    bad = not np.isfinite(value)
    if low is not None:
        bad = bad or (value < low if low_inclusive else value <= low)
    if high is not None:
        bad = bad or (value > high if high_inclusive else value >= high)
    if bad:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be {rule}. Got {value!r} instead."
        )
    return value


def check_choice(value, name, owner, choices):
    """Return ``value`` after checking it is one of ``choices``."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be one of {options}. Got {value!r} instead."
        )
    return value


def check_bool(value, name, owner, or_auto=False):
    """Return ``value`` after checking it is a ``bool``; ``or_auto`` as in :func:`check_int`."""
    if not isinstance(value, (bool, np.bool_)):
        rule = 'a bool or "auto"' if or_auto else "a bool"
        raise InputTypeError(
            f"The {name!r} parameter of {owner} must be {rule}. Got {_describe(value)} instead."
        )
    return bool(value)


DEPRECATED = "deprecated"
"""Default of a parameter's old name after a rename: only a caller still using that name
sets it (a sentinel, so that ``get_params`` and ``clone`` carry the old name too)."""


def renamed_parameter(value, old_value, name, old_name, owner, *, default):
    """The value of parameter ``name``, formerly ``old_name``, and the warning to give.

    Returns ``(value, None)`` while ``old_value`` is :data:`DEPRECATED`; else
    ``(old_value, message)``, where ``message`` is for a ``FutureWarning`` the
    caller gives with ``stacklevel=2``. Both names set (``value`` other than
    its ``default``) is an :class:`~seqkit.exceptions.InvalidParameterError`.
    """
    if isinstance(old_value, str) and old_value == DEPRECATED:
        return value, None
    if value != default:
        raise InvalidParameterError(
            f"The {old_name!r} parameter of {owner} was renamed {name!r}: set only {name!r}. "
            f"Got {name}={value!r} and {old_name}={old_value!r}."
        )
    return old_value, (
        f"The {old_name!r} parameter of {owner} was renamed {name!r} and will be removed in a "
        f"future version. Use {name}={old_value!r} instead."
    )


# ----------------------------------------------------------------------------- data


class Sequences(typing.NamedTuple):
    """Numeric sequences after :func:`check_sequences`.

    Attributes
    ----------
    values : ndarray of shape (batch, timesteps, features)
        The sequences, each followed by NaN up to the longest one.
    lengths : ndarray of int64, shape (batch,)
        The number of real steps of each sequence.
    ragged : bool
        Whether they were given as a list of sequences.
    univariate : bool
        Whether they were given without a features axis (a 2-D array, or a
        list of 1-D sequences).
    feature_names : tuple of str or None
        The column names of sequences given as a list of pandas DataFrames,
        which share them; ``None`` for any other form.
    """

    values: np.ndarray
    lengths: np.ndarray
    ragged: bool
    univariate: bool
    feature_names: tuple | None = None

    def like_input(self, values):
        """Return ``values`` (same layout as :attr:`values`) in the form the input had."""
        if self.univariate:
            values = values[..., 0]
        if self.ragged:
            return [v[:n] for v, n in zip(values, self.lengths)]
        return values


_SEQUENCE_FORMS = (
    "a 3-D array (batch, timesteps, features), a 2-D array (batch, timesteps) of "
    "univariate sequences, or a list of 2-D (timesteps, features) or 1-D sequences"
)


def check_float32_range(values, name, sequences=True):
    """Refuse a finite value of ``values`` beyond float32's range (it would become inf).

    ``values`` holds one sequence per row (``sequences``) or the steps of one sequence.
    """
    if sequences and values.ndim < 2:
        return  # not sequences: refused as such by the caller's shape check
    big = np.argwhere(np.isfinite(values) & (np.abs(values) > np.finfo(np.float32).max))
    if len(big):
        where = (f"in sequence {big[0][0]} at step {big[0][1]}" if sequences
                 else f"at step {big[0][0]}")
        raise InvalidInputError(
            f"{name} must hold values within float32's range (magnitude up to 3.4e38), "
            f"the precision in which the networks and the exports take them. Got "
            f"{values[tuple(big[0])]:.3g} {where}."
        )


def as_float32(values, name, sequences=True):
    """``values`` (an array of numbers) cast to float32, refusing as
    :func:`check_float32_range` does a finite value the cast made inf; the range is read
    only when an inf appears, so in-range input costs the cast alone."""
    cast = np.asarray(values, dtype=np.float32)
    if values.dtype.kind == "f" and values.itemsize > 4 and np.isinf(cast).any():
        check_float32_range(values, name, sequences)
    return cast


def _as_float(value, name, dtype, sequences):
    try:
        array = np.asarray(value)
        if np.iscomplexobj(array):
            raise InvalidInputError(
                f"{name} must be real-valued. Complex data not supported; got dtype {array.dtype}."
            )
        if np.dtype(dtype) == np.float32:
            return as_float32(array, name, sequences)
        return np.asarray(array, dtype=dtype)
    except (TypeError, ValueError) as err:
        if isinstance(err, InvalidInputError):
            raise
        raise InputTypeError(f"{name} must hold numbers. Got values that are not: {err}") from None


def _padded_lengths(values, name):
    """Real steps of each sequence of an array padded at its end with all-NaN steps, as
    exported models take them; an all-NaN step before a real one is refused."""
    padding = np.isnan(values).all(axis=2) if values.shape[2] else np.zeros(values.shape[:2], bool)
    lengths = values.shape[1] - np.cumprod(padding[:, ::-1], axis=1).sum(axis=1)
    inside = padding & (np.arange(values.shape[1])[None, :] < lengths[:, None])
    if inside.any():
        sequence, step = np.argwhere(inside)[0]
        raise InvalidInputError(
            f"{name} has padding (a step whose values are all NaN) before real steps in "
            f"sequence {sequence} at step {step}. Pad sequences at their end only, or give "
            "them as a list of arrays of their own lengths."
        )
    return lengths.astype(np.int64)


def _first_non_finite(values, lengths):
    """``(sequence, step)`` of the first NaN or inf inside the real steps, or ``None``."""
    real = np.arange(values.shape[1])[None, :] < lengths[:, None]
    bad = ~np.isfinite(values).all(axis=2) & real
    if not bad.any():
        return None
    sequence, step = np.argwhere(bad)[0]
    return int(sequence), int(step)


def _no_steps(sequence):
    """Whether ``sequence`` is a sized sequence of length 0 (a string is a token, not one)."""
    if isinstance(sequence, str):
        return False
    try:
        return len(sequence) == 0
    except TypeError:  # a number, a 0-d array: not a sequence at all
        return False


def check_not_empty(X, name="X"):
    """Refuse ``X`` if it holds no sequence or an empty one, before what it holds is read.

    Emptiness is checked first, at every door, so that an empty sequence gets
    this message whatever the sequences were meant to hold: an empty list
    holds neither numbers nor tokens, and guessing its kind would blame the
    kind.

    Parameters
    ----------
    X : object
        A list or tuple of sequences, or an array-like with a ``shape`` whose
        first axis runs over sequences and second over steps; anything else
        is left to the checks of its kind.
    name : str
        How the data is named in error messages.

    Returns
    -------
    X
        Unchanged.

    Raises
    ------
    InvalidInputError
        For no sequences, or a sequence with no steps.
    """
    empty = None
    if isinstance(X, (list, tuple)):
        count = len(X)
        empty = next((i for i, sequence in enumerate(X) if _no_steps(sequence)), None)
    elif len(getattr(X, "shape", ())) >= 2:
        count = X.shape[0]
        if X.shape[1] == 0 and len(X.shape) == 2:
            raise InvalidInputError(
                f"{name} holds empty sequences: a 2-D {name} has one univariate sequence per row "
                f"and 0 feature(s) (shape={tuple(X.shape)}) while a minimum of 1 is required."
            )
        empty = 0 if X.shape[1] == 0 else None
    else:
        return X
    if count == 0:
        raise InvalidInputError(f"{name} must hold at least one sequence. Got 0 sequences.")
    if empty is not None:
        raise InvalidInputError(
            f"{name} must not contain empty sequences. Sequence {empty} has 0 steps."
        )
    return X


def check_sequences(X, name="X", owner="seqkit", *, n_features=None, dtype=np.float32,
                    feature_names=None):
    """Validate numeric sequences and pad them into one array.

    Parameters
    ----------
    X : array-like or list of array-like
        A 3-D array ``(batch, timesteps, features)``; a 2-D array
        ``(batch, timesteps)`` of univariate sequences; or a list of 2-D
        ``(timesteps, features)`` or 1-D ``(timesteps,)`` sequences, whose
        lengths may differ. In an array, steps whose values are all NaN at
        the end of a sequence are padding, as in exported models' requests.
    name : str
        How the data is named in error messages.
    owner : str
        The estimator or transformer named in error messages.
    n_features : int or None
        The number of features the data must have (after fit).
    dtype : numpy dtype
        The dtype of the returned values.
    feature_names : array-like of str or None
        The ``feature_names_in_`` seen in fit: a list of DataFrames must then
        have these columns in this order (:func:`check_feature_names`).

    Returns
    -------
    Sequences
        The values padded with NaN after each sequence's end, and the lengths.

    Raises
    ------
    InputTypeError
        For sparse or non-numeric data.
    InvalidInputError
        For a wrong number of dimensions or features, no sequences, an empty
        sequence (all padding), padding before real steps, NaN or inf inside
        a sequence, DataFrames with different columns, or columns other than
        ``feature_names``.
    """
    if X is None:
        raise InputTypeError(f"{owner} requires {name}: {_SEQUENCE_FORMS}. Got None.")
    check_dense(X, name)
    check_not_empty(X, name)
    ragged = isinstance(X, (list, tuple))
    names = sequence_names(X, name, owner, feature_names)
    if ragged:
        items = [_as_float(item, f"{name}[{i}]", dtype, sequences=False)
                 for i, item in enumerate(X)]
        ndims = {item.ndim for item in items}
        if not items or ndims - {1, 2} or len(ndims) > 1:
            shapes = sorted({item.shape for item in items})[:3]
            raise InvalidInputError(
                f"{name} must be {_SEQUENCE_FORMS}, each of one kind. "
                f"Got a list of {len(items)} items of shapes {shapes}."
            )
        univariate = ndims == {1}
        items = [item[:, None] if univariate else item for item in items]
        widths = sorted({item.shape[1] for item in items})
        if len(widths) > 1:
            raise InvalidInputError(
                f"All sequences of {name} must have the same number of features. Got {widths}."
            )
        lengths = np.array([len(item) for item in items], dtype=np.int64)
        values = np.full((len(items), lengths.max(), widths[0]), np.nan, dtype=dtype)
        for row, item in zip(values, items):
            row[: len(item)] = item
    else:
        values = _as_float(X, name, dtype, sequences=True)
        univariate = values.ndim == 2
        if values.ndim not in (2, 3):
            raise InvalidInputError(
                f"{name} must be {_SEQUENCE_FORMS}. Got shape {values.shape}. Reshape your data: "
                f"one univariate sequence is {name}.reshape(1, -1)."
            )
        if univariate:
            values = values[:, :, None]
        lengths = _padded_lengths(values, name)
    if lengths.min() == 0:  # all padding
        raise InvalidInputError(
            f"{name} must not contain empty sequences. Sequence {int(np.argmin(lengths))} "
            "has 0 steps."
        )
    if values.shape[2] == 0:
        raise InvalidInputError(f"{name} must have at least one feature per step. Got 0.")
    if n_features is not None and values.shape[2] != n_features:
        raise InvalidInputError(
            f"{name} has {values.shape[2]} features, but {owner} is expecting {n_features} "
            "features as input."
        )
    bad = _first_non_finite(values, lengths)
    if bad is not None:
        raise InvalidInputError(
            f"{name} contains NaN or inf in sequence {bad[0]} at step {bad[1]}."
        )
    if values.dtype == np.float64:  # float32 values were checked as they were cast
        check_float32_range(values, name)
    return Sequences(values, lengths, ragged, univariate, names)


def check_dense(X, name="X"):
    """Raise :class:`InputTypeError` if ``X`` is a scipy sparse matrix or array."""
    if scipy.sparse.issparse(X):
        raise InputTypeError(
            f"{name} must be dense; sparse input is not supported. Got {type(X).__name__}."
        )


def check_token_sequences(X, name="X", owner="seqkit"):
    """Validate token sequences: a list of non-empty lists of strings.

    Returns
    -------
    list of list of str
    """
    check_not_empty(X, name)
    if not isinstance(X, (list, tuple)):
        raise InputTypeError(
            f"{name} of {owner} must be a non-empty list of token sequences (lists of str). "
            f"Got {_describe(X) if isinstance(X, np.ndarray) else type(X).__name__}."
        )
    sequences = []
    for i, tokens in enumerate(X):
        if isinstance(tokens, str):
            shown = str(tokens if len(tokens) <= 40 else tokens[:40] + "...")
            example = tokens.split()[:3] or ["Ada", "left"]
            raise InputTypeError(
                f"{name}[{i}] must be a sequence of str tokens, such as {example!r}. "
                f"Got one str, {shown!r}: split each sentence into its tokens."
            )
        if not isinstance(tokens, (list, tuple, np.ndarray)):
            raise InputTypeError(
                f"{name}[{i}] must be a sequence of str tokens. Got {type(tokens).__name__}."
            )
        odd = next((t for t in tokens if not isinstance(t, str)), tokens)
        if odd is not tokens:
            raise InputTypeError(
                f"{name}[{i}] must hold only str tokens. Got {odd!r} of type "
                f"{type(odd).__name__}."
            )
        joined = "".join(tokens)
        try:  # TensorFlow's strings are UTF-8: a lone surrogate (from JSON's "\ud800") is not
            joined.encode("utf-8")
        except UnicodeEncodeError as err:
            bad = next(t for t in tokens if not _encodes(t))
            raise InvalidInputError(
                f"{name}[{i}] must hold tokens that are valid Unicode text (UTF-8). Got "
                f"{bad!r}: {err.reason}."
            ) from None
        if "\x00" in joined:
            bad = next(t for t in tokens if "\x00" in t)
            raise InvalidInputError(
                f"{name}[{i}] must hold tokens without the NUL character '\\x00': NumPy's "
                f"string arrays, in which tokens are padded and exported, drop it at a "
                f"token's end. Got {bad!r}."
            )
        sequences.append(list(tokens))
    return sequences


def _encodes(token):
    try:
        token.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_label_values(labels, name="y", where=None):
    """Refuse labels that cannot be told apart and ordered: None, or str mixed with other
    types (scikit-learn's checks would fail on them with a bare ``TypeError`` from sorting).

    Parameters
    ----------
    labels : ndarray
        The labels, 1-D (every sequence's labels one after another for a tagger).
    name : str
        The argument's name, for the message.
    where : callable or None
        ``where(i)``: the words that place label ``i`` (``"sequence 2, step 5"``);
        None: ``"position i"``.

    Raises
    ------
    InputTypeError
        Naming the first None, or the first str and the first other label.
    """
    if labels.dtype != object:
        return
    place = where or (lambda i: f"position {i}")
    missing = [label is None for label in labels]
    if any(missing):
        i = missing.index(True)
        raise InputTypeError(f"{name} must not hold None as a label. Got None at {place(i)}.")
    text = [isinstance(label, str) for label in labels]
    if any(text) and not all(text):
        i, j = text.index(True), text.index(False)
        raise InputTypeError(
            f"{name} must hold labels of one type: all str, or all numbers or bools. Got "
            f"{labels[i]!r} at {place(i)} and {labels[j]!r} of type "
            f"{type(labels[j]).__name__} at {place(j)}.")


def check_same_length(n_x, n_y, x_name="X", y_name="y"):
    """Raise unless ``x_name`` and ``y_name`` hold the same number of sequences."""
    if n_x != n_y:
        raise InvalidInputError(
            f"{x_name} and {y_name} must hold the same number of sequences. "
            f"Got {n_x} in {x_name} and {n_y} in {y_name}."
        )


def check_shape(array, name, owner, expected):
    """Return ``array`` after checking its shape against ``expected`` (None: any size there).

    The message shows the expected shape with ``any`` in the free places::

        The 'start' argument of predict_autoregressive must have shape (8, 2). Got shape (8, 3).
    """
    shape = np.shape(array)
    if len(shape) != len(expected) or any(
        size is not None and size != got for size, got in zip(expected, shape)
    ):
        wanted = "(" + ", ".join("any" if size is None else str(size) for size in expected)
        wanted += ",)" if len(expected) == 1 else ")"
        raise InvalidInputError(
            f"The {name!r} argument of {owner} must have shape {wanted}. Got shape {shape}."
        )
    return array
