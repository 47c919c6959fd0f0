"""The Elman network: ``ElmanRNNCell`` and its layer ``ElmanRNN``."""

import keras
from keras import ops

from seqkit.cells import _fast, _graph
from seqkit.cells._base import RecurrentCell, RecurrentLayer


@keras.saving.register_keras_serializable(package="seqkit")
class ElmanRNNCell(RecurrentCell):
    r"""Cell of the Elman (simple recurrent) network.

    Parameters
    ----------
    units : int
        Size ``U`` of the hidden state, ``>= 1``.
    activation : str or callable, default "tanh"
        The non-linearity ``act``.
    use_bias : bool, default True
    kernel_initializer, recurrent_initializer, bias_initializer : str or initializer
        Defaults ``"glorot_uniform"``, ``"orthogonal"``, ``"zeros"``.
    kernel_regularizer, recurrent_regularizer, bias_regularizer : regularizer or None
    kernel_constraint, recurrent_constraint, bias_constraint : constraint or None
    dropout : float in [0, 1), default 0
        Fraction of the inputs dropped (one mask per sequence) in training.
    recurrent_dropout : float in [0, 1), default 0
        Fraction of ``h_{t-1}`` dropped (one mask per sequence) in training.
    seed : int or None
        Seed of the dropout masks.

    Notes
    -----
    With input ``x_t`` of size ``F``, one step is

    .. math:: h_t = \mathrm{act}(x_t W + h_{t-1} U + b)

    with ``kernel`` ``W (F, U)``, ``recurrent_kernel`` ``U (U, U)`` and
    ``bias`` ``b (U,)``: the weights of ``keras.layers.SimpleRNNCell``, in the
    same order, so they interchange. The cell's output is ``h_t``; the
    lecture's read-out ``y_t = softmax(V h_t)`` is a ``Dense`` layer on top
    (see :mod:`seqkit.networks`).
    """

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        features = input_shape[-1]
        self.kernel = self._add("kernel", (features, self.units), "kernel")
        self.recurrent_kernel = self._add("recurrent_kernel", (self.units, self.units), "recurrent")
        self.bias = self._add("bias", (self.units,), "bias") if self.use_bias else None

    def call(self, inputs, states, training=False):
        h_prev = states[0] if isinstance(states, (list, tuple)) else states
        inputs, h_prev = self._dropped(inputs, h_prev, training)
        z = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            z = z + self.bias
        # (x W + b) + h U: the order of the fast path's training pass and of
        # keras.layers.SimpleRNNCell, so that float16 rounds alike (its inference pass
        # computes x W + h U in one matmul, then adds b: within the float16 tolerance).
        h = self.activation(z + ops.matmul(h_prev, self.recurrent_kernel))
        return h, [h] if isinstance(states, (list, tuple)) else h

    def fast_path_supported(self):
        """Whether :func:`seqkit.cells._fast.elman_sequence` can run this cell's recurrence."""
        return self._activation_name(self.activation) in _fast.ACTIVATIONS

    def fast_sequence(self, x, states, mask, training, return_sequences, compiled=True):
        """Run a whole time-major sequence; see :func:`seqkit.cells._fast.run_recurrence`
        (``compiled`` or not, in training) or :func:`seqkit.cells._graph.elman_sequence`
        (inference, not ``compiled``)."""
        weights = [self.kernel, self.recurrent_kernel, self._bias_or_zeros(self.units)]
        activation = self._activation_name(self.activation)
        if not (compiled or training):
            return _graph.elman_sequence(x, states, mask, weights, activation, return_sequences)
        return _fast.elman_sequence(x, states, mask, weights, activation, training,
                                    return_sequences, compiled)


@keras.saving.register_keras_serializable(package="seqkit")
class ElmanRNN(RecurrentLayer):
    """Elman network layer: :class:`ElmanRNNCell` over a sequence, with a compiled fast path.

    Takes the arguments of :class:`ElmanRNNCell`, of ``keras.layers.RNN``
    (``return_sequences``, ``return_state``, ``go_backwards``, ``stateful``,
    ``unroll``, ``zero_output_for_mask``) and of ``keras.layers.Layer``
    (``name``, ``dtype``, ``trainable``, ``activity_regularizer``, ...), like
    ``keras.layers.SimpleRNN``: code written for ``SimpleRNN`` runs unchanged
    and gives its numbers. One difference: ``activity_regularizer`` applies
    to the layer's output, as in ``keras.layers.LSTM``, where ``SimpleRNN``
    drops it.

    Call arguments:
        sequences: ``(batch, timesteps, features)`` real numbers (floats,
            ints or bools), cast to the layer's compute dtype.
        initial_state: the initial ``h``, a tensor (or a list of one) of
            shape ``(batch, units)``; a state of batch 1, or of shape
            ``(units,)``, is shared by every sequence, and sequences of batch
            1 run from every state given, as in Keras. None: zeros.
        mask: ``(batch, timesteps)`` bools (or 0/1 numbers), True at the real
            steps; a masked step keeps the state.
        training: whether dropout applies.

    Parameters
    ----------
    units : int
        Size of the hidden state.
    unroll : bool, default False
        As in ``keras.layers.RNN``: unroll the loop in Python (the number of
        steps must be known). An unrolled layer steps through the cell
        rather than taking the fast path.
    fast_path : bool, default True
        Run the recurrence as one XLA-compiled loop with a hand-written
        backward pass (:mod:`seqkit.cells._fast`) when the configuration allows
        it (activation tanh, sigmoid, relu or linear; no ``recurrent_dropout``;
        ``unroll=False``); otherwise step through the cell. Same numbers
        either way. Gradients of its gradients (a gradient penalty,
        forward-mode ``jvp``) need ``False``: the fast path raises
        :class:`~seqkit.exceptions.HigherOrderGradientError`.
    **kwargs
        Cell arguments (see :class:`ElmanRNNCell`) and layer arguments.

    Examples
    --------
    >>> layer = ElmanRNN(32, return_sequences=True)
    >>> tuple(layer(np.zeros((4, 10, 3), "float32")).shape)
    (4, 10, 32)
    """

    cell_class = ElmanRNNCell
