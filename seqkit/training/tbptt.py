"""Truncated backpropagation through time (:class:`TruncatedBPTT`).

A batch of long sequences is cut into chunks; the final states of every
recurrent layer after one chunk start the next. The chunks run through the
model's stateful twin (states in, states out), :func:`seqkit.networks.stateful_twin`.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from seqkit._validation import check_int
from seqkit.crf import find_crf
from seqkit.exceptions import InvalidInputError, InvalidParameterError
from seqkit.networks import stateful_twin
from seqkit.padding import PAD_ID, real_steps


def _recurrent_layers(model, owner):
    """The model's recurrent layers, after checking they all run forward."""
    layers = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional):
            raise InvalidParameterError(
                f"The 'model' parameter of {owner} must have only forward-running recurrent "
                f"layers for truncated BPTT. Got the Bidirectional layer {layer.name!r}."
            )
        if isinstance(layer, keras.layers.RNN):
            layers.append(layer)
    if not layers:
        raise InvalidParameterError(
            f"The 'model' parameter of {owner} must have a recurrent layer for truncated BPTT. "
            f"Got a model with layers {[layer.name for layer in model.layers]}."
        )
    return layers


def _count_real_steps(timed):
    """The number of real steps in a batch of sequences: numeric steps not all NaN, token
    ids other than :data:`seqkit.padding.PAD_ID`. The networks mask the other steps, and
    Keras divides a masked loss by the number of unmasked steps."""
    timed = np.asarray(timed)
    if timed.ndim == 2:
        return int(np.sum(timed != PAD_ID))
    return int(np.sum(real_steps(timed)))


class TruncatedBPTT:
    """Truncated backpropagation through time over chunks of ``steps`` steps.

    A batch of long sequences is cut into chunks of ``steps`` steps (the last
    one may be shorter). Chunk ``j + 1`` starts from the final states of every
    recurrent layer after chunk ``j``; chunk 1 starts from the model's own
    initial states (zeros, or those it computes from static inputs), so the
    state is reset between batches of sequences. The carried states enter a
    chunk as constants: the loss of a chunk is backpropagated through that
    chunk only, and memory grows with ``steps``, not with the sequence length.

    With per-step outputs (many-to-many) every chunk has its own loss; with one
    output per sequence (many-to-one) only the last chunk does, the earlier
    ones just carry the state forward.

    Parameters
    ----------
    model : keras.Model
        A compiled model with one output whose recurrent layers run forward and
        have ``return_state=True``: a network of
        :func:`seqkit.networks.build_many_to_one` or
        :func:`seqkit.networks.build_many_to_many` run forward (see
        :func:`seqkit.networks.stateful_twin`), built outside any
        ``tf.distribute`` strategy: truncated BPTT runs on one replica.
    steps : int
        Chunk length ``k``, ``>= 1``.

    Attributes
    ----------
    first, carried : keras.Model
        The model's stateful twins (:func:`seqkit.networks.stateful_twin`):
        ``first`` starts from the model's own initial states, ``carried`` takes
        them as extra inputs; both return the final states too. Same layers,
        same weights.
    train_chunk : callable
        ``train_chunk(inputs, y, sample_weight, states) -> (loss, states)``, one
        compiled optimisation step on a chunk (``states`` None for a first chunk).
    advance : callable
        ``advance(inputs, states) -> states``, a compiled forward pass only.

    Notes
    -----
    Inputs with a time axis (float ``(batch, time, features)``, or int token
    ids ``(batch, time)``) are cut into chunks; other inputs (static features)
    are given whole to every chunk.
    """

    def __init__(self, model, steps):
        owner = "TruncatedBPTT"
        self.model = model
        self.steps = check_int(steps, "steps", owner, minimum=1)
        if any(isinstance(w.value, tf.distribute.DistributedValues) for w in model.weights):
            raise InvalidParameterError(
                f"The 'model' parameter of {owner} must be built outside any tf.distribute "
                "strategy: truncated BPTT runs on one replica. Got a model built under "
                f"{type(model.distribute_strategy).__name__}."
            )
        layers = _recurrent_layers(model, owner)
        for layer in layers:
            if not layer.return_state:
                raise InvalidParameterError(
                    f"The 'model' parameter of {owner} must have recurrent layers with "
                    f"return_state=True for truncated BPTT (the seqkit.networks builders make "
                    f"them so). Got layer {layer.name!r} with return_state=False."
                )
        if len(model.outputs) != 1:
            raise InvalidParameterError(
                f"The 'model' parameter of {owner} must have one output for truncated BPTT. "
                f"Got {len(model.outputs)} outputs."
            )
        self.timed = [len(t.shape) == 3 or (len(t.shape) == 2 and "int" in t.dtype)
                      for t in model.inputs]
        if sum(self.timed) != 1:
            raise InvalidParameterError(
                f"The 'model' parameter of {owner} must have exactly one input with a time "
                f"axis for truncated BPTT. Got input shapes "
                f"{[tuple(t.shape) for t in model.inputs]}."
            )
        crf = find_crf(model)
        if crf is not None:
            raise InvalidParameterError(
                f"The 'model' parameter of {owner} must not end in a CRF for truncated BPTT: "
                "a CRF's loss scores each chunk as a whole sequence, from its start scores, "
                "which a chunk cut inside a label path is not (IOB2 forbids the I- tag that "
                f"starts one). Got the layer {crf.name!r}."
            )
        self.per_step = len(model.outputs[0].shape) == 3
        self.first = stateful_twin(model, states_in=False)
        self.carried = stateful_twin(model)
        self.train_chunk = tf.function(self._train_chunk, reduce_retracing=True, autograph=False)
        self.advance = tf.function(self._advance, reduce_retracing=True, autograph=False)

    def forward(self, inputs, states=None, training=False):
        """Run one chunk.

        Parameters
        ----------
        inputs : list of tensors
            The model's inputs, cut to the chunk.
        states : list of tensors or None
            The states carried from the previous chunk; None for a first chunk.
        training : bool

        Returns
        -------
        tuple
            ``(outputs, states)``: the chunk's outputs and the final states of
            every recurrent layer, gradients stopped (the chunk border).
        """
        inputs = [ops.convert_to_tensor(a) for a in inputs]
        if states is None:
            y_pred, *states = self.first(inputs, training=training)
        else:
            y_pred, *states = self.carried([*inputs, *states], training=training)
        return y_pred, [ops.stop_gradient(s) for s in states]

    def _train_chunk(self, inputs, y, sample_weight, states):
        model = self.model
        with tf.GradientTape() as tape:
            y_pred, states = self.forward(inputs, states, training=True)
            loss = model.compute_loss(y=y, y_pred=y_pred, sample_weight=sample_weight,
                                      training=True)
            # Under mixed precision the optimizer divides the gradients by its loss scale.
            scaled = model.optimizer.scale_loss(loss)
        # Weights used only before the chunk (e.g. those mapping static features to the
        # initial state, in a later chunk) get no gradient: that is the truncation.
        pairs = [(g, v) for g, v in zip(tape.gradient(scaled, model.trainable_variables),
                                        model.trainable_variables) if g is not None]
        model.optimizer.apply(*zip(*pairs))
        model.compute_metrics(None, y, y_pred, sample_weight)
        return loss, states

    def _advance(self, inputs, states):
        return self.forward(inputs, states, training=True)[1]

    def chunks(self, n_steps):
        """The ``(start, stop)`` step ranges of the chunks of a sequence of ``n_steps`` steps."""
        return [(start, min(start + self.steps, n_steps))
                for start in range(0, n_steps, self.steps)]

    def _cut(self, arrays, start, stop):
        return [a[:, start:stop] if timed else a for a, timed in zip(arrays, self.timed)]

    def train_batch(self, inputs, y, sample_weight=None):
        """One optimisation step per chunk over a batch of whole sequences.

        Parameters
        ----------
        inputs : list of arrays
            The model's inputs for the batch.
        y : array
            ``(batch, time, ...)`` per-step targets, or ``(batch, ...)`` per sequence.
        sample_weight : array or None
            ``(batch,)``, or ``(batch, time)`` for per-step outputs.

        Returns
        -------
        float
            The batch's loss as Keras reports it for whole sequences: with per-step
            outputs, the mean of the chunks' losses weighted by their numbers of
            real steps (each chunk's loss is a mean over its real steps), taken
            with each chunk's weights before its update; with one output per
            sequence, the last chunk's loss. A chunk of padding only (every
            sequence of the batch ended before it) is skipped: it has no loss and
            takes no optimisation step.
        """
        timed = inputs[self.timed.index(True)]
        ranges = self.chunks(timed.shape[1])
        states, losses, counts = None, [], []
        for j, (start, stop) in enumerate(ranges):
            count = _count_real_steps(timed[:, start:stop]) if self.per_step else 1
            if count == 0:
                continue  # all padding: no loss, and padded steps keep the states
            chunk = [tf.convert_to_tensor(a) for a in self._cut(inputs, start, stop)]
            if not self.per_step and j < len(ranges) - 1:
                states = self.advance(chunk, states)
                continue
            y_chunk, w_chunk = y, sample_weight
            if self.per_step:
                y_chunk = y[:, start:stop]
                if sample_weight is not None and np.ndim(sample_weight) == 2:
                    w_chunk = sample_weight[:, start:stop]
            loss, states = self.train_chunk(chunk, y_chunk, w_chunk, states)
            losses.append(float(loss))
            counts.append(count)
        if not losses:
            raise InvalidInputError("inputs of TruncatedBPTT.train_batch must hold a real step: "
                                    "every sequence of the batch is padding only.")
        return float(np.average(losses, weights=counts))
