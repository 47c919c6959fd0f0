"""Metrics for forecasts (MASE, sMAPE) and for sequence tagging (token accuracy, entity F1).

All take ``(y_true, y_pred, ...)`` like ``sklearn.metrics``, so they wrap with
``sklearn.metrics.make_scorer``; e.g. ``make_scorer(entity_f1)`` scores a
:class:`~seqkit.estimators.SequenceTagger` in ``GridSearchCV``.
"""

import re
import warnings

import numpy as np
from sklearn.metrics import accuracy_score, mean_absolute_error

from seqkit._validation import DEPRECATED, check_int, check_same_length, renamed_parameter
from seqkit.exceptions import InputTypeError, InvalidInputError


def _finite_2d(values, name):
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(
            f"{name} must be numbers of shape (steps,) or (steps, n_targets), every row as "
            f"long. Got {type(values).__name__} that NumPy cannot read as one: {error}"
        ) from None
    if array.size == 0:
        raise InvalidInputError(f"{name} must have at least one value. Got shape {array.shape}.")
    array = array.reshape(len(array), -1) if array.ndim else array.reshape(1, 1)
    if not np.isfinite(array).all():
        raise InvalidInputError(f"{name} contains NaN or inf.")
    return array


def mean_absolute_scaled_error(
    y_true, y_pred, y_train, *, season_length=1, seasonal_period=DEPRECATED
):
    """Mean absolute scaled error (Hyndman and Koehler, 2006).

    The mean absolute error of the forecast divided by the in-sample mean
    absolute error of the seasonal naive forecast ``y_t = y_{t - m}`` on
    ``y_train``. Below 1, the forecast beats the naive one. For several
    targets (columns), the mean of the per-target values.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (horizon,) or (horizon, n_targets)
    y_train : array-like of shape (timesteps,) or (timesteps, n_targets)
        The series the forecast continues; needs more than ``season_length`` steps.
    season_length : int, default 1
        ``m``, the season length (as in :mod:`seqkit.baselines`); 1 compares
        with the random walk (last value).
    seasonal_period : int
        Deprecated: the former name of ``season_length``. Setting it warns
        (``FutureWarning``); setting both is an error.

    Returns
    -------
    float
    """
    owner = "mean_absolute_scaled_error"
    m, renamed = renamed_parameter(
        season_length, seasonal_period, "season_length", "seasonal_period", owner, default=1
    )
    if renamed:
        warnings.warn(renamed, FutureWarning, stacklevel=2)
    m = check_int(m, "seasonal_period" if renamed else "season_length", owner, minimum=1)
    y_true, y_pred = _finite_2d(y_true, "y_true"), _finite_2d(y_pred, "y_pred")
    y_train = _finite_2d(y_train, "y_train")
    if y_true.shape != y_pred.shape or y_true.shape[1] != y_train.shape[1]:
        raise InvalidInputError(
            "y_true, y_pred and y_train must have the same number of targets, and y_true and "
            f"y_pred the same shape. Got shapes {y_true.shape}, {y_pred.shape}, {y_train.shape}."
        )
    if len(y_train) <= m:
        raise InvalidInputError(
            f"y_train must have more than season_length={m} steps. Got {len(y_train)}."
        )
    scale = np.mean(np.abs(y_train[m:] - y_train[:-m]), axis=0)
    if not np.all(scale > 0):
        raise InvalidInputError(
            "MASE is undefined: the seasonal naive forecast of y_train has no error "
            f"(season_length={m}), so there is nothing to scale by."
        )
    errors = mean_absolute_error(y_true, y_pred, multioutput="raw_values")
    return float(np.mean(errors / scale))


def symmetric_mean_absolute_percentage_error(y_true, y_pred):
    """Symmetric mean absolute percentage error, in percent (0 to 200).

    ``200 / n * sum(|y_pred - y_true| / (|y_true| + |y_pred|))``, the form used
    in the M3 and M4 competitions; a step where both are 0 counts as 0.

    Parameters
    ----------
    y_true, y_pred : array-like of the same shape

    Returns
    -------
    float
    """
    y_true, y_pred = _finite_2d(y_true, "y_true"), _finite_2d(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise InvalidInputError(
            f"y_true and y_pred must have the same shape. Got {y_true.shape} and {y_pred.shape}."
        )
    denominator = np.abs(y_true) + np.abs(y_pred)
    ratio = np.divide(
        np.abs(y_pred - y_true), denominator, out=np.zeros_like(denominator),
        where=denominator > 0,
    )
    return float(200.0 * ratio.mean())


def _check_label_sequences(y, name, owner):
    """Refuse ``y`` unless it is a non-empty list of label sequences (a str is a label)."""
    expected = (f"{owner} takes {name} as a list of label sequences, one list of labels per "
                "sequence, e.g. [['B-PER', 'I-PER', 'O']]")
    if isinstance(y, str) or not hasattr(y, "__len__"):
        raise InputTypeError(f"{expected}. Got {type(y).__name__}.")
    if len(y) == 0:
        raise InvalidInputError(f"{expected}, and at least one sequence. Got 0 sequences.")
    for i, labels in enumerate(y):
        if isinstance(labels, str) or not hasattr(labels, "__len__"):
            raise InputTypeError(f"{expected}. Got {labels!r} at {name}[{i}]: wrap one "
                                 f"sequence in a list, [{name}].")


def _flat_labels(y_true, y_pred, owner):
    _check_label_sequences(y_true, "y_true", owner)
    _check_label_sequences(y_pred, "y_pred", owner)
    check_same_length(len(y_true), len(y_pred), "y_true", "y_pred")
    for i, (true, pred) in enumerate(zip(y_true, y_pred)):
        if len(true) != len(pred):
            raise InvalidInputError(
                f"y_true[{i}] and y_pred[{i}] must have the same length. "
                f"Got {len(true)} and {len(pred)}."
            )
    return [label for seq in y_true for label in seq], [label for seq in y_pred for label in seq]


def token_accuracy(y_true, y_pred):
    """The fraction of steps whose label is right, over all steps of all sequences.

    Parameters
    ----------
    y_true, y_pred : list of label sequences
        ``y_pred[i]`` has the length of ``y_true[i]``.

    Returns
    -------
    float
    """
    y_true, y_pred = _flat_labels(y_true, y_pred, "token_accuracy")
    if not y_true:
        raise InvalidInputError("token_accuracy needs at least one label. Got only empty "
                                "sequences.")
    return float(accuracy_score(y_true, y_pred))


def entity_f1(y_true, y_pred, *, scheme=None, mode=None):
    """Entity-level F1 (micro average) of IOB/BIO tag sequences, from ``seqeval``.

    An entity counts as right only if its type and all its steps are right.
    With no entity in ``y_true`` and none in ``y_pred``, the score is 0.

    Parameters
    ----------
    y_true, y_pred : list of lists of str
        Tags such as ``"B-PER"``, ``"I-PER"``, ``"O"``.
    scheme : seqeval scheme class or None
        E.g. ``seqeval.scheme.IOB2`` with ``mode="strict"``.
    mode : {None, "strict"}
        ``None`` is seqeval's default, lenient CoNLL evaluation.

    Returns
    -------
    float

    Raises
    ------
    InvalidInputError
        Without ``scheme``: a tag other than ``"O"`` or ``B``, ``I``, ``E``,
        ``S``, alone or with a type (``"B-PER"``): seqeval's lenient
        evaluation reads only these, and would warn and score plain labels
        by their first letter. With ``scheme``, seqeval checks the tags.
    """
    from seqeval.metrics import f1_score

    _flat_labels(y_true, y_pred, "entity_f1")
    y_true = [[str(tag) for tag in seq] for seq in y_true]
    y_pred = [[str(tag) for tag in seq] for seq in y_pred]
    if scheme is None:  # a scheme is seqeval's own check of the tags
        for name, sequences in (("y_true", y_true), ("y_pred", y_pred)):
            _check_entity_tags(sequences, name)
    return float(f1_score(y_true, y_pred, scheme=scheme, mode=mode, zero_division=0))


def _check_entity_tags(sequences, name):
    """Refuse a tag that seqeval's lenient evaluation cannot read: it only warns ("seems
    not to be NE tag") and scores plain labels as whatever their first letter spells."""
    for i, sequence in enumerate(sequences):
        for t, tag in enumerate(sequence):
            if not _ENTITY_TAG.fullmatch(tag):
                raise InvalidInputError(
                    f"entity_f1 takes IOB tags in {name}: 'O', or B, I, E or S, alone or "
                    f"with a type ('B-PER'). Got {tag!r} at {name}[{i}][{t}]. "
                    "Score plain labels with token_accuracy, or make each run of one label "
                    "an entity first ('B-Walking', 'I-Walking', ...).")


_ENTITY_TAG = re.compile(r"O|[BIES](-.+)?")
