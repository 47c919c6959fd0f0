"""The signatures of a forecaster: forecasts from histories, quantiles from a quantile
forecaster, and ``step`` where it is defined."""

import tensorflow as tf

from seqkit import padding, preprocessing
from seqkit.export.graph import Graph, lengths
from seqkit.quantiles import MEDIAN, monotone_quantiles


class ForecasterGraph(Graph):
    """``serving_default`` reads the last ``lookback`` steps of each history (a shorter one
    padded at the start); ``step`` streams."""

    def __init__(self, spec):
        super().__init__(spec)
        self.forecast_spec = spec.forecast
        self.n_features = spec.forecast.n_targets
        self.n_covariates = spec.forecast.n_covariates

    @property
    def streaming(self):
        return (super().streaming and not self.forecast_spec.window_scaling
                and not self.n_covariates)

    def _unscale(self, output, loc, scale, offset=0.0):
        """Point forecasts ``(batch, horizon, targets)`` on the original scale: the network's
        outputs, or the median of a quantile forecaster's; ``offset`` (the seasonal naive
        forecast less the last value, or 0) is added."""
        f = self.forecast_spec
        if f.quantiles is not None:
            return self._quantiles(output, loc, scale, offset)[..., f.quantiles.index(MEDIAN)]
        output = tf.reshape(tf.cast(output, tf.float64), [-1, f.horizon, f.n_targets])
        return preprocessing.unstandardize(output, loc, scale) + offset

    def _quantiles(self, output, loc, scale, offset):
        """Quantiles ``(batch, horizon, targets, levels)`` on the original scale, never
        crossing (:func:`seqkit.quantiles.monotone_quantiles`)."""
        f = self.forecast_spec
        output = tf.reshape(tf.cast(output, tf.float64),
                            [-1, f.horizon, f.n_targets, len(f.quantiles)])
        return preprocessing.unstandardize(monotone_quantiles(output), loc[..., None],
                                           scale[..., None]) + offset[..., None]

    def _windows(self, history, covariates):
        """The last ``lookback`` real steps of each history (and the covariates around them),
        padded at the start with NaN steps where a history is shorter, as ``predict`` pads
        them (the network masks such steps)."""
        f = self.forecast_spec
        history = padding.check_padded(history, "history")
        n = lengths(padding.real_steps(history))
        if covariates is not None:
            covariates = padding.check_padded(covariates, "covariates")
            check = tf.debugging.assert_equal(
                lengths(padding.real_steps(covariates)), n + f.horizon,
                message=f"The covariates must cover each history's steps, then the "
                        f"horizon={f.horizon} steps forecast.",
            )
            with tf.control_dependencies([check]):
                n = tf.identity(n)
        # After lookback NaN steps in front, the last lookback real steps start at n.
        window = tf.gather(_pad_start(history, f.lookback), n[:, None] + tf.range(f.lookback),
                           batch_dims=1)
        if covariates is None:
            return tf.cast(window, tf.float64), None
        block = tf.gather(_pad_start(covariates, f.lookback),
                          n[:, None] + tf.range(f.lookback + f.horizon), batch_dims=1)
        return (tf.cast(window, tf.float64),
                preprocessing.standardize(tf.cast(block, tf.float64), *f.covariate_scaling))

    def forecast(self, history, covariates=None):
        return {"forecasts": self._unscale(*self._network_output(history, covariates))}

    def forecast_quantiles(self, history, covariates=None):
        return {"quantiles": self._quantiles(*self._network_output(history, covariates))}

    def _network_output(self, history, covariates):
        """The network's output for each history, and the ``(loc, scale, offset)`` that unscale
        it."""
        f = self.forecast_spec
        window, block = self._windows(history, covariates)
        if f.window_scaling:
            loc, scale = preprocessing.window_affine(window, f.window_rule)
            offset = preprocessing.seasonal_offset(window, f.season_length, f.horizon)
        else:
            (loc, scale), offset = f.target_scaling, tf.constant(0.0, tf.float64)
        sequence = preprocessing.standardize(window, loc, scale)
        if block is None:
            output = self.network(tf.cast(sequence, tf.float32), training=False)
        else:
            sequence = tf.concat([sequence, block[:, : f.lookback]], axis=2)
            future = tf.reshape(block[:, f.lookback :], [-1, f.horizon * self.n_covariates])
            output = self.network([tf.cast(sequence, tf.float32), tf.cast(future, tf.float32)],
                                  training=False)
        return output, loc, scale, offset

    def endpoints(self):
        inputs = [self.input_spec("history")]
        if self.n_covariates:
            inputs.append(self.input_spec("covariates", width=self.n_covariates))
        endpoints = {"serving_default": (self.forecast, inputs)}
        if self.forecast_spec.quantiles is not None:
            endpoints["predict_quantiles"] = (self.forecast_quantiles, inputs)
        if self.streaming:
            endpoints["step"] = (self.step, [self.input_spec(step=True), self.state_specs()])
        return endpoints

    def step(self, x, states):
        mean, scale = self.forecast_spec.target_scaling
        x = tf.cast(preprocessing.standardize(tf.cast(x, tf.float64), mean, scale), tf.float32)
        output, new, _ = self.advance(x, states)
        return {"forecasts": self._unscale(output, mean, scale), **new}

    def manifest(self):
        f = self.forecast_spec
        manifest = {**super().manifest(), "lookback": f.lookback, "horizon": f.horizon,
                    "n_covariates": self.n_covariates}
        if f.quantiles is not None:
            manifest["quantiles"] = list(f.quantiles)
        return manifest


def _pad_start(values, steps):
    """``values`` ``(batch, time, features)`` after ``steps`` NaN steps."""
    shape = tf.concat([tf.shape(values)[:1], [steps], tf.shape(values)[2:]], 0)
    return tf.concat([tf.fill(shape, tf.constant(float("nan"), values.dtype)), values], axis=1)
