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
        extra = (-steps) % self.size
        padded = ops.concatenate(
            [inputs, ops.full((batch, extra, features), float("nan"), dtype=inputs.dtype)],
            axis=1)
        groups = ops.reshape(padded, (batch, -1, self.size, features))
        real = ops.logical_not(ops.isnan(groups))
        total = ops.sum(ops.where(real, groups, ops.zeros_like(groups)), axis=2)
        count = ops.sum(ops.cast(real, inputs.dtype), axis=2)
        nan = ops.full_like(total, float("nan"))
        return ops.where(count > 0, total / ops.maximum(count, 1.0), nan)

    def compute_output_shape(self, input_shape):
        steps = input_shape[1]
        return (input_shape[0], None if steps is None else -(-steps // self.size),
                input_shape[2])

    def get_config(self):
        return {**super().get_config(), "size": self.size}
