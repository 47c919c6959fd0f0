"""The probed twin of a sequence network: the same layers, with a probe added to the hidden
state of its first recurrent layer at every step.

With zero probes the twin computes what the network computes; the derivative
of anything computed from its output with respect to the probe ``d_t`` is the
total derivative with respect to the hidden state ``h_t``, through every later
step: the error signal backpropagation through time carries back to step
``t`` (what :func:`seqkit.training.gradient_norms_over_time` measures). Like
the stateful twin, the probed twin is wired by the network's own code
(:func:`seqkit.networks.sequence._sequence_graph`) on the network's own layers,
found by name, so it needs no private Keras method and works on a network
loaded from a ``.keras`` file.
"""

import keras
from keras import ops

from seqkit.networks.recurrent import cell_state_sizes
from seqkit.networks.sequence import _sequence_graph, _sequence_layers


class _ProbeCell(keras.layers.Layer):
    """Wraps a built cell. Its input is ``[x_t, d_t]``, ``d_t`` as wide as ``h_t``; it
    returns ``h_t + d_t`` as its output and as its first state, the one the next step reads."""

    def __init__(self, cell, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell
        self.state_size = cell.state_size
        self.output_size = cell.output_size

    def call(self, inputs, states, training=False):
        size = cell_state_sizes(self.cell)[0]
        x, delta = inputs[:, :-size], inputs[:, -size:]
        h, new_states = self.cell(x, states, training=training)
        h = h + delta
        new_states = new_states if isinstance(new_states, (list, tuple)) else [new_states]
        return h, [h, *new_states[1:]]


class _ProbedRecurrent(keras.layers.Layer):
    """What a recurrent layer (``keras.layers.RNN``, or ``Bidirectional`` around one)
    computes, with each direction's probe added to its cell's hidden state at every step.

    Call arguments:
        inputs: ``(batch, time, features)``, the layer's input.
        probes: list of ``(batch, time, units)``, one per direction (forward,
            backward), ``d_t`` at input position ``t``.
        initial_state: as the layer takes it (forward states, then backward).
        mask: ``(batch, time)`` bool, the real steps.
    """

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.paired = isinstance(layer, keras.layers.Bidirectional)
        self.merge_mode = layer.merge_mode if self.paired else "concat"
        self.return_sequences, self.return_state = layer.return_sequences, layer.return_state
        directions = [layer.forward_layer, layer.backward_layer] if self.paired else [layer]
        self.n_states = sum(len(cell_state_sizes(direction.cell)) for direction in directions)
        self.runs = [
            keras.layers.RNN(
                _ProbeCell(direction.cell), return_sequences=direction.return_sequences,
                return_state=direction.return_state, go_backwards=direction.go_backwards,
                zero_output_for_mask=direction.zero_output_for_mask,
            )
            for direction in directions
        ]

    def call(self, inputs, probes, initial_state=None, mask=None, training=None):
        if initial_state is not None:
            half = len(initial_state) // len(self.runs)
            initial_state = [initial_state[:half], initial_state[half:]]
        outputs = [
            run(ops.concatenate([inputs, probe], axis=-1), mask=mask, training=training,
                initial_state=None if initial_state is None else initial_state[i])
            for i, (run, probe) in enumerate(zip(self.runs, probes))
        ]
        if not self.paired:
            return outputs[0]
        return self._merged(*outputs)

    def _merged(self, y, y_rev):
        """What ``keras.layers.Bidirectional`` makes of its two layers' outputs."""
        states = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = ops.flip(y_rev, axis=1)
        merged = {
            "concat": lambda: ops.concatenate([y, y_rev], axis=-1),
            "sum": lambda: y + y_rev,
            "ave": lambda: (y + y_rev) / 2,
            "mul": lambda: y * y_rev,
            None: lambda: (y, y_rev),
        }[self.merge_mode]()
        if not self.return_state:
            return merged
        return (*merged, *states) if self.merge_mode is None else (merged, *states)

    def compute_mask(self, inputs, mask=None):
        output_mask = mask if self.return_sequences else None
        return [output_mask] + [None] * self.n_states if self.return_state else output_mask


def probed_twin(model):
    """The probed twin of a sequence network: a probe added to the hidden state of its first
    recurrent layer at every step.

    The twin holds the network's own layers (so its weights) and takes, next
    to the network's inputs, one probe per direction of the first recurrent
    layer: ``d_t`` is added to the hidden state ``h_t`` that layer's cell
    computes at step ``t`` (the first state of an LSTM, ``h`` not ``c``),
    inside the recurrence, so the next step and the layer above read
    ``h_t + d_t``. With zero probes the twin computes what the network
    computes, padded steps masked alike; the derivative of a loss on its
    output with respect to ``d_t`` is the total derivative with respect to
    ``h_t``, through every later step. The first layer runs its cell step by
    step (the portable path).

    Parameters
    ----------
    model : keras.Model
        A network of :func:`build_many_to_one` or :func:`build_many_to_many`:
        numeric or token input, with or without static features,
        bidirectional or not, trained or not, loaded from a ``.keras`` file
        or not.

    Returns
    -------
    keras.Model
        Inputs, as a list: the network's inputs, under their names, then the
        probes, ``(batch, time, units)`` float each: ``probe`` or, for a
        bidirectional network, ``probe_forward`` and ``probe_backward``. A
        probe's step ``t`` is input position ``t`` in both directions (the
        backward layer's ``h_t`` is its state after reading steps ``T..t``).
        Output: the network's read-out, ``(batch, n_outputs)`` or ``(batch,
        time, n_outputs)``; layers a model adds after the read-out (such as
        :func:`seqkit.crf.add_crf`'s, which passes its input on) are not run.

    Raises
    ------
    InputTypeError
        If ``model`` is not a ``keras.Model``.
    InvalidParameterError
        If ``model`` is not a network of those builders.

    Examples
    --------
    >>> model = build_many_to_one(3, 2, cell="gru", units=4)
    >>> twin = probed_twin(model)
    >>> [t.name for t in twin.inputs]
    ['sequences', 'probe']
    >>> x = keras.ops.ones((5, 10, 3))
    >>> np.allclose(twin([x, keras.ops.zeros((5, 10, 4))]), model(x), atol=1e-6)
    True
    """
    layers, stack = _sequence_layers(model, "probed_twin")
    first = _ProbedRecurrent(stack[0][1], name="probed_recurrent_1")
    directions = ("_forward", "_backward") if first.paired else ("",)
    inputs = [keras.Input(batch_shape=t.shape, dtype=t.dtype, name=t.name)
              for t in model.inputs]
    probes = [keras.Input((None, cell_state_sizes(run.cell.cell)[0]), name=f"probe{direction}")
              for run, direction in zip(first.runs, directions)]

    def run_first(h, initial_state=None, mask=None):
        return first(h, probes, initial_state=initial_state, mask=mask)

    output, _ = _sequence_graph(layers, stack, inputs, first=run_first)
    return keras.Model([*inputs, *probes], output, name=f"{model.name}_probed")
