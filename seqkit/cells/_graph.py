"""Shape-agnostic inference loops: the fast path's recurrences as plain TensorFlow graph ops.

Why this module exists. The fast path (:mod:`seqkit.cells._fast`) compiles
one XLA program per ``(batch, length)`` shape. A model that meets one shape
again and again (training, a benchmark) gains from that; a model that
answers requests of every shape (a served SavedModel, ``predict`` on a new
sequence) pays 200-360 ms of compile for each new shape. Measured on the
60-request stream of batch 1-8 and length 5-300 (2 cores): the exported
PeepholeLSTM classifier answered at p50 155-158 ms on the XLA loop, against
4-5 ms for Keras' LSTM.

Here the same recurrences run as an uncompiled ``tf.while_loop`` that takes
any batch and length without retracing. It is the leanest loop we measured
without XLA: the input projection ``x W + b`` of every step is one matmul
before the loop (cheap for inference: nothing is stored for a backward
pass), the weights are read once, and the loop carries only the states (and
the outputs when sequences are returned). On the stream above it answered
faster than Keras' cell loop through ``keras.layers.RNN`` (the layers'
``fast_path=False``), which does two matmuls per step; see
``benchmarks/serving.py``. Gradients, when asked for, come from TensorFlow's
own differentiation of the loop.

The loops are used for inference only, inside :func:`shape_agnostic_inference`
(the export's signatures, the estimators' ``predict``); training keeps the
compiled fast path.
"""

import contextlib
import threading

import tensorflow as tf

from seqkit.cells import _fast

_SWITCH = threading.local()


@contextlib.contextmanager
def shape_agnostic_inference():
    """Trace seqkit's recurrent layers, for inference, as shape-agnostic graph loops.

    Within the block, a :class:`~seqkit.cells.ElmanRNN` or
    :class:`~seqkit.cells.PeepholeLSTM` whose fast path applies, traced
    (or run eagerly) with ``training=False``, runs the loops of this module
    instead of its XLA-compiled loop: the same numbers (to float rounding),
    no compile per shape. Training calls are unaffected. The choice is made
    when a function is traced, so a ``tf.function`` or a Keras
    ``predict_function`` traced inside the block keeps it afterwards.
    The switch is per thread.
    """
    before = getattr(_SWITCH, "on", False)
    _SWITCH.on = True
    try:
        yield
    finally:
        _SWITCH.on = before


def active():
    """Whether :func:`shape_agnostic_inference` is on in this thread."""
    return getattr(_SWITCH, "on", False)


def _result(last, outputs, return_sequences):
    return (outputs.stack() if return_sequences else None), list(last)


def elman_sequence(x, states, mask, weights, activation, return_sequences):
    """:func:`seqkit.cells._fast.elman_sequence` for inference, uncompiled.

    The fast path's Elman forward already projects the inputs before its
    loop; here it runs as plain graph ops (its Python function, outside
    XLA), storing nothing for a backward pass.
    """
    weights = [tf.convert_to_tensor(w) for w in weights]
    saved = _fast._elman_forward.python_function(x, states, mask, weights, (activation,),
                                                  False, return_sequences)
    return saved.get("h"), saved["last"]


def lstm_sequence(x, states, mask, weights, mode, cell_clip, return_sequences):
    """:func:`seqkit.cells._fast.lstm_sequence` for inference, uncompiled.

    Arguments as there (time-major ``x``, ``states = [h0, c0]``, weights in
    gate order i, f, c, o, then the peepholes). The input projection
    ``x W + b`` of all steps is one matmul before the loop.
    """
    kernel, recurrent_kernel, bias, *peepholes = [tf.convert_to_tensor(w) for w in weights]
    steps = tf.shape(x)[0]
    projected = _fast._array(x.dtype, steps).unstack(_fast._flat_matmul(x, kernel) + bias)
    masks = None if mask is None else _fast._array(tf.bool, steps).unstack(mask)

    def body(t, h, c, *outputs):
        z = projected.read(t) + tf.matmul(h, recurrent_kernel)
        zi, zf, zc, zo = tf.split(z, 4, axis=1)
        if mode is not None:
            zi = zi + _fast._peep(c, peepholes[0], mode)
            zf = zf + _fast._peep(c, peepholes[1], mode)
        c_new = tf.sigmoid(zf) * c + tf.sigmoid(zi) * tf.tanh(zc)
        if cell_clip is not None:
            c_new = tf.clip_by_value(c_new, -cell_clip, cell_clip)
        if mode is not None:
            zo = zo + _fast._peep(c_new, peepholes[2], mode)
        h_new = tf.sigmoid(zo) * tf.tanh(c_new)
        m = None if masks is None else masks.read(t)
        h_next, c_next = _fast._keep(m, h_new, h), _fast._keep(m, c_new, c)
        return (t + 1, h_next, c_next, *(array.write(t, h_next) for array in outputs))

    outputs = (_fast._array(x.dtype, steps),) if return_sequences else ()
    _, h, c, *outputs = tf.while_loop(
        lambda t, *_: t < steps, body, (0, states[0], states[1], *outputs),
        maximum_iterations=steps,
    )
    return _result([h, c], outputs[0] if outputs else None, return_sequences)
