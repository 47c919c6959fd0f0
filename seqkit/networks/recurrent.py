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


def _cell(cell, units, cell_kwargs):
    return _CELLS[cell](units, **cell_kwargs)
