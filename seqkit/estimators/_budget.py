"""The ``"auto"`` training budget of the estimators: batch size, epochs and validation split
chosen from the number of training samples.

A budget counted in epochs means very different training on 20 sequences and on
20,000: 100 epochs of batch 32 are 100 optimizer updates on the first and 62,500
on the second. ``"auto"`` aims at a number of optimizer updates instead, with a
batch small enough that a small data set gets many of them, and holds data out for
early stopping only where there are enough samples for the validation loss to mean
something. The constants were chosen on the classification, forecasting and tagging
sets of ``benchmarks/accuracy.py`` (see the README's accuracy tables).
"""

import math
from dataclasses import dataclass

from seqkit._validation import check_float, check_int

AUTO = "auto"
UPDATES = 2000
"""Optimizer updates an ``"auto"`` fit aims at (before early stopping ends it)."""
EPOCH_RANGE = (5, 1000)
"""The fewest and most epochs ``epochs="auto"`` gives, whatever the data size. With at most
500 epochs the suite's sets of 16 to 24 training series had only 1,000 to 1,500 updates:
DiatomSizeReduction 0.949 and BeetleFly 0.717 then, 0.962 and 0.733 with 1,000 (seeds 0-2);
FaceFour and Chinatown the same on the mean."""
BATCH_RANGE = (8, 32)
"""The smallest and largest batch ``batch_size="auto"`` gives."""
BATCHES_PER_EPOCH = 16
"""``batch_size="auto"`` aims at this many batches per epoch within :data:`BATCH_RANGE`."""
MIN_VALIDATION_SAMPLES = 200
"""``validation_fraction="auto"`` holds out 10% from this many training samples on."""
AUTO_VALIDATION_FRACTION = 0.1
EMA_MOMENTUM = 0.99
"""Momentum of the moving average of the weights that a fit with nothing held out ends on
(Polyak averaging; Keras' default ``ema_momentum``): about the last 100 updates weigh in."""
EMA_MIN_UPDATES = 500
"""The fewest optimizer updates of a fit that ends on the moving average. Keras' average
starts at the weights after the first update, without a bias correction, so those keep a
weight of ``EMA_MOMENTUM ** (updates - 1)``: under 1% from 460 updates on."""


@dataclass(frozen=True)
class Budget:
    """What an estimator's fit trains with, once ``"auto"`` values are resolved.

    Attributes
    ----------
    batch_size : int
    epochs : int
        The most epochs (early stopping may end the fit sooner).
    validation_fraction : float
        Fraction of the samples held out; 0 means early stopping and the
        learning-rate schedule watch the training loss.
    n_samples : int
        The samples given to fit, held-out ones included.
    n_validation : int
        Samples held out apart from ``n_samples`` (the forecaster's latest
        windows of each series), watched as the held-out fraction would be.
    """

    batch_size: int
    epochs: int
    validation_fraction: float
    n_samples: int
    n_validation: int = 0

    @property
    def batches_per_epoch(self):
        """Optimizer updates per epoch."""
        n_train = self.n_samples - int(self.n_samples * self.validation_fraction)
        return math.ceil(max(n_train, 1) / self.batch_size)

    @property
    def averages_weights(self):
        """Whether the fit ends on the moving average of its weights: nothing is held out
        (so there is no best epoch to keep) and it runs at least :data:`EMA_MIN_UPDATES`
        updates."""
        return (not self.validation_fraction and not self.n_validation
                and self.updates >= EMA_MIN_UPDATES)

    @property
    def updates(self):
        """The most optimizer updates of the fit (early stopping may end it sooner)."""
        return self.epochs * self.batches_per_epoch

    def patience(self, n_iter_no_change):
        """Epochs without improvement before stopping: ``n_iter_no_change`` epochs of at
        least :data:`BATCHES_PER_EPOCH` batches. A small data set's epochs are a few
        updates each, and so many of them would stop a fit that has barely started."""
        return max(n_iter_no_change,
                   math.ceil(n_iter_no_change * BATCHES_PER_EPOCH / self.batches_per_epoch))

    def describe(self):
        """One sentence for the fit's log: the budget, and which loss it watches."""
        if self.validation_fraction:
            held = f"{self.validation_fraction:g} of them held out for validation"
        elif self.n_validation:
            held = f"{self.n_validation} more held out for validation"
        elif self.averages_weights:
            held = ("none held out (watching the training loss, and ending on the moving "
                    "average of the weights)")
        else:
            held = "none held out (watching the training loss)"
        return (f"{self.n_samples} training samples, {held}; batch size {self.batch_size}, "
                f"at most {self.epochs} epochs "
                f"({self.updates} optimizer updates)")


def check_auto_int(value, name, owner):
    """``value`` unless it is ``"auto"``: an int >= 1."""
    if value == AUTO:
        return value
    return check_int(value, name, owner, minimum=1, or_auto=True)


def check_auto_fraction(value, name, owner):
    """``value`` unless it is ``"auto"``: a float in [0, 1)."""
    if value == AUTO:
        return value
    return check_float(value, name, owner, low=0.0, high=1.0, high_inclusive=False,
                       or_auto=True)


def resolve(n_samples, *, batch_size, epochs, validation_fraction, n_validation=0):
    """The :class:`Budget` of a fit on ``n_samples`` training samples.

    Parameters
    ----------
    n_samples : int
        Sequences (classification, tagging) or windows (forecasting) given to fit.
    batch_size, epochs, validation_fraction : int, int, float or "auto"
        The estimator's parameters, checked. ``"auto"``: validation 0.1 from
        :data:`MIN_VALIDATION_SAMPLES` samples on, else 0; a batch giving about
        :data:`BATCHES_PER_EPOCH` batches per epoch, clipped to
        :data:`BATCH_RANGE` (and to the training samples); epochs for about
        :data:`UPDATES` optimizer updates, clipped to :data:`EPOCH_RANGE`.
    n_validation : int, default 0
        Samples held out apart from ``n_samples`` (see :class:`Budget`).

    Returns
    -------
    Budget
    """
    if validation_fraction == AUTO:
        validation_fraction = (AUTO_VALIDATION_FRACTION if n_samples >= MIN_VALIDATION_SAMPLES
                               else 0.0)
    n_train = max(n_samples - int(n_samples * validation_fraction), 1)
    if batch_size == AUTO:
        low, high = BATCH_RANGE
        batch_size = min(max(n_train // BATCHES_PER_EPOCH, low), high, n_train)
    if epochs == AUTO:
        low, high = EPOCH_RANGE
        epochs = min(max(math.ceil(UPDATES / math.ceil(n_train / batch_size)), low), high)
    return Budget(batch_size=batch_size, epochs=epochs, validation_fraction=validation_fraction,
                  n_samples=n_samples, n_validation=n_validation)
