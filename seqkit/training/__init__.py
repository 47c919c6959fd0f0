"""Training recurrent networks: full and truncated BPTT, safe defaults, gradient diagnostics.

* :func:`compile_model` compiles with gradient-norm clipping on by default.
* :func:`fit` trains with full backpropagation through time or, with
  ``tbptt_steps=k``, truncated BPTT (:class:`TruncatedBPTT`); it raises
  :class:`~seqkit.exceptions.TrainingDivergedError` when the loss or the weights
  become NaN or inf, can stop early on a validation split, can checkpoint every
  epoch and resume a killed run as if it had never stopped, and trains on
  several workers under a ``tf.distribute`` strategy (:mod:`seqkit.distribute`).
* :class:`SmoothedSparseCrossentropy` is the cross-entropy of integer labels
  with label smoothing, which Keras' sparse loss lacks.
* :func:`watching` adds callbacks to every fit inside a block (a progress
  line per epoch while an estimator fits).
* :func:`gradient_norms_over_time` returns ``||dLoss/dh_t||`` for every step
  ``t`` of the first recurrent layer, and :func:`plot_gradient_norms` draws it:
  vanishing or exploding gradients, seen with one's own eyes.

Truncated BPTT reads the final states of every recurrent layer, so every
recurrent layer of the model must have ``return_state=True``, as in the models
of :mod:`seqkit.networks`.

The package's modules: ``loop`` (:func:`compile_model`, :func:`fit` and its epoch
loop), ``tbptt`` (:class:`TruncatedBPTT`), ``losses``
(:class:`SmoothedSparseCrossentropy`), ``checkpoints`` (fingerprints, the
per-epoch checkpoint, :func:`checkpoint_state`), ``replicas`` (the training and
evaluation steps on every replica of a strategy) and ``diagnostics`` (the gradient
norms and their plot).
"""

from seqkit.training.checkpoints import checkpoint_state
from seqkit.training.diagnostics import gradient_norms_over_time, plot_gradient_norms
from seqkit.training.loop import compile_model, fit, watching
from seqkit.training.losses import SmoothedSparseCrossentropy
from seqkit.training.tbptt import TruncatedBPTT

__all__ = [
    "SmoothedSparseCrossentropy",
    "TruncatedBPTT",
    "checkpoint_state",
    "compile_model",
    "fit",
    "gradient_norms_over_time",
    "plot_gradient_norms",
    "watching",
]
