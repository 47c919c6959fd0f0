"""Builders for the usage patterns of recurrent networks, each returning a ``keras.Model``.

* many-to-one (sequence classification, regression): :func:`build_many_to_one`,
  output ``(batch, n_outputs)``;
* synchronised many-to-many (tagging): :func:`build_many_to_many`, output
  ``(batch, time, n_outputs)``;
* one-to-many (generation, each output fed back): :func:`build_one_to_many`,
  output ``(batch, length, n_outputs)``;
* encoder-decoder (sequence-to-sequence, multi-step forecasting):
  :func:`build_encoder_decoder` for training with teacher forcing
  (:func:`teacher_forcing_inputs`), :func:`autoregressive_model` and
  :func:`predict_autoregressive` for inference with the model's own outputs
  fed back; output ``(batch, horizon, n_targets)``.

Every builder takes a cell name from :data:`CELL_NAMES`, a number of stacked
layers (with ``Dropout`` between them) and, where time runs both ways,
``bidirectional``.

Variable-length input: numeric sequences are padded with NaN (a step whose
features are all NaN is padding, see :class:`PaddingMask`); token sequences
are padded with id 0. The Keras mask then makes every recurrent layer skip the
padded steps, so a padded batch gives the same numbers as each sequence alone,
and per-step outputs at padded steps count in no loss or metric. Pad the
*targets* of padded steps with any finite value (NaN times a zero weight is
still NaN).

States in and out: :func:`stateful_twin` turns a many-to-one or many-to-many
network into its twin with the same layers, which takes initial states and
returns the final states of every recurrent layer (named as
:func:`recurrent_states` lists them). Truncated backpropagation through time
(:mod:`seqkit.training`) carries states from chunk to chunk with it, a
streaming export from step to step.

Probes: :func:`probed_twin` turns such a network into its twin with a probe
added to the hidden state of its first recurrent layer at every step, whose
gradient is the error signal backpropagation through time carries back to
each step (:func:`seqkit.training.gradient_norms_over_time`).

Modules: :mod:`~seqkit.networks.masking` (padding masks),
:mod:`~seqkit.networks.recurrent` (layers by cell name, state sizes, stacks),
:mod:`~seqkit.networks.sequence` (many-to-one, many-to-many),
:mod:`~seqkit.networks.feedback` (one-to-many, :class:`FeedbackRNN`),
:mod:`~seqkit.networks.encoder_decoder` (sequence-to-sequence, teacher forcing,
autoregressive inference), :mod:`~seqkit.networks.stateful` (the stateful twin),
:mod:`~seqkit.networks.probed` (the probed twin).
"""

from seqkit.networks.encoder_decoder import (
    autoregressive_model,
    build_encoder_decoder,
    predict_autoregressive,
    teacher_forcing_inputs,
)
from seqkit.networks.feedback import FeedbackRNN, build_one_to_many
from seqkit.networks.masking import PaddingMask, TokenMask
from seqkit.networks.probed import probed_twin
from seqkit.networks.recurrent import CELL_NAMES, cell_state_sizes, recurrent_layer
from seqkit.networks.sequence import build_many_to_many, build_many_to_one
from seqkit.networks.stateful import recurrent_states, stateful_twin

__all__ = [
    "CELL_NAMES",
    "FeedbackRNN",
    "PaddingMask",
    "TokenMask",
    "autoregressive_model",
    "build_encoder_decoder",
    "build_many_to_many",
    "build_many_to_one",
    "build_one_to_many",
    "cell_state_sizes",
    "predict_autoregressive",
    "probed_twin",
    "recurrent_layer",
    "recurrent_states",
    "stateful_twin",
    "teacher_forcing_inputs",
]
