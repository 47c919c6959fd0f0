"""Quantile forecasts: the pinball loss, and outputs that cannot cross.

A quantile forecaster's network gives, for each forecast value, one raw
output per quantile level. :func:`monotone_quantiles` turns them into
quantiles that increase with the level by construction (the lowest as given,
each next one above it by a softplus), and both the loss in training and the
forecasts (``predict_quantiles`` and the exported ``predict_quantiles``
signature) go through it, written once in ``keras.ops``.

:class:`PinballLoss` is the loss of quantile regression (Koenker & Bassett,
1978, "Regression quantiles", *Econometrica* 46(1)): for level ``tau`` and
error ``e = y - q``, ``max(tau * e, (tau - 1) * e)``, whose expectation is
minimised by the ``tau``-quantile of ``y``.

:class:`MaskedLoss` is a point loss (the squared or absolute error) or the
pinball loss over the targets that exist: a forecaster trained on a series shorter than
its horizon has windows whose last targets lie beyond the series' end.
"""

import numbers

import keras
import numpy as np
from keras import ops

from seqkit._validation import check_choice
from seqkit.exceptions import InputTypeError, InvalidInputError, InvalidParameterError

MEDIAN = 0.5
POINT_ERRORS = {"mse": ops.square, "mae": ops.abs}
"""The error of each point loss, by the name Keras and the forecaster give the loss."""


def check_quantiles(quantiles, name, owner, *, require_median=True):
    """Return ``quantiles`` as a tuple of floats after checking them.

    Rules: a non-empty sequence of real numbers, each in (0, 1), strictly
    increasing (sorted, none repeated), holding 0.5 (the median that
    ``predict`` returns) when ``require_median``.

    Raises
    ------
    InputTypeError
        If ``quantiles`` is not a sequence of real numbers.
    InvalidParameterError
        If it breaks a rule; the message names the rule and the value.
    """
    rule = (f"The {name!r} parameter of {owner} must be a sequence of floats in (0, 1), "
            "increasing" + (", including 0.5" if require_median else ""))
    if isinstance(quantiles, (str, bytes)) or not hasattr(quantiles, "__len__") or any(
        isinstance(q, bool) or not isinstance(q, numbers.Real) for q in quantiles
    ):
        raise InputTypeError(f"{rule}. Got {quantiles!r} instead.")
    values = tuple(float(q) for q in quantiles)
    if not values:
        raise InvalidParameterError(f"{rule}. Got an empty sequence.")
    outside = [q for q in values if not 0 < q < 1]
    if outside:
        raise InvalidParameterError(f"{rule}. Got {quantiles!r} instead: {outside[0]!r} is "
                                    "outside (0, 1).")
    repeated = sorted({q for q in values if values.count(q) > 1})
    if repeated:
        raise InvalidParameterError(f"{rule}. Got {quantiles!r} instead: {repeated[0]!r} is "
                                    "repeated.")
    if list(values) != sorted(values):
        raise InvalidParameterError(f"{rule}. Got {quantiles!r} instead: they must increase; "
                                    f"sort them: {tuple(sorted(values))!r}.")
    if require_median and MEDIAN not in values:
        raise InvalidParameterError(f"{rule}. Got {quantiles!r} instead: 0.5 is missing, the "
                                    "median that predict returns.")
    return values


def monotone_quantiles(raw):
    """Quantiles that never cross, from raw network outputs.

    ``q_0 = r_0`` and ``q_k = q_{k-1} + softplus(r_k)``: increasing in ``k``
    for any input (strictly, but for softplus underflow to 0 far below).

    Parameters
    ----------
    raw : array or tensor of shape (..., n_quantiles)

    Returns
    -------
    tensor of shape (..., n_quantiles)
    """
    raw = ops.convert_to_tensor(raw)
    steps = ops.concatenate([raw[..., :1], ops.softplus(raw[..., 1:])], axis=-1)
    return ops.cumsum(steps, axis=-1)


@keras.saving.register_keras_serializable(package="seqkit")
class PinballLoss(keras.losses.Loss):
    """The pinball (quantile) loss of monotone quantile outputs (Koenker & Bassett, 1978).

    ``y_true`` ``(batch, n_values)``; ``y_pred`` ``(batch, n_values *
    n_quantiles)``, the raw outputs of each value's quantiles side by side,
    made monotone by :func:`monotone_quantiles`. The loss is the mean over
    values and quantile levels of ``max(tau * e, (tau - 1) * e)``,
    ``e = y - q_tau``.

    Parameters
    ----------
    quantiles : sequence of float in (0, 1)
        The levels, increasing.
    name : str, default "pinball_loss"
    """

    def __init__(self, quantiles=(0.1, 0.5, 0.9), name="pinball_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.quantiles = check_quantiles(quantiles, "quantiles", "PinballLoss",
                                         require_median=False)

    def terms(self, y_true, y_pred):
        """The pinball loss of each value and level, ``(batch, n_values, n_quantiles)``."""
        levels = ops.convert_to_tensor(np.asarray(self.quantiles), dtype=y_pred.dtype)
        y_true = ops.cast(y_true, y_pred.dtype)
        q = monotone_quantiles(ops.reshape(y_pred, (-1, ops.shape(y_true)[1],
                                                    len(self.quantiles))))
        error = y_true[..., None] - q
        return ops.maximum(levels * error, (levels - 1) * error)

    def call(self, y_true, y_pred):
        return ops.mean(self.terms(y_true, y_pred), axis=(1, 2))

    def get_config(self):
        return {**super().get_config(), "quantiles": list(self.quantiles)}


@keras.saving.register_keras_serializable(package="seqkit")
class MaskedLoss(keras.losses.Loss):
    """The mean squared or absolute error, or the pinball loss, over the targets that are there.

    ``y_true`` ``(batch, 2 * n_values)``: the targets, then one weight per
    target, 1 where it is real and 0 where it is missing (its value is then
    unused); ``y_pred`` as for the loss unmasked (``(batch, n_values)``, or
    ``(batch, n_values * n_quantiles)`` with ``quantiles``). A sample's loss
    is the mean over its real targets of the squared (or absolute) error, or
    of the pinball loss of :class:`PinballLoss` averaged over the levels; a
    missing target changes neither the loss nor its gradient, whatever its
    value.

    Parameters
    ----------
    quantiles : sequence of float in (0, 1) or None, default None
        The levels of a quantile network (the pinball loss); ``None``: the
        ``point`` loss of a point network.
    point : {"mse", "mae"}, default "mse"
        The loss of a point network (``quantiles=None``): the squared error,
        whose minimiser is the mean, or the absolute error, whose minimiser
        is the median.
    name : str, default "masked_loss"
    """

    def __init__(self, quantiles=None, point="mse", name="masked_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.pinball = None if quantiles is None else PinballLoss(quantiles)
        self.point = check_choice(point, "point", "MaskedLoss", tuple(POINT_ERRORS))

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        n_values = ops.shape(y_true)[1] // 2
        real = y_true[:, n_values:] > 0
        values = ops.where(real, y_true[:, :n_values], 0.0)
        if self.pinball is None:
            terms = POINT_ERRORS[self.point](values - y_pred)
        else:
            terms = ops.mean(self.pinball.terms(values, y_pred), axis=2)
        total = ops.sum(ops.where(real, terms, 0.0), axis=1)
        return total / ops.maximum(ops.sum(ops.cast(real, y_pred.dtype), axis=1), 1)

    def get_config(self):
        quantiles = None if self.pinball is None else list(self.pinball.quantiles)
        return {**super().get_config(), "quantiles": quantiles, "point": self.point}


def pinball_loss(y_true, quantiles, levels):
    """The mean pinball loss of quantile forecasts, in NumPy (for scoring them).

    Parameters
    ----------
    y_true : array-like of shape (n,)
    quantiles : array-like of shape (n, n_levels)
    levels : sequence of float of length n_levels

    Returns
    -------
    float

    Raises
    ------
    InvalidInputError
        If the shapes do not match as above, or a value is NaN or infinite.
    InvalidParameterError
        If ``levels`` are not increasing floats in (0, 1).
    """
    owner = "pinball_loss"
    levels = np.asarray(check_quantiles(levels, "levels", owner, require_median=False))
    try:
        y_true, quantiles = (np.asarray(a, dtype=float) for a in (y_true, quantiles))
    except ValueError as err:
        raise InvalidInputError(f"y_true and quantiles of {owner} must be arrays of numbers. "
                                f"Got what NumPy cannot read as one: {err}") from None
    if (y_true.ndim != 1 or not len(y_true)
            or quantiles.shape != (len(y_true), len(levels))):
        raise InvalidInputError(
            f"y_true of {owner} must have shape (n,), n >= 1, and quantiles (n, n_levels), one "
            f"column per level of levels ({len(levels)}). Got shapes {y_true.shape} and "
            f"{quantiles.shape}."
        )
    if not (np.isfinite(y_true).all() and np.isfinite(quantiles).all()):
        raise InvalidInputError(f"y_true and quantiles of {owner} must be finite: they hold "
                                "NaN or inf.")
    error = y_true[:, None] - quantiles
    return float(np.mean(np.maximum(levels * error, (levels - 1) * error)))
