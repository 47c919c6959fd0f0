"""scikit-learn transformers and the preprocessing steps shared with exported graphs.

The transformers accept what the estimators accept (see
:func:`seqkit._validation.check_sequences`): a 3-D array ``(batch, timesteps,
features)``, a 2-D array of univariate sequences, or a list of sequences of
different lengths. They return their output in the form they were given, so
they compose with the estimators inside a ``Pipeline``.

Each step that both an estimator's ``predict`` and its exported SavedModel
need is written once here, in ``keras.ops`` or TensorFlow, and called by
both: :func:`~seqkit.padding.real_steps` and
:func:`~seqkit.padding.check_padded` (which steps are padding, and whether a
batch is padded right; from :mod:`seqkit.padding`), :func:`standardize` and
:func:`unstandardize`,
:func:`window_affine` (the forecaster's window scaling) and
:func:`token_table` / :func:`lookup_ids` (the vocabulary). The sub-word
features live in :mod:`seqkit.subwords` for the same reason.
"""

from collections import Counter

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from seqkit._feature_names import set_feature_names
from seqkit._validation import (
    check_bool,
    check_int,
    check_sequences,
    check_token_sequences,
)
from seqkit.padding import PAD_ID, PAD_TOKEN

OOV_ID = 1
"""Token id of every token not in a :class:`Vocabulary`."""

FLAT_WINDOW = 1e-12
"""A window whose spread is at most this times ``1 + |last value|`` is flat and keeps scale 1
(``window_affine(rule="spread")``)."""

STEP_FLOOR = 0.01
"""``window_affine(rule="step")``: the scale is at least this fraction of the window's mean
absolute level, so that a window of one step, or of nearly equal steps, keeps a scale in
proportion to its values."""

WINDOW_RULES = ("step", "spread")
"""The scales of :func:`window_affine`: ``"step"`` since forecasters chose their lookback,
``"spread"`` before (kept for the forecasters fitted then)."""


def standardize(values, mean, scale):
    """``(values - mean) / scale``, feature by feature (NaN padding stays NaN).

    Plain arithmetic, so it runs on NumPy arrays (``predict``) and on tensors
    (the exported graph) alike and gives the same numbers.

    Parameters
    ----------
    values : array or tensor of shape (..., features)
    mean, scale : array of shape (features,)
    """
    return (values - mean) / scale


def as_served(values):
    """``values`` (float64) rounded to float32, the precision in which the networks and the
    exports take them, and kept in float64 for the arithmetic after.

    Without it, ``predict`` standardised the float64 values a fitted model was
    given and its export the float32 ones a SavedModel takes: far from 0 the two
    differ (a feature at 1e6 has steps of 0.0625 in float32), and so did their
    answers (a covariate of 1e6 plus 0.05 times noise moved forecasts by 3e-3).
    :func:`seqkit._validation.check_sequences` refuses values beyond float32's
    range first.
    """
    with np.errstate(over="ignore"):
        return np.asarray(values, np.float64).astype(np.float32).astype(np.float64)


def unstandardize(values, mean, scale):
    """``values * scale + mean``: the inverse of :func:`standardize`, on arrays or tensors.

    Parameters
    ----------
    values : array or tensor of shape (..., features)
    mean, scale : arrays or tensors that broadcast against ``values``
    """
    return values * scale + mean


def window_affine(windows, rule="step"):
    """The location and scale of each forecasting window: its last value and its typical size.

    A window may start with padding (steps all NaN, before the series began):
    the statistics are those of its real steps, so a padded window has the
    affine of the shorter unpadded one.

    Parameters
    ----------
    windows : array or tensor of shape (n, lookback, targets), float64
        Each window's last step real.
    rule : {"step", "spread"}, default "step"
        ``"step"``: the mean absolute change from one real step to the next
        (the in-sample scale of MASE, Hyndman & Koehler, 2006, "Another look
        at measures of forecast accuracy", IJF 22(4)), at least
        :data:`STEP_FLOOR` times the mean absolute value of the real steps
        (so a window of one step, or of equal steps, is scaled by its level),
        and 1 where both are 0. ``"spread"``: the standard deviation of the
        real steps, or 1 where the window is flat (see :data:`FLAT_WINDOW`).

    Returns
    -------
    loc, scale : tensors of shape (n, 1, targets)
        ``loc`` is the window's last value.
    """
    from keras import ops

    windows = ops.convert_to_tensor(windows)
    loc = windows[:, -1:]
    real = ops.logical_not(ops.isnan(windows))
    count = ops.sum(ops.cast(real, windows.dtype), axis=1, keepdims=True)
    filled = ops.where(real, windows, ops.zeros_like(windows))
    if rule == "step":
        level = ops.sum(ops.abs(filled), axis=1, keepdims=True) / count
        changes = windows[:, 1:] - windows[:, :-1]  # NaN where either step is padding
        known = ops.logical_not(ops.isnan(changes))
        n_changes = ops.sum(ops.cast(known, windows.dtype), axis=1, keepdims=True)
        step = ops.sum(ops.where(known, ops.abs(changes), ops.zeros_like(changes)), axis=1,
                       keepdims=True) / ops.maximum(n_changes, 1.0)
        scale = ops.maximum(step, STEP_FLOOR * level)
        return loc, ops.where(scale > 0, scale, ops.ones_like(scale))
    mean = ops.sum(filled, axis=1, keepdims=True) / count
    deviation = ops.where(real, windows - mean, ops.zeros_like(windows))
    padded_spread = ops.sqrt(ops.sum(ops.square(deviation), axis=1, keepdims=True) / count)
    # Windows without padding keep ops.std, so their numbers stay bit for bit.
    spread = ops.where(ops.all(real, axis=1, keepdims=True),
                       ops.std(windows, axis=1, keepdims=True), padded_spread)
    flat = spread <= FLAT_WINDOW * (1 + ops.abs(loc))
    return loc, ops.where(flat, ops.ones_like(spread), spread)


def seasonal_offset(windows, season_length, horizon):
    """The seasonal naive forecast of each window, less its last value.

    Step ``h`` (1-based) of the seasonal naive forecast repeats the value one
    season before it, ``y[T + h - m * ceil(h / m)]`` (Hyndman &
    Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed., §5.2).
    A forecaster with window scaling forecasts relative to it: the network
    gives the scaled difference from it, so a network that outputs 0 makes
    the seasonal naive forecast.

    Parameters
    ----------
    windows : array or tensor of shape (n, lookback, targets), float64
        Each window's last step real; padding (NaN steps) at the start.
    season_length : int
        ``m``; 1, or more than the lookback, gives 0 (the last value's
        forecast).
    horizon : int

    Returns
    -------
    tensor of shape (n, horizon, targets)
        0 where the window holds less than a season of real steps.
    """
    from keras import ops

    windows = ops.convert_to_tensor(windows)
    lookback = windows.shape[1]
    if season_length > lookback:
        season_length = 1
    positions = [lookback - season_length + h % season_length for h in range(horizon)]
    offset = ops.take(windows, positions, axis=1) - windows[:, -1:]
    return ops.where(ops.isnan(offset), ops.zeros_like(offset), offset)


def token_table(vocabulary):
    """A TensorFlow lookup table from tokens to ids: :data:`PAD_TOKEN` to :data:`PAD_ID`,
    known tokens to theirs, any other token to :data:`OOV_ID`.

    Parameters
    ----------
    vocabulary : dict of str to int
        ``Vocabulary.vocabulary_``.

    Returns
    -------
    tf.lookup.StaticHashTable
    """
    import tensorflow as tf

    ids = {PAD_TOKEN: PAD_ID, **{token: i for token, i in vocabulary.items() if token}}
    # int64 ids and no string comparison, which ONNX converters map.
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(list(ids), tf.string), tf.constant(list(ids.values()), tf.int64)
        ),
        default_value=OOV_ID,
    )


def lookup_ids(table, tokens):
    """The int32 ids ``(batch, time)`` of string tokens ``(batch, time)`` in ``table``.

    Parameters
    ----------
    table : tf.lookup.StaticHashTable
        From :func:`token_table`.
    tokens : tensor or array of str, shape (batch, time)
        Padded with :data:`PAD_TOKEN`.
    """
    import tensorflow as tf

    tokens = tf.convert_to_tensor(tokens, tf.string)
    # The reshape (a no-op) tells ONNX converters the rank the lookup keeps.
    return tf.reshape(tf.cast(table.lookup(tokens), tf.int32), tf.shape(tokens))


def pad_tokens(sequences):
    """Token sequences as one ``(batch, max length)`` object array, padded with
    :data:`PAD_TOKEN`."""
    padded = np.full((len(sequences), max(map(len, sequences), default=0)), PAD_TOKEN,
                     dtype=object)
    for row, tokens in zip(padded, sequences):
        row[: len(tokens)] = list(tokens)
    return padded


class SequenceScaler(TransformerMixin, BaseEstimator):
    """Standardise each feature over all real steps of all sequences.

    The mean and standard deviation of each feature are taken over every step
    of every sequence (padding excluded), so sequences of different lengths
    are handled exactly. The values are first rounded to float32
    (:func:`as_served`), the precision in which the networks and the exports
    take them, so ``inverse_transform(transform(X))`` gives ``X`` to float32
    precision; values beyond float32's range are refused.

    Parameters
    ----------
    with_mean : bool, default True
        Subtract the mean of each feature.
    with_std : bool, default True
        Divide by the standard deviation of each feature (features that are
        constant keep a scale of 1).

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
    scale_ : ndarray of shape (n_features,)
    n_features_in_ : int
        The number of features (channels) per step; 1 for univariate input.
    feature_names_in_ : ndarray of shape (n_features_in_,), object
        The column names of a list of pandas DataFrames that share string
        columns. Defined only when fit on those. Sequences given as DataFrames
        after fit must have these columns in this order; the export of a
        Pipeline it starts carries them, and ``seqkit predict`` reads a
        file's columns by these names.

    Examples
    --------
    >>> X = [np.zeros((5, 2)), np.ones((3, 2))]
    >>> SequenceScaler().fit_transform(X)[1].shape
    (3, 2)
    """

    def __init__(self, *, with_mean=True, with_std=True):
        self.with_mean = with_mean
        self.with_std = with_std

    def fit(self, X, y=None):
        """Learn the mean and scale of each feature.

        Parameters
        ----------
        X : 3-D array, 2-D array or list of sequences
            See :func:`seqkit._validation.check_sequences`.
        y : ignored

        Returns
        -------
        self
        """
        owner = type(self).__name__
        check_bool(self.with_mean, "with_mean", owner)
        check_bool(self.with_std, "with_std", owner)
        sequences = check_sequences(X, owner=owner, dtype=np.float64)
        values = as_served(sequences.values)  # the values transform standardises
        n_features = values.shape[2]
        self.mean_ = np.nanmean(values, axis=(0, 1)) if self.with_mean else np.zeros(n_features)
        scale = np.nanstd(values, axis=(0, 1)) if self.with_std else np.ones(n_features)
        self.scale_ = np.where(scale > 10 * np.finfo(np.float64).eps, scale, 1.0)
        self.n_features_in_ = n_features
        set_feature_names(self, sequences.feature_names)
        return self

    def transform(self, X):
        """Return ``(X - mean_) / scale_`` in the form ``X`` was given (:func:`standardize`),
        of ``X`` rounded to float32 first (:func:`as_served`), as the export of a Pipeline
        this scaler starts reads it."""
        return self._map(X, lambda values: standardize(as_served(values), self.mean_,
                                                       self.scale_))

    def inverse_transform(self, X):
        """Return ``X * scale_ + mean_`` in the form ``X`` was given (:func:`unstandardize`)."""
        return self._map(X, lambda values: unstandardize(values, self.mean_, self.scale_))

    def _map(self, X, function):
        check_is_fitted(self)
        sequences = check_sequences(
            X, owner=type(self).__name__, n_features=self.n_features_in_, dtype=np.float64,
            feature_names=getattr(self, "feature_names_in_", None),
        )
        return sequences.like_input(function(sequences.values))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


class Vocabulary(TransformerMixin, BaseEstimator):
    """Map tokens to integer ids, with one id for tokens never seen.

    Id :data:`PAD_ID` (0) is kept for padding and :data:`OOV_ID` (1) for
    out-of-vocabulary tokens; known tokens get ids from 2, the most frequent
    first (ties in alphabetical order).

    Parameters
    ----------
    min_frequency : int, default 1
        Tokens seen fewer times in ``fit`` are out of the vocabulary. With 2,
        tokens seen once train the out-of-vocabulary id, so it means something
        at prediction time.
    max_size : int or None, default None
        Keep at most this many tokens (the most frequent).

    Attributes
    ----------
    vocabulary_ : dict of str to int
        The id of each known token.
    size_ : int
        The number of ids, padding and out-of-vocabulary included.
    """

    def __init__(self, *, min_frequency=1, max_size=None):
        self.min_frequency = min_frequency
        self.max_size = max_size

    def fit(self, X, y=None):
        """Count the tokens of ``X``, a list of token lists.

        Returns
        -------
        self
        """
        owner = type(self).__name__
        min_frequency = check_int(self.min_frequency, "min_frequency", owner, minimum=1)
        max_size = check_int(self.max_size, "max_size", owner, minimum=1, allow_none=True)
        sequences = check_token_sequences(X, owner=owner)
        counts = Counter(token for tokens in sequences for token in tokens)
        kept = sorted(
            (t for t, c in counts.items() if c >= min_frequency), key=lambda t: (-counts[t], t)
        )
        self.vocabulary_ = {token: i + 2 for i, token in enumerate(kept[:max_size])}
        self.size_ = len(self.vocabulary_) + 2
        return self

    def transform(self, X):
        """Return the ids of ``X``, a list of token lists, as a list of int32 arrays."""
        check_is_fitted(self)
        sequences = check_token_sequences(X, owner=type(self).__name__)
        ids = self.vocabulary_
        return [np.array([ids.get(t, OOV_ID) for t in tokens], np.int32) for tokens in sequences]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags


def pad_ids(ids):
    """Pad a list of 1-D integer arrays with :data:`PAD_ID` into one ``(batch, timesteps)`` array.

    Returns
    -------
    padded : ndarray of int32, shape (batch, max length)
    lengths : ndarray of int64, shape (batch,)
    """
    lengths = np.array([len(seq) for seq in ids], dtype=np.int64)
    padded = np.full((len(ids), lengths.max()), PAD_ID, dtype=np.int32)
    for row, seq in zip(padded, ids):
        row[: len(seq)] = seq
    return padded, lengths


def sliding_windows(values, width):
    """All runs of ``width`` consecutive rows of ``values``.

    Parameters
    ----------
    values : ndarray of shape (timesteps, features)
    width : int
        At most ``timesteps``.

    Returns
    -------
    ndarray of shape (timesteps - width + 1, width, features)
        Window ``i`` is ``values[i:i + width]`` (a read-only view).
    """
    return np.lib.stride_tricks.sliding_window_view(values, width, axis=0).transpose(0, 2, 1)
