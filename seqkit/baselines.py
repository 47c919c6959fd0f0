"""Classical baselines that the recurrent estimators are measured against.

Each follows the scikit-learn API of the estimator it is compared with, and is
fitted and scored on the same split by the pipelines:

- forecasting: :class:`SeasonalNaiveForecaster`, :class:`AutoETSForecaster`
  (exponential smoothing from statsmodels, chosen by AICc) and
  :class:`ThetaForecaster` (the Theta method, from statsmodels);
- classification: :class:`NearestNeighborDTWClassifier` (1-NN under dynamic
  time warping, the standard baseline of the UEA/UCR archives);
- tagging: :class:`MostFrequentTagTagger`, :class:`CRFTagger`
  (a linear-chain CRF from ``sklearn-crfsuite``) and, for numeric steps,
  :class:`RandomForestStepTagger` (a random forest on windowed statistics).
"""

import itertools
import unicodedata
import warnings
from collections import Counter

import numpy as np
from dtaidistance import dtw_ndim
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from seqkit._validation import (
    check_float,
    check_int,
    check_same_length,
    check_sequences,
    check_token_sequences,
)
from seqkit.exceptions import InvalidInputError

__all__ = [
    "AutoETSForecaster",
    "CRFTagger",
    "MostFrequentTagTagger",
    "NearestNeighborDTWClassifier",
    "RandomForestStepTagger",
    "SeasonalNaiveForecaster",
    "ThetaForecaster",
    "dtw_distances",
]


# ---------------------------------------------------------------------------- forecasting


def _check_series(y, owner, minimum):
    values = np.asarray(y, dtype=np.float64)
    if values.ndim != 1:
        raise InvalidInputError(f"y of {owner} must be 1-D (one series). Got shape {values.shape}.")
    if len(values) < minimum:
        raise InvalidInputError(
            f"y of {owner} must have at least {minimum} values. Got {len(values)}."
        )
    if not np.isfinite(values).all():
        raise InvalidInputError(f"y of {owner} contains NaN or inf.")
    return values


class SeasonalNaiveForecaster(BaseEstimator):
    """Repeat the last observed season: ``y_{T+h} = y_{T+h-m·k}``.

    Parameters
    ----------
    season_length : int, default=1
        ``m``; 1 is the naive (last value) forecast.

    Attributes
    ----------
    last_season_ : ndarray of shape (season_length,)
        The last ``m`` values of the training series.
    """

    def __init__(self, season_length=1):
        self.season_length = season_length

    def fit(self, y, X=None):
        """Store the last season of ``y`` (1-D array-like); ``X`` is ignored."""
        m = check_int(self.season_length, "season_length", type(self).__name__, minimum=1)
        self.last_season_ = _check_series(y, type(self).__name__, m)[-m:]
        return self

    def predict(self, horizon):
        """Return the next ``horizon`` values, an ndarray of shape ``(horizon,)``."""
        check_is_fitted(self)
        horizon = check_int(horizon, "horizon", type(self).__name__, minimum=1)
        return np.resize(self.last_season_, horizon)


class AutoETSForecaster(BaseEstimator):
    """Exponential smoothing (ETS, additive errors) with the form chosen by AICc.

    Fits statsmodels' ``ETSModel`` with trend none, additive or damped
    additive, and seasonality none or additive (the latter only when
    ``season_length > 1`` and ``y`` spans two seasons), and keeps the fit with
    the lowest AICc on the training series alone, as ``forecast::ets`` does.
    A form with as many parameters as the series has values has no finite
    AICc and loses; on a series too short for any form (4 values) the
    simplest one, no trend and no season, is kept.

    Parameters
    ----------
    season_length : int, default=1
        ``m``, the number of steps in a season.

    Attributes
    ----------
    results_ : statsmodels ETSResults
        The selected fit.
    form_ : dict
        Its ``trend``, ``damped_trend`` and ``seasonal`` arguments.
    """

    MIN_STEPS = 4
    """The fewest values :meth:`fit` takes."""

    def __init__(self, season_length=1):
        self.season_length = season_length

    def fit(self, y, X=None):
        """Fit each candidate form to ``y`` (1-D array-like), keep the best; ``X`` is ignored."""
        from statsmodels.tools.sm_exceptions import ConvergenceWarning
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        owner = type(self).__name__
        m = check_int(self.season_length, "season_length", owner, minimum=1)
        values = _check_series(y, owner, self.MIN_STEPS)
        seasonals = [None, "add"] if m > 1 and len(values) >= 2 * m else [None]
        trends = [(None, False), ("add", False), ("add", True)]
        best = None
        # The simplest form comes first and wins every tie, infinite AICc included.
        for (trend, damped), seasonal in itertools.product(trends, seasonals):
            form = {"trend": trend, "damped_trend": damped, "seasonal": seasonal}
            model = ETSModel(
                values, error="add", seasonal_periods=m if seasonal else None, **form
            )
            with warnings.catch_warnings():
                # A candidate that does not converge simply loses on AICc.
                warnings.simplefilter("ignore", ConvergenceWarning)
                results = model.fit(disp=False)
            aicc = results.aicc if np.isfinite(results.aicc) else np.inf
            if best is None or aicc < best[0]:
                best = (aicc, results, form)
        _, self.results_, self.form_ = best
        return self

    def predict(self, horizon):
        """Return the next ``horizon`` values, an ndarray of shape ``(horizon,)``."""
        check_is_fitted(self)
        horizon = check_int(horizon, "horizon", type(self).__name__, minimum=1)
        return np.asarray(self.results_.forecast(horizon), dtype=np.float64)


class ThetaForecaster(BaseEstimator):
    """The Theta method: simple exponential smoothing with half the linear trend's drift.

    Fits statsmodels' ``ThetaModel`` (Assimakopoulos and Nikolopoulos, 2000,
    "The theta model: a decomposition approach to forecasting", IJF 16(4);
    in the form of Hyndman and Billah, 2003, IJF 19(2)), estimated by OLS
    and SES as ``forecast::thetaf`` does. When ``season_length > 1`` and
    ``y`` spans two seasons, ``y`` is tested for seasonality and, if
    seasonal, deseasonalised by classical decomposition (multiplicative for
    a positive series) before the fit and reseasonalised after; a shorter
    series is fitted plain, as a decomposition needs two full seasons. The
    test is statsmodels' 90% autocorrelation test, seasonal when
    ``n r_m^2 / (1 + sum_{k<m} r_k^2) > 1.645^2``; ``thetaf``'s has
    ``2 sum_{k<m} r_k^2`` and tests only series longer than two seasons,
    so statsmodels calls more short series seasonal. A constant series is
    forecast as that constant, as ``thetaf`` does (statsmodels' trend fit
    takes a constant series for its intercept column and fits a slope to
    nothing).

    Parameters
    ----------
    season_length : int, default=1
        ``m``, the number of steps in a season.
    theta : float, default=2.0
        The weight of the SES line against the trend line; 2 is the
        standard method (the M3 competition's winner).

    Attributes
    ----------
    results_ : statsmodels ThetaModelResults or None
        The fit; None for a constant series.
    constant_ : float or None
        The value of a constant series, its forecast; None otherwise.
    deseasonalize_ : bool
        Whether the seasonality test (and adjustment) was applied.
    """

    def __init__(self, season_length=1, theta=2.0):
        self.season_length = season_length
        self.theta = theta

    def fit(self, y, X=None):
        """Fit the Theta method to ``y`` (1-D array-like); ``X`` is ignored."""
        from statsmodels.tsa.forecasting.theta import ThetaModel

        owner = type(self).__name__
        m = check_int(self.season_length, "season_length", owner, minimum=1)
        check_float(self.theta, "theta", owner, low=1.0)
        values = _check_series(y, owner, 4)
        self.constant_ = values[0] if np.all(values == values[0]) else None
        if self.constant_ is not None:
            self.deseasonalize_, self.results_ = False, None
            return self
        self.deseasonalize_ = m > 1 and len(values) >= 2 * m
        model = ThetaModel(values, period=m, deseasonalize=self.deseasonalize_)
        self.results_ = model.fit()
        return self

    def predict(self, horizon):
        """Return the next ``horizon`` values, an ndarray of shape ``(horizon,)``."""
        check_is_fitted(self)
        horizon = check_int(horizon, "horizon", type(self).__name__, minimum=1)
        if self.constant_ is not None:
            return np.full(horizon, self.constant_, dtype=np.float64)
        forecast = self.results_.forecast(horizon, theta=float(self.theta))
        return np.asarray(forecast, dtype=np.float64)


# ---------------------------------------------------------------------------- classification


def dtw_distances(A, B):
    """Dynamic time warping distances between every sequence of ``A`` and of ``B``.

    The multivariate "dependent" DTW of the UEA archive: the local cost is the
    squared Euclidean distance between two steps (all channels at once), the
    warping window is unconstrained, and the distance is the cost of the
    cheapest path from the first steps to the last (Sakoe and Chiba 1978,
    "Dynamic programming algorithm optimization for spoken word recognition",
    IEEE Trans. ASSP 26(1), eq. 17 with symmetric steps of weight 1).

    Parameters
    ----------
    A, B : array-like or list of array-like
        Sequences as accepted by :func:`seqkit._validation.check_sequences`:
        a 3-D array ``(batch, timesteps, features)`` or a list of 2-D
        ``(timesteps, features)`` arrays of any lengths, with the same
        number of features.

    Returns
    -------
    ndarray of shape (len(A), len(B))
        The summed squared distances along the cheapest path (the square of
        what ``dtaidistance`` reports).

    Raises
    ------
    InvalidInputError
        If ``A`` or ``B`` is not a set of numeric sequences, or their
        numbers of features differ.

    Notes
    -----
    Computed by ``dtaidistance`` (Meert et al., its C library, one OpenMP
    thread per core) on each sequence's real steps only, so ragged sets cost
    what their lengths cost, not the longest one's.
    """
    a = check_sequences(A, "A", "dtw_distances", dtype=np.float64)
    b = check_sequences(B, "B", "dtw_distances", n_features=a.values.shape[2], dtype=np.float64)
    series = [np.ascontiguousarray(values[:length]) for sequences in (a, b)
              for values, length in zip(sequences.values, sequences.lengths)]
    n_a = len(a.values)
    # Only the A-by-B block, as one flat row-major array ("compact"): no n x n matrix.
    distances = dtw_ndim.distance_matrix_fast(
        series, block=((0, n_a), (n_a, len(series))), compact=True, parallel=True)
    return np.square(np.asarray(distances)).reshape(n_a, len(b.values))


class NearestNeighborDTWClassifier(ClassifierMixin, BaseEstimator):
    """1-nearest-neighbour classifier under dynamic time warping (:func:`dtw_distances`).

    The reference baseline of the UEA multivariate archive ("DTW_D", full
    window): on the official splits it scores 0.949 on JapaneseVowels and
    0.975 on BasicMotions.

    Attributes
    ----------
    classes_ : ndarray
        The class labels seen in ``fit``.
    n_features_in_ : int
        The number of channels of the training sequences.
    """

    def fit(self, X, y):
        """Store the training sequences ``X`` (3-D array or list of 2-D arrays) and labels ``y``."""
        sequences = check_sequences(X, "X", type(self).__name__)
        labels = np.asarray(y)
        check_same_length(len(sequences.values), len(labels))
        self.X_ = sequences.like_input(sequences.values)
        self.y_ = labels
        self.classes_ = np.unique(labels)
        self.n_features_in_ = sequences.values.shape[2]
        return self

    def predict(self, X):
        """Return the label of the nearest training sequence of each sequence of ``X``."""
        check_is_fitted(self)
        distances = dtw_distances(X, self.X_)
        return self.y_[np.argmin(distances, axis=1)]


# ---------------------------------------------------------------------------- tagging


def _check_labels(lengths, y):
    """Return ``y`` as lists of str after checking it has one label per step."""
    check_same_length(len(lengths), len(y))
    for i, (length, labels) in enumerate(zip(lengths, y)):
        if length != len(labels):
            raise InvalidInputError(
                f"X[{i}] and y[{i}] must have the same length. Got {length} and {len(labels)}."
            )
    return [[str(label) for label in labels] for labels in y]


class MostFrequentTagTagger(BaseEstimator):
    """Tag each token with its most frequent training tag.

    Tokens never seen in training get the most frequent tag overall (``"O"``
    in named-entity data).

    Attributes
    ----------
    tag_of_ : dict
        Token -> its most frequent tag (ties: the tag seen first).
    default_tag_ : str
        The most frequent tag overall.
    """

    def fit(self, X, y):
        """Count tags per token; ``X`` is a list of token lists, ``y`` the tag lists."""
        tokens = check_token_sequences(X, "X", type(self).__name__)
        tags = _check_labels([len(sentence) for sentence in tokens], y)
        counts = {}
        for token, tag in zip(itertools.chain(*tokens), itertools.chain(*tags)):
            counts.setdefault(token, Counter())[tag] += 1
        self.tag_of_ = {token: c.most_common(1)[0][0] for token, c in counts.items()}
        self.default_tag_ = Counter(itertools.chain(*tags)).most_common(1)[0][0]
        return self

    def predict(self, X):
        """Return a list of tag lists, one tag per token of ``X``."""
        check_is_fitted(self)
        tokens = check_token_sequences(X, "X", type(self).__name__)
        return [[self.tag_of_.get(t, self.default_tag_) for t in sentence] for sentence in tokens]


def _char_classes(token):
    """Unicode script of each character, runs collapsed: ``"東京タワ"`` -> ``"CJK+KATAKANA"``."""
    names = (unicodedata.name(ch, "OTHER").split()[0] for ch in token)
    return "+".join(name for name, _ in itertools.groupby(names))


def _token_features(token):
    return {
        "word": token,
        "prefix1": token[:1],
        "suffix1": token[-1:],
        "suffix2": token[-2:],
        "classes": _char_classes(token),
        "length": str(min(len(token), 5)),
    }


def _sentence_features(tokens):
    """crfsuite feature dicts of each token: itself and its neighbours within two steps."""
    own = [_token_features(token) for token in tokens]
    features = []
    for t in range(len(tokens)):
        step = {"bias": 1.0}
        for offset in (-2, -1, 0, 1, 2):
            if 0 <= t + offset < len(tokens):
                keys = own[t + offset] if offset in (-1, 0, 1) else {"word": tokens[t + offset]}
                step.update({f"{offset}:{k}={v}": 1.0 for k, v in keys.items()})
            else:
                step[f"{offset}:pad"] = 1.0
        features.append(step)
    return features


def _window_statistics(values, half_width=5):
    """Each step's values, and their mean and standard deviation over a window around it.

    Parameters
    ----------
    values : ndarray of shape (timesteps, channels)
    half_width : int
        The window holds the steps within ``half_width`` of a step (fewer at the ends).

    Returns
    -------
    x, mean, std : ndarrays of shape (timesteps, channels)
    """
    n = len(values)
    starts = np.clip(np.arange(n) - half_width, 0, n)
    stops = np.clip(np.arange(n) + half_width + 1, 0, n)
    sums = np.vstack([np.zeros(values.shape[1]), np.cumsum(values, axis=0)])
    squares = np.vstack([np.zeros(values.shape[1]), np.cumsum(values**2, axis=0)])
    counts = (stops - starts)[:, None]
    mean = (sums[stops] - sums[starts]) / counts
    std = np.sqrt(np.maximum((squares[stops] - squares[starts]) / counts - mean**2, 0.0))
    return values, mean, std


def _numeric_features(values, half_width=5):
    """crfsuite features of each step of a ``(timesteps, channels)`` array.

    The values and window statistics of :func:`_window_statistics`, by name.
    """
    x, mean, std = _window_statistics(values, half_width)
    return [
        {"bias": 1.0, **{f"{kind}{c}": float(v) for kind, row in (("x", x), ("mean", m), ("std", s))
                         for c, v in enumerate(row)}}
        for x, m, s in zip(x, mean, std)
    ]


def _numeric_steps(X, owner, n_features=None):
    """The unpadded ``(timesteps, channels)`` float64 arrays of numeric sequences ``X``."""
    sequences = check_sequences(X, "X", owner, n_features=n_features)
    return [
        values[:length].astype(np.float64)
        for values, length in zip(sequences.values, sequences.lengths)
    ]


def _crf_inputs(X, owner):
    """Feature dicts for token sequences (lists of str) or numeric sequences."""
    first = X[0] if isinstance(X, (list, tuple)) and X else None
    if isinstance(first, (list, tuple)) and first and isinstance(first[0], str):
        return [_sentence_features(tokens) for tokens in check_token_sequences(X, "X", owner)]
    return [_numeric_features(values) for values in _numeric_steps(X, owner)]


class CRFTagger(BaseEstimator):
    """Linear-chain CRF over hand-made step features (``sklearn-crfsuite``).

    For token sequences, the features of a token are its surface form, first
    character, last one and two characters, the Unicode scripts of its
    characters (kanji, hiragana, katakana, digit, Latin...) and its length,
    the same for the previous and next token, and the surface forms two
    steps away. For numeric sequences ``(timesteps, channels)``, they are
    each channel's value and its mean and standard deviation over the 11
    steps around it. Trained with L-BFGS and elastic-net penalties.

    Parameters
    ----------
    c1 : float, default=0.1
        L1 penalty.
    c2 : float, default=0.1
        L2 penalty.
    max_iterations : int, default=200
        L-BFGS iterations.

    Attributes
    ----------
    crf_ : sklearn_crfsuite.CRF
        The fitted model.
    """

    def __init__(self, c1=0.1, c2=0.1, max_iterations=200):
        self.c1 = c1
        self.c2 = c2
        self.max_iterations = max_iterations

    def fit(self, X, y):
        """Fit on sequences ``X`` (token lists, or numeric arrays) and their label lists ``y``."""
        import sklearn_crfsuite

        owner = type(self).__name__
        features = _crf_inputs(X, owner)
        labels = _check_labels([len(steps) for steps in features], y)
        self.crf_ = sklearn_crfsuite.CRF(
            algorithm="lbfgs",
            c1=check_float(self.c1, "c1", owner, low=0.0),
            c2=check_float(self.c2, "c2", owner, low=0.0),
            max_iterations=check_int(self.max_iterations, "max_iterations", owner, minimum=1),
            all_possible_transitions=True,
        )
        self.crf_.fit(features, labels)
        return self

    def predict(self, X):
        """Return a list of label lists, one label per step of ``X``."""
        check_is_fitted(self)
        return [list(labels) for labels in self.crf_.predict(_crf_inputs(X, type(self).__name__))]


class RandomForestStepTagger(BaseEstimator):
    """Label each step of numeric sequences with a random forest on windowed statistics.

    Every step is one sample, described as :class:`CRFTagger` describes
    numeric steps: each channel's value and its mean and standard deviation
    over the ``2 * half_width + 1`` steps around it. Unlike the CRF, the
    steps are labelled independently, so this measures what the windowed
    features alone carry: the sliding-window classifier of activity
    recognition (Bulling, Blanke and Schiele, 2014, "A tutorial on human
    activity recognition using body-worn inertial sensors", ACM Computing
    Surveys 46(3)).

    Parameters
    ----------
    n_estimators : int, default=100
        Trees of the forest.
    half_width : int, default=5
        Steps on each side of a step in its window.
    random_state : int, RandomState or None, default=None
        Seeds the forest.

    Attributes
    ----------
    forest_ : sklearn.ensemble.RandomForestClassifier
        The fitted forest.
    classes_ : ndarray
        The labels seen in ``fit`` (as str).
    n_features_in_ : int
        The number of channels of the training sequences.
    """

    def __init__(self, n_estimators=100, half_width=5, random_state=None):
        self.n_estimators = n_estimators
        self.half_width = half_width
        self.random_state = random_state

    def _steps(self, X, n_features=None):
        """One row of features per step of ``X``, and each sequence's length."""
        sequences = _numeric_steps(X, type(self).__name__, n_features)
        rows = [np.hstack(_window_statistics(values, self.half_width)) for values in sequences]
        return np.vstack(rows), [len(values) for values in sequences]

    def fit(self, X, y):
        """Fit on numeric sequences ``X`` (3-D array or list of 2-D arrays), label lists ``y``."""
        from sklearn.ensemble import RandomForestClassifier

        owner = type(self).__name__
        n_estimators = check_int(self.n_estimators, "n_estimators", owner, minimum=1)
        check_int(self.half_width, "half_width", owner, minimum=0)
        features, lengths = self._steps(X)
        labels = np.concatenate(_check_labels(lengths, y))
        self.forest_ = RandomForestClassifier(
            n_estimators=n_estimators, random_state=self.random_state
        ).fit(features, labels)
        self.classes_ = self.forest_.classes_
        self.n_features_in_ = features.shape[1] // 3
        return self

    def predict(self, X):
        """Return a list of label lists, one label per step of ``X``."""
        check_is_fitted(self)
        features, lengths = self._steps(X, self.n_features_in_)
        labels = self.forest_.predict(features).tolist()
        bounds = np.cumsum([0, *lengths])
        return [labels[start:stop] for start, stop in zip(bounds[:-1], bounds[1:])]
