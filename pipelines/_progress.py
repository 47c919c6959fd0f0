"""What the pipelines watch while a fit runs: a progress line now and then
(:class:`EpochProgress`) and the weights it started from (:class:`InitialWeights`)."""

import time

import keras


class EpochProgress(keras.callbacks.Callback):
    """Report the epoch and its metrics at the end of an epoch, at most every ``every`` seconds.

    A fit shorter than ``every`` seconds reports nothing; the last epoch is
    left to whoever reports the end of the fit.

    Parameters
    ----------
    report : callable
        Takes the line, e.g. :meth:`pipelines._job.Job.progress`.
    every : float, default 10
        Seconds between two lines.

    Notes
    -----
    The fit's number of epochs (for ``epoch 12/40``) is the one the training
    loop gives its callbacks (``params["epochs"]``): an estimator's
    ``epochs="auto"`` is resolved only inside ``fit``.
    """

    def __init__(self, report, every=10.0):
        super().__init__()
        self.report, self.every = report, every
        self._last = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        epochs = self.params.get("epochs")
        if now - self._last < self.every or epoch + 1 >= epochs:
            return
        self._last = now
        metrics = ", ".join(f"{name} {value:.4g}" for name, value in (logs or {}).items())
        self.report(f"epoch {epoch + 1}/{epochs}" + (f": {metrics}" if metrics else ""))


class InitialWeights(keras.callbacks.Callback):
    """Keep a copy of the network's weights as training begins (``weights``, else None)."""

    def __init__(self):
        super().__init__()
        self.weights = None

    def on_train_begin(self, logs=None):
        self.weights = self.model.get_weights()
