"""The baselines the accuracy suite compares seqkit's default estimators against.

Classification (UCR and the bundled sets): 1-NN under Euclidean distance
(:func:`euclidean_nearest_neighbor`, series resampled to one length first)
and 1-NN under DTW (:class:`seqkit.baselines.NearestNeighborDTWClassifier`),
the two reference classifiers of the UCR archive's tables. Forecasting (per
series): seasonal naive, ETS chosen by AICc and the Theta method from
:mod:`seqkit.baselines`, run over a panel by :func:`forecast_panel` and scored
per series by :func:`panel_scores` (MASE and sMAPE from :mod:`seqkit.metrics`).
Tagging: most frequent tag and a linear-chain CRF for tokens; the CRF and a
per-step random forest for numeric steps. Tagging scores are
:func:`seqkit.metrics.token_accuracy` (part of speech) and
:func:`seqkit.metrics.entity_f1` (named entities).
"""

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import check_is_fitted

from seqkit._validation import check_choice, check_int, check_sequences
from seqkit.baselines import (
    AutoETSForecaster,
    CRFTagger,
    MostFrequentTagTagger,
    NearestNeighborDTWClassifier,
    RandomForestStepTagger,
    SeasonalNaiveForecaster,
    ThetaForecaster,
)
from seqkit.metrics import mean_absolute_scaled_error, symmetric_mean_absolute_percentage_error

__all__ = [
    "LinearResampler",
    "classification_baselines",
    "euclidean_nearest_neighbor",
    "forecast_panel",
    "forecasting_baselines",
    "panel_scores",
    "tagging_baselines",
]


class LinearResampler(TransformerMixin, BaseEstimator):
    """Resample sequences of any lengths to one length by linear interpolation.

    The UCR archive's advice for its variable-length sets (Dau et al. 2019,
    "The UCR time series archive", IEEE/CAA J. Autom. Sinica 6(6)): stretch
    each series to a common length so that Euclidean distance applies. A
    sequence already of that length is unchanged.

    Parameters
    ----------
    length : int or None, default=None
        The common length; ``None`` takes the longest training sequence.

    Attributes
    ----------
    length_ : int
        The length used.
    """

    def __init__(self, length=None):
        self.length = length

    def fit(self, X, y=None):
        """Set ``length_`` from ``X`` (a 2-D array, or a list of 1-D or 2-D arrays)."""
        owner = type(self).__name__
        length = check_int(self.length, "length", owner, minimum=1, allow_none=True)
        self.length_ = length or int(check_sequences(X, "X", owner).lengths.max())
        return self

    def transform(self, X):
        """Return ``X`` resampled, an ndarray ``(n_sequences, length_ * channels)``."""
        check_is_fitted(self)
        sequences = check_sequences(X, "X", type(self).__name__, dtype=np.float64)
        rows = [_resample(values[:n], self.length_).ravel()
                for values, n in zip(sequences.values, sequences.lengths)]
        return np.vstack(rows)


def _resample(values, length):
    """``values`` ``(timesteps, channels)`` linearly interpolated at ``length`` even points."""
    old = np.arange(len(values))
    new = np.linspace(0, len(values) - 1, length)
    return np.column_stack([np.interp(new, old, channel) for channel in values.T])


def euclidean_nearest_neighbor():
    """1-NN under Euclidean distance, after :class:`LinearResampler` (raw values, no scaling).

    Returns
    -------
    sklearn.pipeline.Pipeline
        Takes what :class:`LinearResampler` takes, ragged lists included.
    """
    return make_pipeline(LinearResampler(), KNeighborsClassifier(n_neighbors=1))


def classification_baselines():
    """Unfitted classification baselines by name: 1-NN Euclidean and 1-NN DTW (full window)."""
    return {
        "1-NN Euclidean": euclidean_nearest_neighbor(),
        "1-NN DTW": NearestNeighborDTWClassifier(),
    }


def forecasting_baselines(season_length):
    """Unfitted per-series forecasters by name: seasonal naive, ETS (AICc), Theta."""
    return {
        "seasonal naive": SeasonalNaiveForecaster(season_length=season_length),
        "ETS": AutoETSForecaster(season_length=season_length),
        "Theta": ThetaForecaster(season_length=season_length),
    }


def tagging_baselines(kind):
    """Unfitted taggers by name for ``kind`` ``"tokens"`` or ``"numeric"`` sequences."""
    check_choice(kind, "kind", "tagging_baselines", ("tokens", "numeric"))
    if kind == "tokens":
        return {"most frequent tag": MostFrequentTagTagger(), "CRF": CRFTagger()}
    return {"CRF": CRFTagger(), "random forest": RandomForestStepTagger(random_state=0)}


def forecast_panel(forecaster, train, horizon, freq):
    """Fit a clone of ``forecaster`` on each series of ``train`` and forecast ``horizon`` steps.

    Parameters
    ----------
    forecaster : estimator
        A per-series forecaster: ``fit(y)`` on a 1-D array, ``predict(horizon)``.
    train : pandas.DataFrame
        Columns ``unique_id, ds, y``, sorted by ``unique_id`` then ``ds``.
    horizon : int
    freq : str
        The pandas frequency of ``ds`` (``Panel.freq``).

    Returns
    -------
    pandas.DataFrame
        Columns ``unique_id, ds, y_pred``, ``horizon`` rows per series.
    """
    horizon = check_int(horizon, "horizon", "forecast_panel", minimum=1)
    parts = []
    for unique_id, series in train.groupby("unique_id", sort=False):
        values = clone(forecaster).fit(series["y"].to_numpy()).predict(horizon)
        dates = pd.date_range(series["ds"].iloc[-1], periods=horizon + 1, freq=freq)[1:]
        parts.append(pd.DataFrame({"unique_id": unique_id, "ds": dates, "y_pred": values}))
    return pd.concat(parts, ignore_index=True)


def panel_scores(train, test, forecasts, season_length):
    """MASE and sMAPE of each series' forecast.

    Parameters
    ----------
    train, test : pandas.DataFrame
        Columns ``unique_id, ds, y`` (:func:`accuracy_data.split_panel`).
    forecasts : pandas.DataFrame
        Columns ``unique_id, ds, y_pred`` for every row of ``test``.
    season_length : int
        MASE's seasonal naive scale (``Panel.season_length``).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``unique_id``, columns ``MASE`` and ``sMAPE`` (percent);
        ``.mean()`` gives the panel's scores.
    """
    scored = test.merge(forecasts, on=["unique_id", "ds"], how="left", validate="one_to_one")
    history = dict(tuple(train.groupby("unique_id")["y"]))
    rows = {}
    for unique_id, part in scored.groupby("unique_id"):
        rows[unique_id] = {
            "MASE": mean_absolute_scaled_error(part["y"], part["y_pred"], history[unique_id],
                                               season_length=season_length),
            "sMAPE": symmetric_mean_absolute_percentage_error(part["y"], part["y_pred"]),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("unique_id")
