"""The quantile side of :class:`~seqkit.estimators.SequenceForecaster`: its loss, its outputs
and ``predict_quantiles``."""

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from seqkit._validation import check_choice
from seqkit.estimators._series import future_index
from seqkit.exceptions import InvalidParameterError
from seqkit.preprocessing import unstandardize
from seqkit.quantiles import (
    MEDIAN,
    MaskedLoss,
    PinballLoss,
    check_quantiles,
    monotone_quantiles,
)

LOSSES = ("mae", "mse", "quantile")


class QuantileForecasts:
    """Quantile forecasts for a forecaster fit with ``loss="quantile"``.

    The network gives one output per forecast value and quantile level;
    :func:`seqkit.quantiles.monotone_quantiles` makes them increase with the
    level, in training (:class:`seqkit.quantiles.PinballLoss`, Koenker &
    Bassett, 1978), in :meth:`predict_quantiles`, and in the export, so they
    never cross. ``predict`` gives the median (level 0.5, which ``quantiles``
    must hold). The network's loss is chosen here for every ``loss``, the
    point losses ``"mae"`` and ``"mse"`` included.
    """

    def _checkpoint_config(self):
        config = super()._checkpoint_config()
        if config["loss"] != "quantile":
            del config["quantiles"]  # unused
        else:
            config["quantiles"] = [float(q) for q in config["quantiles"]]
        if config["loss"] == "mse":  # as checkpoints made before quantile forecasts
            del config["loss"]
        return config

    def __setstate__(self, state):
        if "loss" not in state:  # pickled before quantile forecasts
            state = {**state, "loss": "mse", "quantiles": (0.1, 0.5, 0.9)}
            if "series_" in state:
                state["quantiles_"] = None
        super().__setstate__(state)

    def _checked_levels(self, owner):
        """The quantile levels of a ``loss="quantile"`` fit (checked), else ``None``."""
        check_choice(self.loss, "loss", owner, LOSSES)
        if self.loss != "quantile":
            return None
        return check_quantiles(self.quantiles, "quantiles", owner)

    def _network_loss(self, masked=False):
        """``(loss, outputs per forecast value)`` of the network, after ``quantiles_`` is set;
        ``masked``: a :class:`~seqkit.quantiles.MaskedLoss` for targets that may be missing."""
        if self.quantiles_ is None:
            return (MaskedLoss(point=self.loss) if masked else self.loss), 1
        loss = MaskedLoss(self.quantiles_) if masked else PinballLoss(self.quantiles_)
        return loss, len(self.quantiles_)

    def _scaled_quantiles(self, x):
        """Monotone quantiles ``(n, horizon * targets, levels)`` in the network's units."""
        raw = np.asarray(self._predict_network(x), dtype=np.float64)
        return np.asarray(monotone_quantiles(raw.reshape(len(raw), -1, len(self.quantiles_))))

    def _scaled_points(self, x):
        """Point forecasts ``(n, horizon * targets)`` in the network's units: the output of a
        point model, the median of a quantile model."""
        if getattr(self, "quantiles_", None) is None:
            return self._predict_network(x)
        return self._scaled_quantiles(x)[..., self.quantiles_.index(MEDIAN)]

    def predict_quantiles(self, quantiles=None, horizon=None, y=None, X=None):
        """Forecast quantiles of the next ``horizon`` values, on the data's original scale.

        Parameters
        ----------
        quantiles : sequence of float or None
            Levels among those fit (``quantiles_``), increasing; ``None``: all.
        horizon, y, X
            As in :meth:`predict`.

        Returns
        -------
        forecast
            In the form of the history: for a 1-D array ``(horizon,
            n_levels)``; for a 2-D array ``(horizon, targets, n_levels)``; for
            a ``pandas.Series`` a ``DataFrame`` with a column per level (the
            floats, columns named ``"quantile"``) whose index continues the
            history's; for a ``DataFrame`` the same with columns ``(target,
            level)``; a list of those for many series. Along the levels the
            values never decrease.

        Raises
        ------
        InvalidParameterError
            If the model was fit with a point loss (``"mae"`` or ``"mse"``: its
            intervals come from :meth:`predict_interval`), or ``quantiles``
            breaks the rules of :func:`seqkit.quantiles.check_quantiles` or
            holds a level the model was not fit for.
        """
        check_is_fitted(self)
        owner = f"{type(self).__name__}.predict_quantiles"
        if self.quantiles_ is None:
            raise InvalidParameterError(
                f"{owner} needs a model fit with loss='quantile'. Got a model fit with "
                f"loss={self.loss!r} (a point forecaster): use predict_interval for its "
                "conformal intervals, or fit with loss='quantile'."
            )
        levels = self.quantiles_
        if quantiles is not None:
            given = check_quantiles(quantiles, "quantiles", owner, require_median=False)
            levels = [_fitted_level(q, self.quantiles_) for q in given]
            unknown = [q for q, level in zip(given, levels) if level is None]
            if unknown:
                raise InvalidParameterError(
                    f"The 'quantiles' parameter of {owner} must name levels the model was fit "
                    f"for, {self.quantiles_}. Got {quantiles!r} instead: {unknown[0]!r} is not "
                    "one of them."
                )
        x, (loc, scale, offset), horizon, forms, many = self._forecast_inputs(
            horizon, y, X, "predict_quantiles")
        scaled = self._scaled_quantiles(x).reshape(len(forms), self.horizon, self.n_targets_, -1)
        scaled = scaled[:, :horizon][..., [self.quantiles_.index(q) for q in levels]]
        values = unstandardize(scaled, np.asarray(loc)[..., None], np.asarray(scale)[..., None])
        values = values + offset[:, :horizon, :, None]
        out = [_wrap(form, v, levels) for form, v in zip(forms, values)]
        return out if many else out[0]


def _fitted_level(level, fitted):
    """The level of ``fitted`` that ``level`` names, equal to float32 precision
    (``np.float32(0.9)`` is 0.8999999762), or None."""
    near = min(fitted, key=lambda q: abs(q - level))
    return near if abs(near - level) <= 1e-6 else None


def _wrap(form, values, levels):
    """Quantiles ``(steps, targets, levels)`` following one series, in its form."""
    if form.index is None:  # arrays: (steps, levels) for 1-D, else as they are
        return form.wrap(values)
    index = future_index(form.index, len(values))
    if form.kind == "series":
        return pd.DataFrame(values[:, 0], index=index, columns=pd.Index(levels, name="quantile"))
    columns = pd.MultiIndex.from_product([form.label, levels], names=[None, "quantile"])
    return pd.DataFrame(values.reshape(len(values), -1), index=index, columns=columns)
