"""Masks from padding: NaN steps of numeric sequences, token id 0 of token sequences.

Both layers pass their input on (NaN replaced by 0) and give the layers after
them a Keras mask, ``True`` on real steps, so that recurrent layers skip the
padded steps and losses leave them out.
"""

import keras
from keras import ops

from seqkit.padding import PAD_ID, real_steps


@keras.saving.register_keras_serializable(package="seqkit")
class TokenMask(keras.layers.Layer):
    """Pass ``inputs[0]`` on, masked where the token id ``inputs[1][..., 0]`` is 0 (padding)."""

    def call(self, inputs):
        return inputs[0]

    def compute_mask(self, inputs, mask=None):
        return ops.not_equal(inputs[1][..., 0], PAD_ID)

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
        return real_steps(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape


def _masked(layer, inputs):
    """``layer(inputs)`` and the mask it gives the layers after it, both symbolic."""
    return layer(inputs), layer.compute_mask(inputs)
