"""What a fitted estimator serves: the description :mod:`seqkit.export` builds graphs from.

An estimator describes itself with a :class:`ServingSpec` (its
``serving_spec()`` method); the exporter reads the description and never
imports an estimator class, so the flow runs one way: estimators, then export.
"""

import dataclasses
import typing

KINDS = ("classifier", "tagger", "forecaster")
"""The kinds of model an export can be."""


@dataclasses.dataclass(frozen=True)
class ForecastSpec:
    """How a forecaster turns a history into a network input and a forecast back.

    Attributes
    ----------
    lookback : int
        Steps of history the network reads.
    horizon : int
        Steps it forecasts.
    n_targets : int
        Values per step of the series.
    n_covariates : int
        Known covariates per step (0: none).
    window_scaling : bool
        Each window is scaled by its last value and its typical size
        (:func:`seqkit.preprocessing.window_affine` with ``window_rule``), and
        forecast relative to its seasonal naive forecast of ``season_length``
        (:func:`seqkit.preprocessing.seasonal_offset`); otherwise scaled by
        ``target_scaling``.
    target_scaling : tuple of ndarray
        ``(mean, scale)`` of the targets, each ``(n_targets,)``.
    covariate_scaling : tuple of ndarray or None
        ``(mean, scale)`` of the covariates, each ``(n_covariates,)``.
    quantiles : tuple of float or None
        The quantile levels the network forecasts, increasing, 0.5 among
        them: its outputs are raw quantiles, made monotone by
        :func:`seqkit.quantiles.monotone_quantiles`. ``None``: point forecasts.
    window_rule : {"step", "spread"}
        The ``rule`` of :func:`seqkit.preprocessing.window_affine`.
    season_length : int
        The season of the seasonal naive forecast that window scaling
        forecasts relative to (1: the last value, as a forecaster with
        ``relative_to="last"`` gives it).
    """

    lookback: int
    horizon: int
    n_targets: int
    n_covariates: int
    window_scaling: bool
    target_scaling: tuple
    covariate_scaling: tuple | None = None
    quantiles: tuple | None = None
    window_rule: str = "step"
    season_length: int = 1


@dataclasses.dataclass(frozen=True)
class ServingSpec:
    """The description of a fitted estimator that an export is built from.

    Attributes
    ----------
    kind : {"classifier", "tagger", "forecaster"}
        Which signatures the export has (see :mod:`seqkit.export`).
    network : keras.Model
        The trained network, built by :mod:`seqkit.networks`.
    n_features : int or None
        Features per step of numeric input; ``None`` for token input.
    feature_names : tuple of str or None
        The features' column names, when the model was fit on DataFrames
        (its ``feature_names_in_``); ``None`` otherwise.
    vocabulary : dict of str to int or None
        Token ids of a network fit on tokens (:class:`seqkit.preprocessing.Vocabulary`).
    subword_buckets : int or None
        Hash buckets of the sub-word features the network takes
        (:mod:`seqkit.subwords`); ``None`` when it takes none.
    scaling : tuple of ndarray or None
        ``(mean, scale)`` that standardise numeric input, each ``(n_features,)``.
    classes : tuple of str or None
        The labels, in the order of the network's outputs.
    decoder : keras.layers.Layer or None
        A layer with ``decode(scores, mask)`` and ``marginals(scores, mask)``
        that turns per-step scores into labels (the tagger's linear-chain CRF).
    forecast : ForecastSpec or None
        The forecaster's windows and scales.
    """

    kind: str
    network: typing.Any
    n_features: int | None
    vocabulary: dict | None = None
    subword_buckets: int | None = None
    scaling: tuple | None = None
    classes: tuple | None = None
    decoder: typing.Any = None
    forecast: ForecastSpec | None = None
    feature_names: tuple | None = None

    @property
    def tokens(self):
        """Whether the model takes token sequences rather than numeric ones."""
        return self.vocabulary is not None
