"""Generation with each output fed back as the next input: one-to-many networks and decoders."""

import keras
from keras import ops
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

from seqkit._validation import check_choice, check_float, check_int
from seqkit.cells._base import get_keras_object
from seqkit.exceptions import InvalidInputError, InvalidParameterError
from seqkit.networks.recurrent import (
    _cell,
    _common,
    _initial_state_layers,
    _states_from,
    cell_state_sizes,
)


class _FeedbackCell(keras.layers.Layer):
    """One step of stacked cells whose input is the previous output ``y_{t-1}`` (kept in the
    state) next to the step's own inputs; the output is ``y_t = readout(h_t)``."""

    def __init__(self, cells, readout, dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.cells = list(cells)
        self.readout = readout
        self.dropout = dropout
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.counts = [len(cell_state_sizes(c)) for c in self.cells]
        self.state_size = [s for c in self.cells for s in cell_state_sizes(c)] + [readout.units]
        self.output_size = readout.units

    def build(self, input_shape):
        width = self.readout.units + input_shape[-1]
        for cell in self.cells:
            if not cell.built:
                cell.build((None, width))
            width = cell.units
        if not self.readout.built:
            self.readout.build((None, width))

    def call(self, inputs, states, training=False):
        *cell_states, y_prev = states
        h = ops.concatenate([y_prev, inputs], axis=-1)
        new_states, start = [], 0
        for k, (cell, count) in enumerate(zip(self.cells, self.counts)):
            if k and training and self.dropout:
                h = keras.random.dropout(h, self.dropout, seed=self.seed_generator)
            h, states_k = cell(h, list(cell_states[start:start + count]), training=training)
            new_states.extend(states_k if isinstance(states_k, (list, tuple)) else [states_k])
            start += count
        y = self.readout(h)
        return y, [*new_states, y]


@keras.saving.register_keras_serializable(package="seqkit")
class FeedbackRNN(keras.layers.Layer):
    """Generate ``length`` steps, each step's output fed back as the next step's input.

    With stacked cells ``1..L`` and read-out ``ρ(W_3 h)``::

        x_1 = first_input            (or ρ(W_3 h_0) when no first input is given)
        h_t = cells(x_t ⊕ u_t, h_{t-1}),   y_t = ρ(W_3 h_t),   x_{t+1} = y_t

    where ``u_t`` are optional known inputs of each step (``step_inputs``, e.g.
    future covariates) concatenated after the fed-back output. This is the
    one-to-many network of :func:`build_one_to_many` and the decoder that
    :func:`autoregressive_model` runs at inference.

    Parameters
    ----------
    cells : list of RNN cells
        The stacked cells (seqkit or Keras cells; built ones keep their weights).
    readout : keras.layers.Dense
        ``W_3`` and ``ρ``; its ``units`` is the size of ``y_t``.
    length : int
        Number of steps generated, ``>= 1``.
    dropout : float in [0, 1), default 0
        Dropout between stacked cells, in training.
    seed : int or None
        Seed of that dropout.

    Notes
    -----
    Call it as ``layer(first_input=..., initial_state=[...], step_inputs=...)``;
    at least one of ``first_input`` ``(batch, readout.units)`` and
    ``initial_state`` (the states of every cell, in order) must be given; a
    missing one is zeros (states) or ``ρ(W_3 h_0)`` (first input).
    ``step_inputs`` is ``(batch, length, n)``.
    """

    def __init__(self, cells, readout, length, dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        owner = "FeedbackRNN"
        self.length = check_int(length, "length", owner, minimum=1)
        self.dropout = check_float(dropout, "dropout", owner, low=0.0, high=1.0,
                                   high_inclusive=False)
        self.seed = check_int(seed, "seed", owner, minimum=0, allow_none=True)
        self.rnn = keras.layers.RNN(
            _FeedbackCell(cells, readout, self.dropout, self.seed), return_sequences=True,
            name="rnn",
        )

    def build(self, first_input_shape=None, initial_state_shape=None, step_inputs_shape=None):
        width = 0 if step_inputs_shape is None else step_inputs_shape[-1]
        self.rnn.build((None, self.length, width))

    def call(self, first_input=None, initial_state=None, step_inputs=None, training=False):
        if first_input is None and initial_state is None:
            raise InvalidInputError(
                "FeedbackRNN needs 'first_input', 'initial_state' or both. Got neither."
            )
        if step_inputs is not None and step_inputs.shape[1] not in (None, self.length):
            raise InvalidInputError(
                f"The 'step_inputs' argument of FeedbackRNN must have length={self.length} "
                f"steps. Got shape {tuple(step_inputs.shape)}."
            )
        feedback = self.rnn.cell
        known = first_input if first_input is not None else initial_state[0]
        batch = ops.shape(known)[0]
        if initial_state is None:
            initial_state = [ops.zeros((batch, size), known.dtype)
                             for size in feedback.state_size[:-1]]
        initial_state = list(initial_state)
        if first_input is None:
            top = sum(feedback.counts[:-1])
            first_input = feedback.readout(initial_state[top])
        if step_inputs is None:
            step_inputs = ops.zeros((batch, self.length, 0), known.dtype)
        outputs = self.rnn(step_inputs, initial_state=[*initial_state, first_input],
                           training=training)
        # keras.layers.RNN resets the dropout masks of its own cell after a call, not those
        # of the cells inside this one: without this, every call would reuse the first
        # call's masks (and fail on a batch of another size).
        for cell in feedback.cells:
            if isinstance(cell, DropoutRNNCell):
                cell.reset_dropout_mask()
                cell.reset_recurrent_dropout_mask()
        return outputs

    def compute_output_shape(self, first_input_shape=None, initial_state_shape=None,
                             step_inputs_shape=None):
        batch = (first_input_shape or initial_state_shape[0])[0]
        return (batch, self.length, self.rnn.cell.output_size)

    def get_config(self):
        feedback = self.rnn.cell
        return {
            **super().get_config(),
            "cells": [keras.saving.serialize_keras_object(c) for c in feedback.cells],
            "readout": keras.saving.serialize_keras_object(feedback.readout),
            "length": self.length,
            "dropout": self.dropout,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["cells"] = [keras.saving.deserialize_keras_object(c) for c in config["cells"]]
        config["readout"] = keras.saving.deserialize_keras_object(config["readout"])
        return cls(**config)


def build_one_to_many(
    n_inputs,
    n_outputs,
    length,
    *,
    cell="peephole_lstm",
    units=64,
    num_layers=1,
    dropout=0.0,
    output_activation=None,
    input_as="state",
    seed=None,
    cell_kwargs=None,
):
    """One-to-many network: a single input vector generates a sequence.

    Each output is fed back as the next input, ``x_{t+1} = y_t = ρ(W_3 h_t)``
    (see :class:`FeedbackRNN`); training backpropagates through that loop.

    Parameters
    ----------
    n_inputs : int
        Size of the input vector.
    n_outputs : int
        Size of each generated step.
    length : int
        Steps generated, ``>= 1``.
    cell, units, num_layers, dropout, seed, cell_kwargs
        As in :func:`build_many_to_one`.
    output_activation : str, callable or None, default None
        ``ρ``; None (linear) for real values, "softmax" for tokens.
    input_as : {"state", "first_input"}, default "state"
        ``"state"``: the vector sets the initial state of every layer,
        ``s_0 = tanh(A v + a)``, and the first input is ``x_1 = ρ(W_3 h_0)``.
        ``"first_input"``: the vector is the first input ``x_1 = v`` (so
        ``n_inputs`` must equal ``n_outputs``) and the states start at zero.

    Returns
    -------
    keras.Model
        Input ``(batch, n_inputs)``; output ``(batch, length, n_outputs)``.

    Notes
    -----
    There is no bidirectional variant: a generated sequence is produced from
    left to right, its later steps do not exist when the earlier ones are made.
    """
    owner = "build_one_to_many"
    params = _common(owner, cell, units, num_layers, dropout, seed, cell_kwargs)
    n_inputs = check_int(n_inputs, "n_inputs", owner, minimum=1)
    n_outputs = check_int(n_outputs, "n_outputs", owner, minimum=1)
    length = check_int(length, "length", owner, minimum=1)
    input_as = check_choice(input_as, "input_as", owner, ("state", "first_input"))
    if input_as == "first_input" and n_inputs != n_outputs:
        raise InvalidParameterError(
            f"The 'n_inputs' parameter of {owner} must equal n_outputs={n_outputs} when "
            f"input_as='first_input' (the input is fed in as the first step). Got {n_inputs} "
            "instead."
        )
    activation = get_keras_object("activation", output_activation, "output_activation", owner)
    cells = [_cell(params["cell"], params["units"], params["cell_kwargs"])
             for _ in range(params["num_layers"])]
    readout = keras.layers.Dense(n_outputs, activation=activation, name="readout")
    generator = FeedbackRNN(cells, readout, length, dropout=params["dropout"],
                            seed=params["seed"], name="generator")
    vector = keras.Input((n_inputs,), name="inputs")
    if input_as == "first_input":
        outputs = generator(first_input=vector)
    else:
        sizes = [s for c in cells for s in cell_state_sizes(c)]
        dense_layers = _initial_state_layers(sizes, None, "initial_state")
        outputs = generator(initial_state=_states_from(vector, sizes, dense_layers))
    return keras.Model(vector, outputs, name="one_to_many")
