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
any batch and length without retracing, made as lean as we could measure
without XLA (the choices, on that stream, in one process against Keras'
LSTM at p50 3.6-3.9 ms, under a load average of 2.1-2.6 from other work):

* the input projection ``x W + b`` of every step is one matmul before the
  loop (cheap for inference: nothing is kept for a backward pass), and the
  weights are read once;
* each iteration runs :data:`UNROLL` steps: a loop iteration costs about as
  much as the ops of a small step, so the PeepholeLSTM's p50 went from 3.6-3.9
  ms (one step per iteration, level with Keras' LSTM and with the layers'
  ``fast_path=False`` cell loop) to 3.5 (2 steps), 3.1 (4) and 3.1 (8);
* the last block is padded with masked steps, which keep the states.

Gradients, when asked for, come from TensorFlow's own differentiation of
the loop. The loops serve inference only, inside
:func:`shape_agnostic_inference` (the export's signatures, the estimators'
``predict``); training keeps the compiled fast path.
"""

import contextlib
import threading

import tensorflow as tf

from seqkit.cells import _fast

_SWITCH = threading.local()


@contextlib.contextmanager
def _switched(name):
    before = getattr(_SWITCH, name, False)
    setattr(_SWITCH, name, True)
    try:
        yield
    finally:
        setattr(_SWITCH, name, before)


def shape_agnostic_inference():
    """Trace seqkit's recurrent layers, for inference, as shape-agnostic graph loops.

    Within the block (a context manager), a :class:`~seqkit.cells.ElmanRNN` or
    :class:`~seqkit.cells.PeepholeLSTM` whose fast path applies, traced
    (or run eagerly) with ``training=False``, runs the loops of this module
    instead of its XLA-compiled loop: the same numbers (to float rounding),
    no compile per shape. Training calls are unaffected (but see
    :func:`uncompiled_training`). The choice is made when a function is
    traced, so a ``tf.function`` or a Keras ``predict_function`` traced
    inside the block keeps it afterwards. The switch is per thread.
    """
    return _switched("inference")


def uncompiled_training():
    """Trace the fast path's training passes as plain graph ops, without XLA.

    Within the block (a context manager), training calls of seqkit's layers
    run the fast path's forward and hand-written backward passes (the same
    functions, the same numbers to float rounding) uncompiled: no compile
    for any shape, each step slower. Measured in fresh processes
    (``SequenceClassifier`` with its defaults and 64 units on JapaneseVowels,
    10 epochs of 17 batches; medians of 3, load average about 1.2):
    PeepholeLSTM 5.5 s compiled, 5.4 s uncompiled (Keras' LSTM 5.1 s);
    ElmanRNN 4.1 s and 4.0 s (SimpleRNN 4.4 s); the same fits again in the
    process, shapes compiled: 4.1 s against 4.9 s, 3.1 against 3.6. The
    compile pays for itself after a few hundred steps; the estimators
    choose by the steps a fit will run (:data:`COMPILE_AFTER_STEPS`).
    """
    return _switched("training")


COMPILE_AFTER_STEPS = 200
"""Fits of fewer training steps (epochs times batches) than this train uncompiled."""


def active(training=False):
    """Whether :func:`shape_agnostic_inference` (or, with ``training``,
    :func:`uncompiled_training`) is on in this thread."""
    return getattr(_SWITCH, "training" if training else "inference", False)


UNROLL = 4
"""Steps per loop iteration (see the module's notes)."""

WHOLE = 16
"""Sequences of a length known when traced and at most this long (a forecaster's
window) run as one block: no padded steps."""


def _run(step, x, states, mask, kernel, bias, return_sequences):
    """Run ``states = step(z_t, states)`` over time-major ``x`` with ``z_t = x_t W + b``.

    Masked steps keep the states, as on the fast path. Returns the first
    state after every step (``None`` unless ``return_sequences``) and the
    final states.
    """
    steps, batch = tf.shape(x)[0], tf.shape(x)[1]
    unroll = x.shape[0] if x.shape[0] is not None and 0 < x.shape[0] <= WHOLE else UNROLL
    blocks = (steps + unroll - 1) // unroll
    extra = [[0, blocks * unroll - steps], [0, 0], [0, 0]]
    projected = tf.pad(_fast._flat_matmul(x, kernel) + bias, extra)
    if mask is None:
        mask = tf.ones([steps, batch, 1], tf.bool)
    mask = tf.pad(mask, extra)  # the padded steps: False, the states kept

    def in_blocks(value):
        shape = tf.concat([[blocks, unroll], tf.shape(value)[1:]], 0)
        return _fast._array(value.dtype, blocks).unstack(tf.reshape(value, shape))

    projected, mask = in_blocks(projected), in_blocks(mask)

    def body(t, states, *outputs):
        z, m = projected.read(t), mask.read(t)
        for j in range(unroll):
            states = [_fast._keep(m[j], new, old)
                      for new, old in zip(step(z[j], states), states)]
            outputs = tuple(array.write(t * unroll + j, states[0]) for array in outputs)
        return (t + 1, states, *outputs)

    outputs = (_fast._array(x.dtype, blocks * unroll),) if return_sequences else ()
    _, states, *outputs = tf.while_loop(
        lambda t, *_: t < blocks, body, (0, list(states), *outputs), maximum_iterations=blocks,
    )
    return (outputs[0].stack()[:steps] if return_sequences else None), list(states)


def _tensors(weights):
    return [tf.convert_to_tensor(w) for w in weights]


def elman_sequence(x, states, mask, weights, activation, return_sequences):
    """:func:`seqkit.cells._fast.elman_sequence` for inference, uncompiled (arguments as
    there): ``h_t = act(x_t W + b + h_{t-1} U)``."""
    kernel, recurrent_kernel, bias = _tensors(weights)
    act = _fast.ACTIVATIONS[activation][0]

    def step(z, states):
        return [act(z + tf.matmul(states[0], recurrent_kernel))]

    return _run(step, x, states, mask, kernel, bias, return_sequences)


def lstm_sequence(x, states, mask, weights, mode, cell_clip, return_sequences):
    """:func:`seqkit.cells._fast.lstm_sequence` for inference, uncompiled.

    Arguments as there (time-major ``x``, ``states = [h0, c0]``, weights in
    gate order i, f, c, o, then the peepholes).
    """
    kernel, recurrent_kernel, bias, *peepholes = _tensors(weights)

    def step(z, states):
        h, c = states
        zi, zf, zc, zo = tf.split(z + tf.matmul(h, recurrent_kernel), 4, axis=1)
        if mode is not None:
            zi = zi + _fast._peep(c, peepholes[0], mode)
            zf = zf + _fast._peep(c, peepholes[1], mode)
        c_new = tf.sigmoid(zf) * c + tf.sigmoid(zi) * tf.tanh(zc)
        if cell_clip is not None:
            c_new = tf.clip_by_value(c_new, -cell_clip, cell_clip)
        if mode is not None:
            zo = zo + _fast._peep(c_new, peepholes[2], mode)
        return [tf.sigmoid(zo) * tf.tanh(c_new), c_new]

    return _run(step, x, states, mask, kernel, bias, return_sequences)
