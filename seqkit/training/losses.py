"""Cross-entropy of integer labels with smoothed targets."""

import keras
from keras import ops

from seqkit._validation import check_float


@keras.saving.register_keras_serializable(package="seqkit")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Cross-entropy of class probabilities against integer labels smoothed toward uniform.

    The target of a label ``c`` among ``K`` classes is ``1 - label_smoothing
    + label_smoothing / K`` for ``c`` and ``label_smoothing / K`` for every
    other class; the loss is ``-sum_k target_k log p_k`` (label smoothing,
    Szegedy et al. 2016, "Rethinking the Inception architecture", section 7).
    It keeps a network that has learnt its few training sequences by heart
    from driving its probabilities to 0 and 1. Keras' own
    ``SparseCategoricalCrossentropy`` takes no ``label_smoothing``.

    Parameters
    ----------
    label_smoothing : float in [0, 1), default 0.1
        0 is the plain cross-entropy.
    name : str, default "smoothed_sparse_crossentropy"

    Notes
    -----
    ``y_true``: ``(batch,)`` or ``(batch, 1)`` class indices; ``y_pred``:
    ``(batch, K)`` probabilities (a softmax's output).
    """

    def __init__(self, label_smoothing=0.1, name="smoothed_sparse_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = check_float(label_smoothing, "label_smoothing",
                                           type(self).__name__, low=0.0, high=1.0,
                                           high_inclusive=False)

    def call(self, y_true, y_pred):
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        targets = ops.one_hot(labels, ops.shape(y_pred)[-1], dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(targets, y_pred,
                                                     label_smoothing=self.label_smoothing)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}
