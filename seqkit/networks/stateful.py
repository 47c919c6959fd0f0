"""The stateful twin of a sequence network: the same layers, with states in and out.

Truncated backpropagation through time carries the states from chunk to
chunk, a streaming export carries them from step to step: both run the
network's twin, built here once. The twin is wired by the same code as the
network (:func:`seqkit.networks.sequence._sequence_graph`), on the network's
own layers found by the names its builder gave them, so it needs no private
Keras method and works on a network loaded from a ``.keras`` file.
"""

import keras
from keras import ops

from seqkit.exceptions import InvalidParameterError
from seqkit.networks.recurrent import cell_state_sizes
from seqkit.networks.sequence import _sequence_graph, _sequence_layers

_STATE_KINDS = ("h", "c")


@keras.saving.register_keras_serializable(package="seqkit")
class CarriedOutput(keras.layers.Layer):
    """Per-step outputs of a piece of a sequence as the whole sequence has them.

    Keras' masking repeats a recurrent layer's last output over padded steps,
    starting from zeros: in a piece that starts with padding, the steps before
    its first real step get zeros, where the whole sequence has the output of
    its last real step before the piece, the ``h`` state carried in. This layer
    puts that ``h`` there and keeps the mask.

    Call arguments:
        outputs: ``(batch, time, units)``, the top recurrent layer's outputs.
        carried: ``(batch, units)``, the ``h`` state the piece started from.
        mask: ``(batch, time)`` bool, the real steps (give it explicitly).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, outputs, carried, mask=None):
        if mask is None:
            return outputs
        seen = ops.cumsum(ops.cast(mask, "int32"), axis=1) > 0
        return ops.where(seen[..., None], outputs, ops.expand_dims(carried, 1))

    def compute_output_shape(self, outputs_shape, carried_shape=None):
        return outputs_shape


def _carried_top(h, finals, mask, initial_states):
    """The top recurrent layer's output, for a piece, as the whole sequence has it: for one
    output per sequence the final ``h`` (the output of the last real step, or the ``h``
    given when the piece is all padding); per step, :class:`CarriedOutput`."""
    if len(h.shape) == 2:
        return finals[-1][0]
    if not initial_states or initial_states[-1] is None:
        return h
    return CarriedOutput(name="carried_output")(h, initial_states[-1][0], mask=mask)


FORWARD_ONLY = {"bidirectional": False, "conv_branch": False, "step_pooling": 1}
"""The builder arguments a network needs for a stateful twin (and so for truncated BPTT):
each other value makes a step's output depend on the steps after it."""


def _forward_layers(model, owner):
    """The layers of a sequence network by name, and its recurrent stack
    (:func:`~seqkit.networks.sequence._sequence_layers`); raise unless it runs forward only."""
    layers, stack = _sequence_layers(model, owner)
    for name, why in (
        ("conv_branch", "its convolutions read the steps that follow"),
        ("step_pooling", "a step's input is a mean over steps to come"),
    ):
        if name in layers:
            raise InvalidParameterError(
                f"The 'model' parameter of {owner} must be a network without the layer "
                f"{name!r} ({name}={FORWARD_ONLY[name]!r}): {why}, so no states carry it on. "
                f"Got the layer {name!r}."
            )
    for _, layer in stack:
        if isinstance(layer, keras.layers.Bidirectional):
            raise InvalidParameterError(
                f"The 'model' parameter of {owner} must read its sequences forward only "
                "(bidirectional=False): a bidirectional network's output at a step depends on "
                f"the steps after it, so no states carry it on. Got the Bidirectional layer "
                f"{layer.name!r}."
            )
    return layers, stack


def recurrent_states(model):
    """The recurrent states of a sequence network, named as its stateful twin names them.

    Parameters
    ----------
    model : keras.Model
        A network of :func:`build_many_to_one` or :func:`build_many_to_many`
        (trained or not, loaded from a ``.keras`` file or not), forward only.

    Returns
    -------
    dict
        ``{name: size}`` in the order :func:`stateful_twin` takes and returns
        the states: per recurrent layer ``i = 1 .. L``, ``h_i`` and, for LSTM
        cells (``"peephole_lstm"``, ``"lstm"``), ``c_i``. Each state is
        ``(batch, size)``.

    Raises
    ------
    InputTypeError
        If ``model`` is not a ``keras.Model``.
    InvalidParameterError
        If ``model`` is not such a network, is bidirectional, has a
        convolutional branch or pools steps.

    Examples
    --------
    >>> recurrent_states(build_many_to_one(3, 2, cell="lstm", units=4, num_layers=2))
    {'h_1': 4, 'c_1': 4, 'h_2': 4, 'c_2': 4}
    """
    _, stack = _forward_layers(model, "recurrent_states")
    return _named_states(stack)


def _named_states(stack):
    return {
        f"{kind}_{i}": size
        for i, (_, layer) in enumerate(stack, 1)
        for kind, size in zip(_STATE_KINDS, cell_state_sizes(layer.cell))
    }


def stateful_twin(model, *, states_in=True):
    """The stateful twin of a sequence network: its states in, its final states out.

    The twin holds the network's own layers (so its weights: training one
    trains the other) and computes what the network computes, but its
    recurrent layers start from given states instead of their own, and it
    returns every recurrent layer's final states next to the output. Feeding
    a sequence in pieces, each starting from the states the last one ended
    with, gives what the whole sequence gives (truncated BPTT's chunks, a
    streaming model's steps), at every step, padded ones included; a padding
    step (all NaN, or token id 0) leaves the states as they were, and the
    output is then the one after the last real step.

    Parameters
    ----------
    model : keras.Model
        A network of :func:`build_many_to_one` or :func:`build_many_to_many`
        run forward (``bidirectional=False``): numeric or token input, with or
        without static features (e.g. the forecaster's future covariates),
        trained or not, loaded from a ``.keras`` file or not.
    states_in : bool, default True
        False: no state inputs; the layers start from the network's own
        initial states (zeros, or those it computes from its static input),
        as for the first piece of a sequence. Only the final states are added.

    Returns
    -------
    keras.Model
        Inputs, as a list: the network's inputs, under their names
        (``sequences`` ``(batch, time, n_features)`` float NaN-padded, or
        ``tokens`` ``(batch, time)`` / ``(batch, time, 1 + subword_features)``
        int; then ``static`` ``(batch, n_static)`` when the network has
        static features), then with ``states_in`` one input per state named
        as :func:`recurrent_states` lists them, ``h_1``, ``c_1`` (LSTM cells),
        ``h_2``, ..., each ``(batch, size)``. Outputs, as a list: the
        network's output (``(batch, n_outputs)`` or ``(batch, time,
        n_outputs)``), then the final states in the same order. With
        ``states_in`` the static input is taken but unused: the states given
        replace the initial states it sets.

    Raises
    ------
    InputTypeError
        If ``model`` is not a ``keras.Model``.
    InvalidParameterError
        If ``model`` is not a network of those builders (an encoder-decoder,
        a one-to-many network, any other model), is bidirectional, has a
        convolutional branch or pools steps.

    Examples
    --------
    One step at a time, states carried (a sequence of length 1 per step):

    >>> model = build_many_to_one(3, 2, cell="gru", units=4)
    >>> twin = stateful_twin(model)
    >>> [t.name for t in twin.inputs]
    ['sequences', 'h_1']
    >>> x, h = keras.ops.ones((5, 10, 3)), keras.ops.zeros((5, 4))
    >>> for t in range(10):
    ...     y, h = twin([x[:, t:t + 1], h])
    >>> np.allclose(y, model(x), atol=1e-5)
    True
    """
    layers, stack = _forward_layers(model, "stateful_twin")
    inputs = [keras.Input(batch_shape=t.shape, dtype=t.dtype, name=t.name)
              for t in model.inputs]
    state_inputs, initial_states = [], None
    if states_in:
        state_inputs = [keras.Input((size,), name=name)
                        for name, size in _named_states(stack).items()]
        counts = [len(cell_state_sizes(layer.cell)) for _, layer in stack]
        starts = [sum(counts[:i]) for i in range(len(counts))]
        initial_states = [state_inputs[start:start + count]
                          for start, count in zip(starts, counts)]
    output, finals = _sequence_graph(layers, stack, inputs, initial_states, top=_carried_top)
    return keras.Model([*inputs, *state_inputs],
                       [output, *(state for states in finals for state in states)],
                       name=f"{model.name}_stateful")
