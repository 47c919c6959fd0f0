"""A fully convolutional branch beside the recurrent layers (LSTM-FCN).

Karim, Majumdar, Darabi and Chen (2017), "LSTM Fully Convolutional Networks
for Time Series Classification", IEEE Access 6: three temporal convolutions
of width 8, 5 and 3, each followed by batch normalisation and a ReLU, then
the mean over time, concatenated with the recurrent layers' output before
the softmax. The convolutions see the shape of a long series at every step
at once, where backpropagation through time learns slowly; the recurrent
branch keeps the order.

As in the paper, the recurrent layers' output passes a dropout of 0.8
(:data:`RECURRENT_DROPOUT`, in training only) before it joins the branch's;
a many-to-many network's, at every step. Without it the recurrent output,
2 x 64 features of a bidirectional layer beside the branch's 64, learnt the
few training series by heart; the suite's figures are beside ``conv_branch``
in the docstrings of ``SequenceClassifier`` and ``SequenceTagger``.

Two choices differ from the paper, both measured on this project's accuracy
suite (``benchmarks/accuracy.py``):

- half its filters, 64, 128 and 64 instead of 128, 256 and 128: a training
  step on 8 series of 577 steps took 28 ms instead of 81 ms on 2 CPU cores,
  and the suite's long sets still beat 1-NN Euclidean (Car 0.78, seed 0);
- batch normalisation's moving statistics follow with momentum 0.9 (Keras'
  default is 0.99): a fit of about 2,000 updates that stops early kept
  statistics still near their initial values, and DistalPhalanxOutlineAgeGroup
  fell to 0.47 (every test series one class); with 0.9, 0.72 and 0.75
  (seeds 0 and 1).
"""

import keras
from keras import ops

from seqkit._validation import check_bool, check_int
from seqkit.exceptions import InvalidParameterError

FILTERS = (64, 128, 64)
MOMENTUM = 0.9
KERNEL_SIZES = (8, 5, 3)
RECURRENT_DROPOUT = 0.8
"""Dropout of the recurrent layers' output where a network merges it with the branch's
(Karim et al.'s rate)."""


@keras.saving.register_keras_serializable(package="seqkit")
class ConvBranch(keras.layers.Layer):
    """Temporal convolutions, batch normalisation and ReLU, then (by default) the mean over the
    real steps.

    Padded steps are zero before every convolution, as the zero padding of
    ``padding="same"`` beyond a sequence's end is, so a sequence gives the
    same output alone as in a batch with longer ones; batch normalisation
    and the mean over time count the real steps only.

    Call arguments:
        inputs: ``(batch, time, features)`` float, 0 on padded steps.
        mask: ``(batch, time)`` bool, True on real steps; None: all real.

    Output ``(batch, filters[-1])``; with ``pool=False``, ``(batch, time,
    filters[-1])``, 0 on padded steps, and the input's mask passed on.

    Parameters
    ----------
    filters : tuple of int, default (64, 128, 64)
        Filters of each convolution (half of Karim et al.'s, see above).
    kernel_sizes : tuple of int, default (8, 5, 3)
        Width in steps of each convolution; as many as ``filters``.
    pool : bool, default True
        Give the mean over the real steps (a many-to-one network's branch);
        ``False``: every step's features (a many-to-many network's).
    """

    def __init__(self, filters=FILTERS, kernel_sizes=KERNEL_SIZES, pool=True, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.pool = check_bool(pool, "pool", owner)
        self.filters = tuple(check_int(f, "filters", owner, minimum=1) for f in filters)
        self.kernel_sizes = tuple(check_int(k, "kernel_sizes", owner, minimum=1)
                                  for k in kernel_sizes)
        if not self.filters or len(self.filters) != len(self.kernel_sizes):
            raise InvalidParameterError(
                f"The 'filters' and 'kernel_sizes' parameters of {owner} must be as many, at "
                f"least one. Got {len(self.filters)} and {len(self.kernel_sizes)} instead.")
        self.convolutions = [
            keras.layers.Conv1D(f, k, padding="same", use_bias=False, name=f"conv_{i + 1}")
            for i, (f, k) in enumerate(zip(self.filters, self.kernel_sizes))]
        self.norms = [keras.layers.BatchNormalization(momentum=MOMENTUM,
                                                      name=f"conv_norm_{i + 1}")
                      for i in range(len(self.filters))]

    def build(self, input_shape):
        shape = tuple(input_shape)
        for convolution, norm in zip(self.convolutions, self.norms):
            convolution.build(shape)
            shape = convolution.compute_output_shape(shape)
            norm.build(shape)

    def call(self, inputs, mask=None, training=None):
        real = (ops.ones(ops.shape(inputs)[:2], dtype=inputs.dtype) if mask is None
                else ops.cast(mask, inputs.dtype))
        h = inputs * real[..., None]
        for convolution, norm in zip(self.convolutions, self.norms):
            h = norm(convolution(h), training=training, mask=mask)
            h = ops.relu(h) * real[..., None]
        if not self.pool:
            return h
        return ops.sum(h, axis=1) / ops.maximum(ops.sum(real, axis=1, keepdims=True), 1.0)

    def compute_mask(self, inputs, mask=None):
        return None if self.pool else mask

    def compute_output_shape(self, input_shape):
        if not self.pool:
            return (*input_shape[:2], self.filters[-1])
        return (input_shape[0], self.filters[-1])

    def get_config(self):
        return {**super().get_config(), "filters": list(self.filters),
                "kernel_sizes": list(self.kernel_sizes), "pool": self.pool}
