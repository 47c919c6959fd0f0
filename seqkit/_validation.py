"""Parameter checks shared by cells, networks and estimators.

All messages follow one shape, naming the parameter, its owner, the rule and
what was received::

    The 'units' parameter of ElmanRNNCell must be an int >= 1. Got 0 instead.
"""

import numbers

import numpy as np

from seqkit.exceptions import InputTypeError, InvalidParameterError


def _describe(value):
    return f"{value!r}" if not isinstance(value, np.ndarray) else f"an array of shape {value.shape}"


def check_int(value, name, owner, *, minimum=None, maximum=None, allow_none=False):
    """Return ``value`` as an ``int`` after checking its type and range."""
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
    allow_none=False,
):
    """Return ``value`` as a ``float`` after checking its type, finiteness and range."""
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


def check_bool(value, name, owner):
    """Return ``value`` after checking it is a ``bool``."""
    if not isinstance(value, (bool, np.bool_)):
        raise InputTypeError(
            f"The {name!r} parameter of {owner} must be a bool. Got {_describe(value)} instead."
        )
    return bool(value)
