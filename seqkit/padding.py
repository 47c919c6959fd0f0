"""Padding: which steps of a batch of sequences are real, written once for every layer.

Numeric sequences of different lengths are padded at their end with steps
whose features are all NaN, token sequences with :data:`PAD_TOKEN` (token id
:data:`PAD_ID` once looked up). The networks' masks
(:class:`seqkit.networks.PaddingMask`), the estimators and the exported graphs
all read padding with the functions here, so they cannot disagree. This module
imports only Keras and TensorFlow (lazily), so :mod:`seqkit.networks` can use it.
"""

PAD_ID = 0
"""Token id of padding steps."""

PAD_TOKEN = ""
"""The token that pads token sequences in exported models; never a token itself."""


def real_steps(values):
    """Which steps of NaN-padded numeric sequences are real: those not all NaN.

    Parameters
    ----------
    values : array or tensor of shape (batch, time, features)

    Returns
    -------
    tensor of bool, shape (batch, time)
    """
    from keras import ops

    return ops.logical_not(ops.all(ops.isnan(values), axis=-1))


def check_padded(values, name):
    """``values`` once TensorFlow has checked that they are a well-padded batch of sequences.

    The rules a served request follows (and the pyfunc model checks the same
    way before the graph runs): sequences are padded at their end only, with
    steps all NaN (numeric) or :data:`PAD_TOKEN` (tokens); every sequence has
    a real step; a real numeric step has no NaN and no inf. A request that
    breaks one fails with ``tf.errors.InvalidArgumentError`` carrying the
    rule, which :class:`seqkit.export.ExportedSignature` raises as
    :class:`~seqkit.exceptions.InvalidInputError`.

    Parameters
    ----------
    values : tensor of shape (batch, time, features) float, or (batch, time) string
    name : str
        The input's name in the messages.

    Returns
    -------
    tensor
        ``values``, after the checks.
    """
    import tensorflow as tf

    checks = []
    if values.dtype == tf.string:
        padding = tf.equal(values, PAD_TOKEN)
    else:
        missing = tf.math.is_nan(values)
        padding = tf.reduce_all(missing, axis=-1)
        checks += [
            tf.debugging.assert_equal(
                tf.reduce_any(tf.math.is_inf(values)), False,
                message=f"The {name!r} input must not contain inf."),
            tf.debugging.assert_equal(
                tf.reduce_any(tf.reduce_any(missing, axis=-1) & ~padding), False,
                message=f"The {name!r} input has NaN in some features of a step. NaN marks "
                        "padding only when a step's features are all NaN."),
        ]
    n = tf.reduce_sum(tf.cast(~padding, tf.int32), axis=1)
    at_end = tf.range(tf.shape(padding)[1])[None, :] >= n[:, None]
    checks += [
        tf.debugging.assert_equal(
            tf.reduce_any(tf.not_equal(padding, at_end)), False,
            message=f"The {name!r} input has padding before real steps. Pad sequences at "
                    "their end only."),
        tf.debugging.assert_equal(
            tf.reduce_any(tf.equal(n, 0)), False,
            message=f"The {name!r} input holds a sequence with no real step."),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(values)
