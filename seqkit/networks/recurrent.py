"""Recurrent layers by cell name, their state sizes, and stacks of them.

:func:`recurrent_layer` makes the layer of a named cell; :func:`cell_state_sizes`
says what states a cell carries (``[h]``, or ``[h, c]`` for an LSTM). The
private helpers build the stacks ``{prefix}_1 .. {prefix}_L`` that every
builder of :mod:`seqkit.networks` uses.
"""

import keras
import numpy as np
from keras import ops

from seqkit._validation import check_choice, check_float, check_int
from seqkit.cells import ElmanRNN, ElmanRNNCell, PeepholeLSTM, PeepholeLSTMCell

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


def _initial_state_layers(sizes, units_from, name):
    """One ``Dense(tanh)`` per state, ``{name}_1 ..``: ``units_from`` units wide (all when None)."""
    return [
        keras.layers.Dense(size if units_from is None else units_from, activation="tanh",
                           name=f"{name}_{k + 1}")
        for k, size in enumerate(sizes)
    ]


def _states_from(features, sizes, dense_layers):
    """Initial states computed from ``features``: ``tanh(A s + a)`` in the first units of each
    state (as many as its ``Dense`` has), zeros in the rest."""
    states = []
    for size, dense in zip(sizes, dense_layers):
        state = dense(features)
        if dense.units < size:
            state = ops.pad(state, [[0, 0], [0, size - dense.units]])
        states.append(state)
    return states


def _stack_layers(params, *, prefix, return_sequences, bidirectional=False, units=None):
    """The layers of a stack: ``(dropout, recurrent)`` pairs, ``{prefix}_1 .. {prefix}_L``.

    Every recurrent layer has ``return_state=True``; ``Dropout`` layers
    ``{prefix}_dropout_i`` stand between layers ``i`` and ``i + 1`` (None where
    there is none). :func:`_stack_from` finds the same pairs again in a built
    model, by these names.
    """
    stack = []
    for i in range(params["num_layers"]):
        dropout = None
        if i and params["dropout"]:
            dropout = keras.layers.Dropout(
                params["dropout"], seed=_seed(params["seed"], i), name=f"{prefix}_dropout_{i}"
            )
        name = f"{prefix}_{i + 1}"
        layer = recurrent_layer(
            params["cell"], units or params["units"], return_state=True,
            return_sequences=return_sequences or i < params["num_layers"] - 1,
            name=None if bidirectional else name, **params["cell_kwargs"],
        )
        if bidirectional:
            layer = keras.layers.Bidirectional(layer, name=name)
        stack.append((dropout, layer))
    return stack


def _stack_from(layers, prefix):
    """The ``(dropout, recurrent)`` pairs of the stack ``prefix`` among ``layers`` (a dict of a
    built model's layers by name), as :func:`_stack_layers` named them; [] if none."""
    stack = []
    while f"{prefix}_{len(stack) + 1}" in layers:
        i = len(stack)
        stack.append((layers.get(f"{prefix}_dropout_{i}") if i else None,
                      layers[f"{prefix}_{i + 1}"]))
    return stack


def _run_stack(h, stack, *, mask=None, initial_states=None, first=None):
    """Run ``h`` through a stack: the states in and out of every seqkit network.

    Parameters
    ----------
    h : KerasTensor of shape (batch, time, features)
    stack : list of (keras.layers.Dropout or None, keras.layers.Layer)
        From :func:`_stack_layers` or :func:`_stack_from`.
    mask : KerasTensor of shape (batch, time), bool, or None
        Real steps. Given to every layer explicitly: Keras leaves a layer's
        ``mask`` unset when the layer is also given ``initial_state``.
    initial_states : list or None
        Per layer, its initial states (a list, in the order the layer returns
        them) or None for its own (zeros).
    first : callable or None
        Called in place of the first recurrent layer, with the same arguments
        (``first(h, initial_state=..., mask=...)``), returning what the layer
        returns: its output, then its final states.

    Returns
    -------
    tuple
        The last layer's output and, per layer, the list of its final states.
    """
    finals = []
    for i, (dropout, layer) in enumerate(stack):
        if dropout is not None:
            h = dropout(h)
        state = initial_states[i] if initial_states else None
        run = first if i == 0 and first is not None else layer
        h, *states = run(h, initial_state=state, mask=mask)
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


def _cell(cell, units, cell_kwargs):
    return _CELLS[cell](units, **cell_kwargs)
