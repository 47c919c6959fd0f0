"""Feature names: the columns of pandas DataFrames, recorded by a fit and checked after it.

As scikit-learn does with ``feature_names_in_``: a fit on DataFrames whose
column names are all str records them; DataFrames given after the fit must
have those columns in that order, or are refused (values are still read by
position, so a reordered table would give other predictions); arrays are
read by position. An export lists the names, and ``seqkit predict`` reads a
file's columns by them.
"""

import numpy as np
import pandas as pd

from seqkit.exceptions import InvalidInputError


def column_names(X, name="X", what="features", *, strict=True):
    """The column names that a list of pandas DataFrames shares, or ``None``.

    Names count only when every item is a DataFrame and every column name is
    a str (where scikit-learn raises on mixed types, they give no names here).

    Parameters
    ----------
    X : list or tuple
        Sequences (or series), any of them DataFrames.
    name : str
        How ``X`` is named in the message.
    what : str
        What the columns are (``"features"``, ``"targets"``), for the message.
    strict : bool, default True
        Refuse DataFrames whose columns differ. Otherwise (a forecaster's
        series, whose columns may be named after each series) only those
        that hold the same columns in another order are refused, and others
        that differ give no names.

    Returns
    -------
    tuple of str or None

    Raises
    ------
    InvalidInputError
        For DataFrames mixed with arrays (``strict``), a column name that repeats, or two
        DataFrames with different columns (``strict``) or with the same ones
        in another order.
    """
    frames = [i for i, item in enumerate(X) if isinstance(item, pd.DataFrame)]
    if not frames:
        return None
    if len(frames) < len(X):
        if not strict:
            return None
        other = next(i for i in range(len(X)) if i not in set(frames))
        raise InvalidInputError(
            f"{name} must hold sequences of one form: {name}[{frames[0]}] is a DataFrame, whose "
            f"columns are the {what}, and {name}[{other}] a {type(X[other]).__name__}. Give "
            f"DataFrames throughout, or arrays throughout."
        )
    first = list(X[frames[0]].columns)
    repeated = sorted({str(c) for c in first if first.count(c) > 1})
    if repeated:
        raise InvalidInputError(
            f"The columns of {name} must have unique names: they are the {what}. "
            f"{name}[{frames[0]}] repeats {repeated}."
        )
    for i in frames[1:]:
        columns = list(X[i].columns)
        if columns == first:
            continue
        if strict or sorted(map(str, columns)) == sorted(map(str, first)):
            raise InvalidInputError(
                f"The DataFrames of {name} must have the same columns, in the same order: they "
                f"are the {what}. {name}[{frames[0]}] has {first}; {name}[{i}] has {columns}."
            )
        return None
    if not all(isinstance(c, str) for c in first):
        return None
    return tuple(first)


def differences(fitted, given):
    """``(missing, unexpected)``: the names of ``fitted`` not in ``given``, and the reverse."""
    return [n for n in fitted if n not in given], [n for n in given if n not in fitted]


def in_order(X, columns, names):
    """Sequences ``X``, arrays ``(steps, len(columns))``, with their columns taken in the
    order of ``names`` (the same names as ``columns``, in any order)."""
    if list(columns) == list(names):
        return X
    order = [list(columns).index(name) for name in names]
    return [x[:, order] for x in X]


def check_feature_names(fitted, given, name="X", owner="seqkit", what="features"):
    """Refuse data whose column names differ from those seen in fit.

    Parameters
    ----------
    fitted : array-like of str or None
        The names seen in fit, e.g. ``feature_names_in_`` (``None``: fit
        without names, so nothing is checked).
    given : tuple of str or None
        The names of the new data, e.g. :attr:`Sequences.feature_names`
        (``None``: an array, read by position, as in scikit-learn).
    name, owner : str
        How the data and the estimator are named in the message.
    what : str
        What the columns are (``"features"``, ``"targets"``).

    Raises
    ------
    InvalidInputError
        If both are known and differ, in names or in order: columns are read
        by position, so a reordered table would give other predictions.
    """
    if fitted is None or given is None:
        return
    fitted = [str(n) for n in fitted]
    if list(given) == fitted:
        return
    missing, unexpected = differences(fitted, given)
    if missing:
        how = f"missing {missing}" + (f", unexpected {unexpected}" if unexpected else "")
    else:
        how = (f"unexpected {unexpected}: " if unexpected else "another order: ") + (
            f"select the {what} in that order, frame[{fitted}] for each DataFrame of {name}")
    raise InvalidInputError(
        f"The columns of {name} must be the {what} {owner} was fit on, in the same order: "
        f"{fitted}. Got {list(given)} ({how})."
    )


def sequence_names(X, name, owner, fitted=None):
    """The feature names of sequences ``X`` (:func:`column_names` of a list), checked
    against ``fitted``, the names seen in fit (:func:`check_feature_names`).

    Raises
    ------
    InvalidInputError
        As those two do, and for one DataFrame given after a fit on named
        features: a 2-D ``X`` is read as univariate sequences (rows) by steps
        (columns), not as one sequence of those features.
    """
    if isinstance(X, pd.DataFrame) and fitted is not None:
        raise InvalidInputError(
            f"{name} must be a list of DataFrames, one per sequence, for {owner}: it was fit on "
            f"the features {[str(n) for n in fitted]}. Got one DataFrame, which reads as "
            f"univariate sequences (rows) of steps (columns); for one sequence give [{name}]."
        )
    names = column_names(X, name) if isinstance(X, (list, tuple)) else None
    check_feature_names(fitted, names, name, owner)
    return names


def set_feature_names(estimator, names):
    """Set ``estimator.feature_names_in_`` to ``names`` (from :func:`column_names`, or
    :attr:`Sequences.feature_names`) as scikit-learn does: an object array, or no attribute
    when they are ``None``."""
    if names is None:
        vars(estimator).pop("feature_names_in_", None)
    else:
        estimator.feature_names_in_ = np.asarray(names, dtype=object)


def feature_names_of(estimator):
    """The ``feature_names_in_`` of a fitted estimator as a tuple of str, or ``None``."""
    names = getattr(estimator, "feature_names_in_", None)
    return None if names is None else tuple(str(name) for name in names)


def column_names_of(data, name, what):
    """:func:`column_names` (not ``strict``) of a forecaster's series or covariates: one
    DataFrame, or a list of them."""
    many = isinstance(data, (list, tuple)) and len(data) > 0 and not np.isscalar(data[0])
    return column_names(data if many else [data], name, what, strict=False)
