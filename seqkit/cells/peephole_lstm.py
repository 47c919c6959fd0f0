"""The peephole LSTM (Gers & Schmidhuber): ``PeepholeLSTMCell`` and its layer ``PeepholeLSTM``."""

import warnings

import keras
from keras import ops

from seqkit._validation import check_choice, check_float
from seqkit.cells import _fast, _graph
from seqkit.cells._base import RecurrentCell, RecurrentLayer, get_keras_object

PEEPHOLE_MODES = ("diagonal", "full", None)
PEEPHOLE_NAMES = ("peephole_input", "peephole_forget", "peephole_output")
IMPLEMENTATIONS = (1, 2)
USE_CUDNN = ("auto", True, False)


@keras.saving.register_keras_serializable(package="seqkit")
class PeepholeLSTMCell(RecurrentCell):
    r"""Cell of the LSTM with peephole connections (Gers & Schmidhuber, 2000).

    Parameters
    ----------
    units : int
        Size ``U`` of ``h`` and ``c``, ``>= 1``.
    activation : str or callable, default "tanh"
        ``act``, applied to the candidate and to ``c_t`` on output.
    recurrent_activation : str or callable, default "sigmoid"
        ``σ``, the gate non-linearity.
    peepholes : {"diagonal", "full", None}, default "diagonal"
        ``"diagonal"``: ``p ⊙ c`` with vectors ``p (U,)``; ``"full"``: ``c P``
        with matrices ``P (U, U)`` (the ``W_{ci} c_{t-1}`` form); ``None``: no
        peepholes, which is exactly ``keras.layers.LSTMCell``.
    peephole_initializer : str or initializer, default "zeros"
        Zeros start the cell as a plain LSTM; the peepholes then learn.
    unit_forget_bias : bool, default True
        Initialise the forget-gate bias to 1 (Jozefowicz et al., 2015).
    cell_clip : float or None, default None
        If set, clip ``c_t`` to ``[-cell_clip, cell_clip]`` after each update.
    peephole_regularizer, peephole_constraint : regularizer, constraint or None
    implementation : {1, 2}, default 2
        As in ``keras.layers.LSTMCell``: 1 draws a dropout mask per gate (four
        for the inputs, four for ``h_{t-1}``), 2 one mask shared by the gates;
        ``recurrent_dropout > 0`` sets 1, as Keras does, so that the same seed
        drops the same units as Keras' LSTM. Without dropout both give the
        same numbers, and the cell runs the fused matmul either way.
    **kwargs
        ``use_bias``, the ``kernel_*``, ``recurrent_*`` and ``bias_*``
        initializers, regularizers and constraints, ``dropout``,
        ``recurrent_dropout`` and ``seed``, as in :class:`ElmanRNNCell`.

    Notes
    -----
    With ``z = x_t W + h_{t-1} U + b`` split in gate order i, f, c, o:

    .. math::

        i_t &= σ(z_i + p_i ⊙ c_{t-1}) \\
        f_t &= σ(z_f + p_f ⊙ c_{t-1}) \\
        c_t &= f_t ⊙ c_{t-1} + i_t ⊙ \mathrm{act}(z_c) \\
        o_t &= σ(z_o + p_o ⊙ c_t) \\
        h_t &= o_t ⊙ \mathrm{act}(c_t)

    The input and forget gates see ``c_{t-1}``; the output gate sees the new
    ``c_t``. Weights: ``kernel (F, 4U)``, ``recurrent_kernel (U, 4U)``,
    ``bias (4U,)`` laid out as in ``keras.layers.LSTMCell``, so they
    interchange, plus ``peephole_input``, ``peephole_forget`` and
    ``peephole_output``.
    """

    def __init__(
        self,
        units,
        recurrent_activation="sigmoid",
        peepholes="diagonal",
        peephole_initializer="zeros",
        peephole_regularizer=None,
        peephole_constraint=None,
        unit_forget_bias=True,
        cell_clip=None,
        implementation=2,
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        owner = type(self).__name__
        self.implementation = 1 if self.recurrent_dropout else int(
            check_choice(implementation, "implementation", owner, IMPLEMENTATIONS))
        # Read by Keras' DropoutRNNCell: a list of this many masks, one per gate.
        self.dropout_mask_count = 4 if self.implementation == 1 else None
        self.recurrent_activation = get_keras_object(
            "activation", recurrent_activation, "recurrent_activation", owner
        )
        self.peepholes = check_choice(peepholes, "peepholes", owner, PEEPHOLE_MODES)
        self.peephole_initializer = get_keras_object(
            "initializer", peephole_initializer, "peephole_initializer", owner
        )
        self.peephole_regularizer = get_keras_object(
            "regularizer", peephole_regularizer, "peephole_regularizer", owner
        )
        self.peephole_constraint = get_keras_object(
            "constraint", peephole_constraint, "peephole_constraint", owner
        )
        self.unit_forget_bias = bool(unit_forget_bias)
        self.cell_clip = check_float(
            cell_clip, "cell_clip", owner, low=0.0, low_inclusive=False, allow_none=True
        )
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def build(self, input_shape):
        units = self.units
        self.kernel = self._add("kernel", (input_shape[-1], 4 * units), "kernel")
        self.recurrent_kernel = self._add("recurrent_kernel", (units, 4 * units), "recurrent")
        self.bias = None
        if self.use_bias:
            initializer = self.bias_initializer
            if self.unit_forget_bias:
                base = self.bias_initializer

                def initializer(_, *args, **kwargs):
                    return ops.concatenate([
                        base((units,), *args, **kwargs),
                        ops.ones((units,), dtype=kwargs.get("dtype")),
                        base((2 * units,), *args, **kwargs),
                    ])

            self.bias = self._add("bias", (4 * units,), "bias", initializer)
        shape = (units,) if self.peepholes == "diagonal" else (units, units)
        self.peephole_weights = [
            self._add(name, shape, "peephole") for name in PEEPHOLE_NAMES
        ] if self.peepholes else []

    def _per_gate_dropped(self, inputs, h_prev):
        """``x W + h U`` (no bias) with each gate's own dropout masks on ``x`` and ``h``
        (``implementation=1``, as ``keras.layers.LSTMCell`` applies them)."""
        masks = [self.get_dropout_mask(inputs), self.get_recurrent_dropout_mask(h_prev)]
        kernels = [ops.split(self.kernel, 4, axis=1), ops.split(self.recurrent_kernel, 4, axis=1)]
        gates = []
        for gate in range(4):
            gates.append(sum(
                ops.matmul(value if mask is None else value * mask[gate], kernel[gate])
                for value, mask, kernel in zip((inputs, h_prev), masks, kernels)
            ))
        return ops.concatenate(gates, axis=-1)

    def _peep(self, c, weight):
        return c * weight if self.peepholes == "diagonal" else ops.matmul(c, weight)

    def call(self, inputs, states, training=False):
        h_prev, c_prev = states
        if self.dropout_mask_count and training and (self.dropout or self.recurrent_dropout):
            z = self._per_gate_dropped(inputs, h_prev)
        else:
            inputs, h_prev = self._dropped(inputs, h_prev, training)
            z = ops.matmul(inputs, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        if self.peepholes:
            p_i, p_f, p_o = self.peephole_weights
            z_i = z_i + self._peep(c_prev, p_i)
            z_f = z_f + self._peep(c_prev, p_f)
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        c = f * c_prev + i * self.activation(z_c)
        if self.cell_clip is not None:
            c = ops.clip(c, -self.cell_clip, self.cell_clip)
        if self.peepholes:
            z_o = z_o + self._peep(c, p_o)
        h = self.recurrent_activation(z_o) * self.activation(c)
        return h, [h, c]

    def fast_path_supported(self):
        """Whether :func:`seqkit.cells._fast.lstm_sequence` can run this cell's recurrence."""
        return (
            self._activation_name(self.activation) == "tanh"
            and self._activation_name(self.recurrent_activation) == "sigmoid"
            and not (self.dropout and self.dropout_mask_count)  # one input mask per gate
        )

    def fast_sequence(self, x, states, mask, training, return_sequences, compiled=True):
        """Run a whole time-major sequence; see :func:`seqkit.cells._fast.run_recurrence`
        (``compiled`` or not, in training) or :func:`seqkit.cells._graph.lstm_sequence`
        (inference, not ``compiled``)."""
        weights = [self.kernel, self.recurrent_kernel, self._bias_or_zeros(4 * self.units),
                   *self.peephole_weights]
        if not (compiled or training):
            return _graph.lstm_sequence(x, states, mask, weights, self.peepholes,
                                        self.cell_clip, return_sequences)
        return _fast.lstm_sequence(x, states, mask, weights, self.peepholes, self.cell_clip,
                                   training, return_sequences, compiled)

    def get_config(self):
        return {
            **super().get_config(),
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            "peepholes": self.peepholes,
            "peephole_initializer": keras.initializers.serialize(self.peephole_initializer),
            "peephole_regularizer": keras.regularizers.serialize(self.peephole_regularizer),
            "peephole_constraint": keras.constraints.serialize(self.peephole_constraint),
            "unit_forget_bias": self.unit_forget_bias,
            "cell_clip": self.cell_clip,
            "implementation": self.implementation,
        }


@keras.saving.register_keras_serializable(package="seqkit")
class PeepholeLSTM(RecurrentLayer):
    """Peephole LSTM layer: :class:`PeepholeLSTMCell` over a sequence, with a compiled fast path.

    Takes the arguments of :class:`PeepholeLSTMCell`, of ``keras.layers.RNN``
    (``return_sequences``, ``return_state``, ``go_backwards``, ``stateful``,
    ``unroll``, ``zero_output_for_mask``) and of ``keras.layers.Layer``
    (``name``, ``dtype``, ``trainable``, ``activity_regularizer``, ...), like
    ``keras.layers.LSTM``: with ``peepholes=None``, code written for
    ``keras.layers.LSTM`` runs unchanged and gives its numbers. With
    ``return_state=True`` it returns ``[output, h_T, c_T]``.

    Call arguments:
        sequences: ``(batch, timesteps, features)`` real numbers (floats,
            ints or bools), cast to the layer's compute dtype.
        initial_state: ``[h_0, c_0]``, a list or tuple of two tensors of shape
            ``(batch, units)``; a state of batch 1, or of shape ``(units,)``,
            is shared by every sequence, and sequences of batch 1 run from
            every state given, as in Keras. None: zeros.
        mask: ``(batch, timesteps)`` bools (or 0/1 numbers), True at the real
            steps; a masked step keeps the states.
        training: whether dropout applies.

    Parameters
    ----------
    units : int
        Size of ``h`` and ``c``.
    unroll : bool, default False
        As in ``keras.layers.RNN``: unroll the loop in Python (the number of
        steps must be known). An unrolled layer steps through the cell
        rather than taking the fast path.
    use_cudnn : {"auto", True, False}, default "auto"
        Accepted as ``keras.layers.LSTM`` accepts it, so that Keras code and
        configs carry over, and kept in the config. This layer never runs on
        cuDNN (its fast path is the XLA loop, on every device), so the
        value changes nothing; ``True``, which asks for cuDNN, warns.
    fast_path : bool, default True
        Run the recurrence as one XLA-compiled loop with a hand-written
        backward pass (:mod:`seqkit.cells._fast`) when the configuration allows
        it (tanh activation, sigmoid gates, no ``recurrent_dropout``, no
        per-gate input dropout, ``unroll=False``); otherwise step through the
        cell. Same numbers either way. Gradients of its gradients (a gradient
        penalty, forward-mode ``jvp``) need ``False``: the fast path raises
        :class:`~seqkit.exceptions.HigherOrderGradientError`.
    **kwargs
        Cell arguments (see :class:`PeepholeLSTMCell`, ``implementation``
        included) and layer arguments.
    """

    cell_class = PeepholeLSTMCell

    def __init__(self, units, use_cudnn="auto", **kwargs):
        use_cudnn = check_choice(use_cudnn, "use_cudnn", type(self).__name__, USE_CUDNN)
        super().__init__(units, **kwargs)
        self.use_cudnn = use_cudnn if isinstance(use_cudnn, str) else bool(use_cudnn)
        if self.use_cudnn is True:
            warnings.warn(
                f"{type(self).__name__} never runs on cuDNN: use_cudnn=True is kept in the "
                "config, but the layer runs its XLA fast path (or its cell, step by step). "
                "Pass use_cudnn='auto' to silence this warning, or use keras.layers.LSTM "
                "to run on cuDNN.",
                UserWarning,
                stacklevel=2,
            )

    def get_config(self):
        return {**super().get_config(), "use_cudnn": self.use_cudnn}
