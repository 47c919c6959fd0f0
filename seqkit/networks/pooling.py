"""Shorter sequences for the recurrent layers: the mean of each run of steps.

A recurrent network trained by backpropagation through time learns slowly on
long sequences: the gradient of the last state with respect to early steps
passes through hundreds of Jacobians. Averaging each run of ``size`` steps
(the piecewise aggregate approximation of Keogh et al., 2001, "Dimensionality
reduction for fast similarity search in large time series databases") keeps
the shape of a long, smooth series in a length the network learns from, at a
``size``-th of the cost per step.
"""

import keras
from keras import ops

from seqkit._validation import check_int


@keras.saving.register_keras_serializable(package="seqkit")
class StepPooling(keras.layers.Layer):
    """The mean of each run of ``size`` steps of NaN-padded sequences.

    Input ``(batch, time, features)``, NaN on padded steps (as
    :class:`~seqkit.networks.masking.PaddingMask` reads them); output
    ``(batch, ceil(time / size), features)``: each output step is the mean of
    the real steps among ``size`` input steps, and NaN where all of them are
    padding, so the padding mask after this layer finds the padded output
    steps. ``size=1`` passes the input on.

    Parameters
    ----------
    size : int
        Steps averaged into one, ``>= 1``.

    Examples
    --------
    >>> x = np.array([[[1.0], [3.0], [5.0], [np.nan]]], dtype="float32")
    >>> np.asarray(StepPooling(2)(x))[0, :, 0]
    array([2., 5.], dtype=float32)
    """

    def __init__(self, size, **kwargs):
        super().__init__(**kwargs)
        self.size = check_int(size, "size", type(self).__name__, minimum=1)

    def call(self, inputs):
        if self.size == 1:
            return inputs
        shape = ops.shape(inputs)
        batch, steps, features = shape[0], shape[1], inputs.shape[-1]
        extra = (self.size - steps % self.size) % self.size  # no negative operand: ONNX's Mod
        real = ops.cast(ops.logical_not(ops.isnan(inputs)), inputs.dtype)
        # Zeros as where's second operand, not its third: tf2onnx turns where(c, x, y) into
        # arithmetic that lets a NaN in the branch not taken through.
        values = ops.where(ops.isnan(inputs), ops.zeros_like(inputs), inputs)
        tail = ops.zeros((batch, extra, features), dtype=inputs.dtype)
        total, count = (
            ops.sum(ops.reshape(ops.concatenate([part, tail], axis=1),
                                (batch, -1, self.size, features)), axis=2)
            for part in (values, real))
        # NaN where every step is padding, from 0 / 0, outside the gradient's path.
        padding = ops.stop_gradient(ops.zeros_like(count) / count)
        return total / ops.maximum(count, 1.0) + padding

    def compute_output_shape(self, input_shape):
        steps = input_shape[1]
        return (input_shape[0], None if steps is None else -(-steps // self.size),
                input_shape[2])

    def get_config(self):
        return {**super().get_config(), "size": self.size}
