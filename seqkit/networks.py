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

Every recurrent layer is built with ``return_state=True`` (the models use only
its first output): :mod:`seqkit.training` reads the final states to carry them
from chunk to chunk in truncated backpropagation through time.
"""

import weakref

import keras
import numpy as np
from keras import ops

from seqkit._validation import check_choice, check_float, check_int, check_shape
from seqkit.cells import ElmanRNN, ElmanRNNCell, PeepholeLSTM, PeepholeLSTMCell
from seqkit.cells._base import get_keras_object
from seqkit.exceptions import InvalidInputError, InvalidParameterError

CELL_NAMES = ("elman", "peephole_lstm", "lstm", "gru")

_LAYERS = {
    "elman": ElmanRNN,
    "peephole_lstm": PeepholeLSTM,
    "lstm": keras.layers.LSTM,
    "gru": keras.layers.GRU,
}
_CELLS = {
    "elman": ElmanRNNCell,
    "peephole_lstm": PeepholeLSTMCell,
    "lstm": keras.layers.LSTMCell,
    "gru": keras.layers.GRUCell,
}


@keras.saving.register_keras_serializable(package="seqkit")
class TokenMask(keras.layers.Layer):
    """Pass ``inputs[0]`` on, masked where the token id ``inputs[1][..., 0]`` is 0 (padding)."""

    def call(self, inputs):
        return inputs[0]

    def compute_mask(self, inputs, mask=None):
        return ops.not_equal(inputs[1][..., 0], 0)

    def compute_output_shape(self, input_shape):
        return input_shape[0]


@keras.saving.register_keras_serializable(package="seqkit")
class PaddingMask(keras.layers.Layer):
    """Turn NaN padding into a Keras mask.

    A timestep whose features are *all* NaN is padding. The layer outputs its
    input with every NaN replaced by 0 and supplies the mask (``True`` on real
    steps) to the layers after it, so recurrent layers skip padded steps and
    losses ignore them.

    Examples
    --------
    >>> x = np.array([[[1.0], [2.0], [np.nan]]], dtype="float32")
    >>> layer = PaddingMask()
    >>> np.asarray(layer.compute_mask(x))
    array([[ True,  True, False]])
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return ops.where(ops.isnan(inputs), ops.zeros_like(inputs), inputs)

    def compute_mask(self, inputs, mask=None):
        return ops.logical_not(ops.all(ops.isnan(inputs), axis=-1))

    def compute_output_shape(self, input_shape):
        return input_shape


def _check_cell(cell, owner):
    return check_choice(cell, "cell", owner, CELL_NAMES)


def _seed(seed, offset):
    return None if seed is None else seed + offset


def recurrent_layer(
    cell,
    units,
    *,
    return_sequences=False,
    return_state=False,
    go_backwards=False,
    dropout=0.0,
    recurrent_dropout=0.0,
    seed=None,
    name=None,
    **cell_kwargs,
):
    """Make the recurrent layer of a named cell.

    Parameters
    ----------
    cell : {"elman", "peephole_lstm", "lstm", "gru"}
        ``"elman"`` and ``"peephole_lstm"`` are :class:`seqkit.cells.ElmanRNN`
        and :class:`seqkit.cells.PeepholeLSTM`; ``"lstm"`` and ``"gru"`` are
        ``keras.layers.LSTM`` and ``keras.layers.GRU``.
    units : int
        Size of the hidden state, ``>= 1``.
    return_sequences, return_state, go_backwards : bool
        As in ``keras.layers.RNN``.
    dropout, recurrent_dropout : float in [0, 1)
        Dropout of the inputs and of the recurrent state inside the layer.
    seed : int or None
        Seed of the dropout masks.
    name : str or None
    **cell_kwargs
        Further arguments of the layer, e.g. ``peepholes="full"`` or
        ``cell_clip=3.0`` for ``"peephole_lstm"``.

    Returns
    -------
    keras.layers.RNN
    """
    owner = "recurrent_layer"
    _check_cell(cell, owner)
    units = check_int(units, "units", owner, minimum=1)
    return _LAYERS[cell](
        units,
        return_sequences=return_sequences,
        return_state=return_state,
        go_backwards=go_backwards,
        dropout=check_float(dropout, "dropout", owner, low=0.0, high=1.0, high_inclusive=False),
        recurrent_dropout=check_float(
            recurrent_dropout, "recurrent_dropout", owner, low=0.0, high=1.0,
            high_inclusive=False,
        ),
        seed=check_int(seed, "seed", owner, minimum=0, allow_none=True),
        name=name,
        **cell_kwargs,
    )


def cell_state_sizes(cell):
    """The sizes of a cell's states, as a list (``[h]``, or ``[h, c]`` for an LSTM)."""
    return [int(size) for size in np.atleast_1d(cell.state_size)]


def _state_sizes(layer):
    """Sizes of the states a recurrent layer (or a ``Bidirectional`` one) returns, in order."""
    if isinstance(layer, keras.layers.Bidirectional):
        return _state_sizes(layer.forward_layer) + _state_sizes(layer.backward_layer)
    return cell_state_sizes(layer.cell)


def _states_from(features, sizes, units_from, name):
    """Initial states computed from ``features``: ``tanh(A s + a)`` in the first ``units_from``
    units of each state, zeros in the rest."""
    states = []
    for k, size in enumerate(sizes):
        width = size if units_from is None else units_from
        state = keras.layers.Dense(width, activation="tanh", name=f"{name}_{k + 1}")(features)
        if width < size:
            state = ops.pad(state, [[0, 0], [0, size - width]])
        states.append(state)
    return states


def _stack(h, params, *, prefix, return_sequences, initial_state=None, bidirectional=False,
           units=None):
    """Stacked recurrent layers ``{prefix}_1 .. {prefix}_L`` with ``Dropout`` between them.

    ``initial_state(i, layer)``, if given, returns the initial states of layer ``i`` (or
    None). Returns the output of the last layer and, per layer, the list of its final states.
    """
    finals = []
    for i in range(params["num_layers"]):
        if i and params["dropout"]:
            h = keras.layers.Dropout(
                params["dropout"], seed=_seed(params["seed"], i), name=f"{prefix}_dropout_{i}"
            )(h)
        name = f"{prefix}_{i + 1}"
        layer = recurrent_layer(
            params["cell"], units or params["units"], return_state=True,
            return_sequences=return_sequences or i < params["num_layers"] - 1,
            name=None if bidirectional else name, **params["cell_kwargs"],
        )
        if bidirectional:
            layer = keras.layers.Bidirectional(layer, name=name)
        state = initial_state and initial_state(i, layer)
        h, *states = layer(h, initial_state=state) if state else layer(h)
        finals.append(states)
    return h, finals


def _common(owner, cell, units, num_layers, dropout, seed, cell_kwargs):
    return {
        "cell": _check_cell(cell, owner),
        "units": check_int(units, "units", owner, minimum=1),
        "num_layers": check_int(num_layers, "num_layers", owner, minimum=1),
        "dropout": check_float(dropout, "dropout", owner, low=0.0, high=1.0, high_inclusive=False),
        "seed": check_int(seed, "seed", owner, minimum=0, allow_none=True),
        "cell_kwargs": dict(cell_kwargs or {}),
    }


def _sequence_network(
    owner, n_features, n_outputs, return_sequences, *, cell, units, num_layers, bidirectional,
    dropout, output_activation, n_static, static_units, vocab_size, embedding_dim, seed,
    cell_kwargs, subword_features=0, subword_vocab_size=None,
):
    params = _common(owner, cell, units, num_layers, dropout, seed, cell_kwargs)
    n_outputs = check_int(n_outputs, "n_outputs", owner, minimum=1)
    n_static = check_int(n_static, "n_static", owner, minimum=0)
    static_units = check_int(
        static_units, "static_units", owner, minimum=1, maximum=params["units"], allow_none=True
    )
    activation = get_keras_object("activation", output_activation, "output_activation", owner)
    if vocab_size is None:
        n_features = check_int(n_features, "n_features", owner, minimum=1)
        sequences = keras.Input((None, n_features), name="sequences")
        h = PaddingMask(name="padding_mask")(sequences)
    else:
        vocab_size = check_int(vocab_size, "vocab_size", owner, minimum=2)
        embedding_dim = check_int(embedding_dim, "embedding_dim", owner, minimum=1)
        subword_features = check_int(subword_features, "subword_features", owner, minimum=0)
        shape = (None, 1 + subword_features) if subword_features else (None,)
        sequences = keras.Input(shape, dtype="int32", name="tokens")
        ids = sequences[..., 0] if subword_features else sequences
        h = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=not subword_features,
                                   name="embedding")(ids)
        if subword_features:
            size = check_int(subword_vocab_size, "subword_vocab_size", owner, minimum=2)
            parts = keras.layers.Embedding(size, embedding_dim, name="subword_embedding")(
                sequences[..., 1:]
            )
            parts = keras.layers.Reshape((-1, subword_features * embedding_dim))(parts)
            h = keras.layers.Concatenate(name="token_features")([h, parts])
            h = TokenMask(name="padding_mask")([h, sequences])
    initial_state = None
    if n_static:
        static = keras.Input((n_static,), name="static")

        def initial_state(i, layer):
            return None if i else _states_from(static, _state_sizes(layer), static_units,
                                               "initial_state")

    h, _ = _stack(
        h, params, prefix="recurrent", return_sequences=return_sequences,
        initial_state=initial_state, bidirectional=bool(bidirectional),
    )
    outputs = keras.layers.Dense(n_outputs, activation=activation, name="readout")(h)
    inputs = [sequences, static] if n_static else sequences
    return keras.Model(inputs, outputs, name=owner.removeprefix("build_"))


def build_many_to_one(
    n_features,
    n_outputs,
    *,
    cell="peephole_lstm",
    units=64,
    num_layers=1,
    bidirectional=False,
    dropout=0.0,
    output_activation="softmax",
    n_static=0,
    static_units=None,
    vocab_size=None,
    embedding_dim=32,
    seed=None,
    cell_kwargs=None,
):
    """Many-to-one network: a sequence in, one vector out (classification or regression).

    For the Elman cell this is the lecture's network ``h_t = tanh(W x_t + U h_{t-1} + b)``,
    ``y = softmax(V h_T)``: the read-out is a ``Dense`` layer on the last state.

    Parameters
    ----------
    n_features : int
        Features per step. Ignored (may be None) when ``vocab_size`` is given.
    n_outputs : int
        Size of the output (classes, or regression targets).
    cell : {"elman", "peephole_lstm", "lstm", "gru"}, default "peephole_lstm"
    units : int, default 64
        Hidden size of every recurrent layer (of each direction when bidirectional).
    num_layers : int, default 1
        Stacked recurrent layers.
    bidirectional : bool, default False
        Wrap every recurrent layer in ``keras.layers.Bidirectional`` (outputs concatenated).
    dropout : float in [0, 1), default 0
        Dropout between stacked layers.
    output_activation : str, callable or None, default "softmax"
        Activation of the read-out; None or "linear" for regression.
    n_static : int, default 0
        If > 0, the model takes a second input ``(batch, n_static)`` of static features (e.g.
        of a whole series) that sets the initial state(s) of the first recurrent layer:
        ``s_0 = tanh(A z + a)``, one ``Dense`` per state (and direction).
    static_units : int or None, default None
        Set only the first ``static_units`` units of each initial state from the static
        features; the others start at zero. None: all units.
    vocab_size : int or None, default None
        If given, the input is int token ids ``(batch, time)``, 0 being padding and
        ``1 .. vocab_size - 1`` tokens, embedded with ``Embedding(mask_zero=True)``.
    embedding_dim : int, default 32
        Size of the token embedding.
    seed : int or None
        Seed of the dropout layers (weights are initialised from Keras' global seed, see
        ``keras.utils.set_random_seed``).
    cell_kwargs : dict or None
        Further arguments of every recurrent layer (see :func:`recurrent_layer`).

    Returns
    -------
    keras.Model
        Input ``(batch, time, n_features)`` float, NaN-padded (or int token ids), plus the
        static input when ``n_static > 0``; output ``(batch, n_outputs)``.

    Examples
    --------
    >>> model = build_many_to_one(3, 2, cell="elman", units=8)
    >>> model(np.zeros((4, 10, 3), "float32")).shape
    TensorShape([4, 2])
    """
    return _sequence_network(
        "build_many_to_one", n_features, n_outputs, False, cell=cell, units=units,
        num_layers=num_layers, bidirectional=bidirectional, dropout=dropout,
        output_activation=output_activation, n_static=n_static, static_units=static_units,
        vocab_size=vocab_size, embedding_dim=embedding_dim, seed=seed, cell_kwargs=cell_kwargs,
    )


def build_many_to_many(
    n_features,
    n_outputs,
    *,
    cell="peephole_lstm",
    units=64,
    num_layers=1,
    bidirectional=False,
    dropout=0.0,
    output_activation="softmax",
    n_static=0,
    static_units=None,
    vocab_size=None,
    embedding_dim=32,
    seed=None,
    cell_kwargs=None,
    subword_features=0,
    subword_vocab_size=None,
):
    """Synchronised many-to-many network: one output per input step (sequence tagging).

    ``y_t = act(V h_t)`` at every step. The padding mask reaches the output, so a
    loss compiled on the model sums the per-step losses of the real steps only
    and divides by their number (Keras' masked mean: the lecture's
    ``sum_t L_t`` up to a factor per batch); padded steps count in neither.

    Parameters
    ----------
    n_features, n_outputs, cell, units, num_layers, bidirectional, dropout,
    output_activation, n_static, static_units, vocab_size, embedding_dim, seed, cell_kwargs
        As in :func:`build_many_to_one`.
    subword_features : int, default 0
        With ``vocab_size``: if > 0, the input is ``(batch, time, 1 +
        subword_features)`` int, column 0 the token ids (0 padding) and the
        others ids of features of each token (e.g. :func:`seqkit.subwords.subword_ids`),
        each embedded by one shared ``Embedding`` of ``embedding_dim``
        (layer ``"subword_embedding"``) and concatenated to the token's embedding.
    subword_vocab_size : int or None
        Number of sub-word feature ids (needed with ``subword_features``).

    Returns
    -------
    keras.Model
        Output ``(batch, time, n_outputs)``.
    """
    return _sequence_network(
        "build_many_to_many", n_features, n_outputs, True, cell=cell, units=units,
        num_layers=num_layers, bidirectional=bidirectional, dropout=dropout,
        output_activation=output_activation, n_static=n_static, static_units=static_units,
        vocab_size=vocab_size, embedding_dim=embedding_dim, seed=seed, cell_kwargs=cell_kwargs,
        subword_features=subword_features, subword_vocab_size=subword_vocab_size,
    )


# ----------------------------------------------------------------------- feedback


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
        return self.rnn(step_inputs, initial_state=[*initial_state, first_input],
                        training=training)

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


def _cell(cell, units, cell_kwargs):
    return _CELLS[cell](units, **cell_kwargs)


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
        outputs = generator(initial_state=_states_from(vector, sizes, None, "initial_state"))
    return keras.Model(vector, outputs, name="one_to_many")


# ----------------------------------------------------------------- encoder-decoder


def _bridge(finals, bidirectional):
    """Encoder final states as decoder initial states: per layer, the two directions'
    states concatenated when the encoder is bidirectional."""
    if not bidirectional:
        return finals
    bridged = []
    for states in finals:
        half = len(states) // 2
        bridged.append([
            keras.layers.Concatenate()([forward, backward])
            for forward, backward in zip(states[:half], states[half:])
        ])
    return bridged


def build_encoder_decoder(
    n_features,
    n_targets,
    horizon,
    *,
    cell="peephole_lstm",
    units=64,
    num_layers=1,
    bidirectional=False,
    dropout=0.0,
    n_future_covariates=0,
    seed=None,
    cell_kwargs=None,
):
    """Encoder-decoder (sequence-to-sequence) network, for training with teacher forcing.

    The encoder reads the input sequence; the final states of its layer ``k``
    are the initial states of decoder layer ``k``. The decoder's input at step
    ``j`` is the previous target ``y_{j-1}`` (``y_0`` being a given start value,
    e.g. the last observed value of a series) next to the known covariates of
    step ``j``: build it with :func:`teacher_forcing_inputs`. At inference there
    are no true previous targets; :func:`predict_autoregressive` feeds the
    model's own outputs back instead (multi-step forecasting).

    Parameters
    ----------
    n_features : int
        Features per encoder step.
    n_targets : int
        Size of each output step.
    horizon : int
        Number of output steps, ``>= 1``.
    cell, units, num_layers, dropout, seed, cell_kwargs
        As in :func:`build_many_to_one`; the encoder and the decoder both have
        ``num_layers`` layers.
    bidirectional : bool, default False
        Bidirectional encoder; the decoder then has ``2 * units`` units and
        starts from the two directions' states concatenated.
    n_future_covariates : int, default 0
        Known inputs of each output step (calendar features, planned values).

    Returns
    -------
    keras.Model
        Inputs ``encoder_inputs`` ``(batch, time, n_features)`` (NaN-padded) and
        ``decoder_inputs`` ``(batch, horizon, n_targets + n_future_covariates)``;
        output ``(batch, horizon, n_targets)``, linear.
    """
    owner = "build_encoder_decoder"
    params = _common(owner, cell, units, num_layers, dropout, seed, cell_kwargs)
    n_features = check_int(n_features, "n_features", owner, minimum=1)
    n_targets = check_int(n_targets, "n_targets", owner, minimum=1)
    horizon = check_int(horizon, "horizon", owner, minimum=1)
    n_future_covariates = check_int(n_future_covariates, "n_future_covariates", owner, minimum=0)
    bidirectional = bool(bidirectional)
    encoder_inputs = keras.Input((None, n_features), name="encoder_inputs")
    decoder_inputs = keras.Input((horizon, n_targets + n_future_covariates),
                                 name="decoder_inputs")
    _, finals = _stack(PaddingMask(name="padding_mask")(encoder_inputs), params,
                       prefix="encoder", return_sequences=False, bidirectional=bidirectional)
    states = _bridge(finals, bidirectional)
    h, _ = _stack(
        decoder_inputs, {**params, "seed": _seed(params["seed"], params["num_layers"])},
        prefix="decoder", return_sequences=True, initial_state=lambda i, _: states[i],
        units=params["units"] * (2 if bidirectional else 1),
    )
    outputs = keras.layers.Dense(n_targets, name="readout")(h)
    return keras.Model([encoder_inputs, decoder_inputs], outputs, name="encoder_decoder")


def teacher_forcing_inputs(y, start, future_covariates=None):
    """Decoder inputs for training an encoder-decoder with teacher forcing.

    Step ``j`` gets the true previous target ``y_{j-1}`` (``start`` for
    ``j = 0``) followed by the covariates of step ``j``.

    Parameters
    ----------
    y : array-like of shape (batch, horizon, n_targets)
        The targets.
    start : array-like of shape (batch, n_targets)
        The value before the first target (e.g. the last observed value).
    future_covariates : array-like of shape (batch, horizon, n_covariates) or None

    Returns
    -------
    numpy.ndarray of shape (batch, horizon, n_targets + n_covariates), float32
    """
    owner = "teacher_forcing_inputs"
    y = np.asarray(y, dtype="float32")
    if y.ndim != 3:
        raise InvalidInputError(
            f"The 'y' argument of {owner} must be 3-D (batch, horizon, n_targets). "
            f"Got shape {y.shape}."
        )
    start = check_shape(np.asarray(start, dtype="float32"), "start", owner,
                        (y.shape[0], y.shape[2]))
    shifted = np.concatenate([start[:, None, :], y[:, :-1]], axis=1)
    if future_covariates is None:
        return shifted
    covariates = check_shape(np.asarray(future_covariates, dtype="float32"), "future_covariates",
                             owner, (y.shape[0], y.shape[1], None))
    return np.concatenate([shifted, covariates], axis=-1)


_AUTOREGRESSIVE = weakref.WeakKeyDictionary()


def autoregressive_model(model):
    """The inference twin of an encoder-decoder: its own outputs fed back, weights shared.

    Parameters
    ----------
    model : keras.Model
        A model from :func:`build_encoder_decoder` (trained or not).

    Returns
    -------
    keras.Model
        Inputs ``encoder_inputs`` ``(batch, time, n_features)``, ``start``
        ``(batch, n_targets)`` and, when the model has future covariates,
        ``future_covariates`` ``(batch, horizon, n_future_covariates)``; output
        ``(batch, horizon, n_targets)``. Built once per model and cached.
        Exportable like any Keras model.
    """
    if model in _AUTOREGRESSIVE:
        return _AUTOREGRESSIVE[model]
    names = {layer.name for layer in model.layers}
    if not {"encoder_1", "decoder_1", "readout", "decoder_inputs"} <= names:
        raise InvalidParameterError(
            "The 'model' parameter of autoregressive_model must be built by "
            f"build_encoder_decoder. Got a model named {model.name!r} with layers "
            f"{sorted(names)} instead."
        )
    num_layers = sum(name.startswith("encoder_") and name[8:].isdigit() for name in names)
    bidirectional = isinstance(model.get_layer("encoder_1"), keras.layers.Bidirectional)
    readout = model.get_layer("readout")
    encoder_shape, (_, horizon, width) = (tuple(t.shape) for t in model.inputs)
    encoder_inputs = keras.Input(encoder_shape[1:], name="encoder_inputs")
    start = keras.Input((readout.units,), name="start")
    inputs = [encoder_inputs, start]
    step_inputs = None
    if width > readout.units:
        step_inputs = keras.Input((horizon, width - readout.units), name="future_covariates")
        inputs.append(step_inputs)
    h, finals = PaddingMask(name="padding_mask")(encoder_inputs), []
    for i in range(num_layers):  # the trained encoder layers; no dropout at inference
        h, *states = model.get_layer(f"encoder_{i + 1}")(h)
        finals.append(states)
    states = _bridge(finals, bidirectional)
    decoder = FeedbackRNN(
        [model.get_layer(f"decoder_{i + 1}").cell for i in range(num_layers)], readout, horizon,
        name="decoder",
    )
    outputs = decoder(first_input=start, initial_state=[s for layer in states for s in layer],
                      step_inputs=step_inputs)
    _AUTOREGRESSIVE[model] = keras.Model(inputs, outputs, name="autoregressive_decoder")
    return _AUTOREGRESSIVE[model]


def predict_autoregressive(model, encoder_inputs, start, future_covariates=None, batch_size=256):
    """Run an encoder-decoder at inference: every output fed back as the next decoder input.

    Parameters
    ----------
    model : keras.Model
        A model from :func:`build_encoder_decoder`.
    encoder_inputs : array-like of shape (batch, time, n_features)
        NaN-padded input sequences.
    start : array-like of shape (batch, n_targets)
        The decoder's first input (e.g. the last observed targets), as in training.
    future_covariates : array-like of shape (batch, horizon, n_future_covariates) or None
        Required when the model was built with ``n_future_covariates > 0``.
    batch_size : int, default 256

    Returns
    -------
    numpy.ndarray of shape (batch, horizon, n_targets)
    """
    owner = "predict_autoregressive"
    generator = autoregressive_model(model)
    expected = [tuple(t.shape) for t in generator.inputs]
    encoder_inputs = np.asarray(encoder_inputs, dtype="float32")
    if encoder_inputs.ndim != 3:
        raise InvalidInputError(
            f"The 'encoder_inputs' argument of {owner} must be 3-D (batch, time, n_features). "
            f"Got shape {encoder_inputs.shape}."
        )
    batch = encoder_inputs.shape[0]
    arrays = [check_shape(encoder_inputs, "encoder_inputs", owner, (batch, None, expected[0][2])),
              check_shape(np.asarray(start, dtype="float32"), "start", owner,
                          (batch, expected[1][1]))]
    if len(expected) == 3:
        if future_covariates is None:
            raise InvalidInputError(
                f"The 'future_covariates' argument of {owner} is required: the model was built "
                f"with n_future_covariates={expected[2][2]}. Got None."
            )
        arrays.append(check_shape(np.asarray(future_covariates, dtype="float32"),
                                  "future_covariates", owner, (batch, *expected[2][1:])))
    elif future_covariates is not None:
        raise InvalidInputError(
            f"The 'future_covariates' argument of {owner} must be None: the model was built "
            "with n_future_covariates=0. Got an array of shape "
            f"{np.shape(future_covariates)}."
        )
    return generator.predict(arrays, batch_size=batch_size, verbose=0)


__all__ = [
    "CELL_NAMES",
    "FeedbackRNN",
    "PaddingMask",
    "autoregressive_model",
    "build_encoder_decoder",
    "build_many_to_many",
    "build_many_to_one",
    "build_one_to_many",
    "cell_state_sizes",
    "predict_autoregressive",
    "recurrent_layer",
    "teacher_forcing_inputs",
]
