"""The TensorFlow fast path behind :class:`ElmanRNN` and :class:`PeepholeLSTM`.

Why this module exists (measured in ``benchmarks/cells.py``): at the batch
sizes and widths these layers see, the cost of a step is the number of
TensorFlow ops it runs, not its FLOPs. ``keras.layers.RNN`` differentiates
its ``while_loop`` automatically, which runs three matmuls per backward step
(``dz U^T`` plus the two weight-gradient products). Here each recurrence runs
as an XLA-compiled ``tf.while_loop`` with a hand-written backward pass:

* the backward loop runs one matmul per step (``dz U^T``); the weight
  gradients ``X^T dZ`` and ``H_{t-1}^T dZ`` are two large matmuls after it;
* activation derivatives are taken from the stored activations
  (``tanh' = 1 - y^2``, ``sigmoid' = y (1 - y)``), never recomputed;
* XLA fuses the element-wise work of a step into a few kernels;
* on a CPU with two cores or more, a batch runs as two independent halves,
  whose loops TensorFlow runs at once, one on each core: a single XLA loop
  runs on one thread;
* Elman's loops store each step's result in place of a value they have just
  read (``h_t`` over ``x_t W``, ``dz_t`` over ``tanh'``), in a buffer an
  earlier op of the same program made. A new buffer would be filled with
  zeros before the loop, and XLA splits a fill of over 512 KB into two tasks
  on TensorFlow's intra-op threads: with the other half's loop holding the
  other core, each half then waited for a core. Forward pass of both halves
  of batch 64, T=100, 128 units: 2.7-2.8 ms with new buffers, 2.0-2.2 ms in
  place (one half alone: 1.8-1.9 ms); training step against ``SimpleRNN``,
  one process, interleaved: 1.25x before, 1.44x after (T=500, 64 units:
  1.65x, 1.92x);
* every function is traced without AutoGraph (``autograph=False``): the loops
  are explicit ``tf.while_loop`` calls, and converting the LSTM's plain
  backward loop alone took 0.8 s of a fresh fit (JapaneseVowels, one epoch:
  5.0 s with AutoGraph, 3.9 s without).

All tensors here are time-major: ``x`` is ``(T, B, F)``; ``mask`` is ``None``
or a boolean ``(T, B, 1)`` tensor, ``True`` where a step is real. A masked
step carries the state through unchanged, exactly as ``keras.layers.RNN``
does. The portable cells in :mod:`seqkit.cells` compute the same numbers
(shown by ``tests/cells``).

Devices: nothing here places an op, so on a GPU TensorFlow runs the loops
there and XLA compiles them for it; cuDNN plays no part (its LSTM has no
peepholes). Where a GPU is visible, Keras' ``jit_compile="auto"`` compiles a
model's whole train and predict steps with XLA, these loops and the
weight-gradient matmuls kept outside XLA here included. The batch runs
whole there (its two parts were measured on a CPU). Speed on a GPU is not
yet measured.
"""

import functools
import os

import tensorflow as tf

from seqkit.cells._first_order import first_order_only

ACTIVATIONS = {
    "tanh": (tf.tanh, lambda y: 1.0 - y * y),
    "sigmoid": (tf.sigmoid, lambda y: y * (1.0 - y)),
    "relu": (tf.nn.relu, lambda y: tf.cast(y > 0, y.dtype)),
    "linear": (tf.identity, tf.ones_like),
}


def _flat_matmul(a, b):
    """``a @ b`` for a ``(T, B, K)`` tensor ``a`` and a ``(K, N)`` matrix ``b``."""
    shape = tf.shape(a)
    out = tf.matmul(tf.reshape(a, [-1, shape[2]]), b)
    return tf.reshape(out, [shape[0], shape[1], tf.shape(b)[1]])


def _outer_sum(a, b):
    """``sum_t a_t^T b_t`` for ``(T, B, K)`` and ``(T, B, N)`` (or one step's ``a^T b`` for
    ``(B, K)`` and ``(B, N)``): one ``(K, N)`` matmul."""
    return tf.matmul(
        tf.reshape(a, [-1, tf.shape(a)[-1]]), tf.reshape(b, [-1, tf.shape(b)[-1]]),
        transpose_a=True,
    )


def _previous(first, sequence):
    """The sequence shifted one step back in time, starting from ``first``."""
    return tf.concat([first[None], sequence[:-1]], axis=0)


def _read(*weights):
    """Variables as tensors, read once before the loop (``custom_gradient`` takes tensors)."""
    return [tf.convert_to_tensor(w) for w in weights]


def _untaped(*tensors):
    """Hide tensors from gradient tapes: a compiled function seen by a tape would export its
    loop's TensorLists across the XLA boundary, which TensorFlow does not support."""
    return [tf.stop_gradient(t) for t in tensors]


def _keep(mask, new, old):
    return new if mask is None else tf.where(mask, new, old)


def _array(dtype, size):
    return tf.TensorArray(dtype, size=size, element_shape=None)


# ---------------------------------------------------------------- the shared driver


def run_recurrence(forward, backward, x, states, mask, weights, options, training,
                   return_sequences, in_parts=False):
    """Run ``forward`` over a sequence with ``backward`` as its gradient.

    In training, ``forward`` stores what ``backward`` needs. In inference it
    keeps only the outputs, which is faster; should a gradient be asked for
    anyway (gradient diagnostics, saliency), the forward pass is run again
    with storage before ``backward``.

    Parameters
    ----------
    forward, backward : callable
        A cell's compiled passes (``_elman_forward`` / ``_elman_backward``, ...).
    x : tf.Tensor
        ``(T, B, F)`` time-major inputs.
    states : list of tf.Tensor
        Initial states, each ``(B, U)``.
    mask : tf.Tensor or None
        ``(T, B, 1)`` booleans; a ``False`` step keeps the previous states.
    weights : list of tf.Variable or tf.Tensor
    options : tuple
        The cell's static options (activation name, peephole mode, ...).
    training : bool
    return_sequences : bool
    in_parts : bool
        Run the batch's two halves as independent loops, at once, where they
        can (see :func:`_in_parts`); False: always whole.

    Returns
    -------
    tuple
        ``(H, final_states)``: ``H`` is the ``(T, B, U)`` state after every
        step (``None`` unless ``return_sequences``); ``final_states`` a list.
    """
    n_states = len(states)
    weights = _read(*weights)

    def whole(x, states, mask):
        @tf.custom_gradient
        def run(x, *args):
            states, weights = list(args[:n_states]), list(args[n_states:])

            def forward_pass(store):
                return forward(*_untaped(x), _untaped(*states), mask, _untaped(*weights), options,
                               store, return_sequences)

            saved = forward_pass(store=training)
            outputs = ([saved["h"]] if return_sequences else []) + list(saved["last"])

            def grad(*upstream):
                full = saved if training else forward_pass(store=True)
                d_seq = upstream[0] if return_sequences else None
                d_last = [
                    tf.zeros_like(s) if d is None else d
                    for d, s in zip(upstream[-n_states:], full["last"])
                ]
                return first_order_only(
                    lambda d_seq, d_last, x, states, weights: backward(
                        d_seq, d_last, x, states, mask, weights, full, options),
                    d_seq, d_last, x, states, weights)

            return outputs, grad

        outputs = run(x, *states, *weights)
        return (outputs[0] if return_sequences else None), list(outputs[-n_states:])

    if not (in_parts and _parts_run_at_once()):
        return whole(x, states, mask)
    return _in_parts(whole, x, states, mask)


def _input_and_weight_grads(dz, d_states, x, h0, h_seq, kernel):
    """Gradients of ``x``, the initial states, ``W``, ``U`` and ``b`` from the pre-activation
    gradients ``dz (T, B, G)``: three large matmuls, run outside XLA because TensorFlow's own
    matmul is about 1.5x faster than XLA's on this CPU for these shapes."""
    return [
        _flat_matmul(dz, tf.transpose(kernel)),
        *d_states,
        _outer_sum(x, dz),
        _outer_sum(_previous(h0, h_seq), dz),
        tf.reduce_sum(dz, axis=[0, 1]),
    ]


def _recorder(names, steps, dtype):
    """TensorArrays for the per-step values named in ``names``."""
    return {name: _array(dtype, steps) for name in names}


def _record(arrays, t, values):
    return {name: array.write(t, values[name]) for name, array in arrays.items()}


def passes(forward, backward, compiled):
    """A cell's ``(forward, backward)`` for :func:`run_recurrence`: XLA-compiled, or (not
    ``compiled``) the same Python functions traced as plain graph ops, which take any shape
    without a compile (``backward`` takes ``compiled`` and passes it on to its loops).
    Measured on fresh-process fits (JapaneseVowels): the compile of the first shapes costs
    about what a short fit's compiled loop saves (see
    :func:`seqkit.cells.uncompiled_training`)."""
    if compiled:
        return forward, backward
    return forward.python_function, functools.partial(backward, compiled=False)


def _cores():
    """CPU cores this process may run on (its affinity; a CPU quota is not read: on one
    core the halves take the time of the whole batch, see the README)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _parts_run_at_once():
    """Whether two independent loops run at once: in a graph (eager calls run one after the
    other), on a CPU (no GPU visible), with two cores or more for the process and for
    TensorFlow's inter-op threads."""
    return (not tf.executing_eagerly() and _cores() > 1
            and tf.config.threading.get_inter_op_parallelism_threads() != 1
            and not tf.config.list_physical_devices("GPU"))


def _halves(batch):
    return [batch - batch // 2, batch // 2]


def _in_parts(run, x, states, mask):
    """``run(x, states, mask)`` on each half of the batch, the results joined again (on the
    whole batch for a batch of 1 known when traced).

    Why: the halves share no value, so TensorFlow's executor runs their two
    compiled loops (and, in training, their backward loops) at once, one on
    each core, where a single XLA loop runs on one thread. The numbers are
    those of a whole batch to float rounding (the weight gradients are the
    sum of the halves'). Measured on 2 cores (AVX-512), one process,
    interleaved, forward and backward pass of the layer, the whole batch's
    time over the halves' (batch, T, units): PeepholeLSTM 1.23x (64, 100,
    128), 1.60x (64, 500, 64), 1.39x (32, 200, 64), 1.49x (16, 30, 64),
    1.45x (8, 100, 64), 1.04x (4, 50, 64), 1.09x (2, 100, 64); ElmanRNN
    1.28x, 1.31x, 1.19x, 1.01x (16, 30, 64), 0.94x (8, 200, 128), 1.04x
    (4, 50, 64), 1.23x (2, 100, 64); in inference, whole / halves,
    PeepholeLSTM 8.6 / 7.4 ms (64, 100, 128), 3.3 / 1.9 ms (16, 100, 128),
    0.95 / 0.76 ms (8, 100, 64); ElmanRNN 6.6 / 4.0 ms (64, 500, 64), 1.15
    / 1.10 ms (16, 100, 128), 0.50 / 0.55 ms (8, 100, 64), 0.30 / 0.35 ms
    (16, 30, 64). Inside ``Bidirectional``, whose two directions already run
    at once, a training step was level or faster (0.94x-1.14x at batch 8-64). This
    replaced running each step of one inference loop on the two halves (from
    a batch of 32), which the two loops beat at every size measured
    (ElmanRNN 2.35 / 1.85 ms at 64, 100, 128; PeepholeLSTM 5.0 / 3.3 ms at
    32, 200, 64). The passes compiled without XLA (:func:`passes`) gained
    less and lost on an estimator's small batches (PeepholeLSTM 0.97x,
    ElmanRNN 0.85x at 16, 30, 64), so they run whole.

    Every batch of two or more runs in halves, whether its size is known
    when traced or only at run time (then a batch of 1 has an empty second
    half), so a step traced for any number of rows gives the numbers of one
    traced for each size, to the bit: a ``tf.cond`` choosing by the size at
    run time could not be differentiated (TensorFlow cannot reach the tensors
    a custom gradient keeps inside a branch). An odd batch's halves compile
    one loop each.
    """
    batch = next((n for n in (x.shape[1], *(s.shape[0] for s in states)) if n is not None),
                 None)
    if batch == 1:
        return run(x, states, mask)
    sizes = _halves(tf.shape(x)[1] if batch is None else batch)

    def halves(value, axis):
        return [None, None] if value is None else tf.split(value, sizes, axis=axis, num=2)

    split_states = zip(*[halves(s, 0) for s in states])
    (h_a, last_a), (h_b, last_b) = [
        run(x_part, list(states_part), mask_part) for x_part, states_part, mask_part
        in zip(halves(x, 1), split_states, halves(mask, 1))
    ]
    h = None if h_a is None else tf.concat([h_a, h_b], axis=1)
    return h, [tf.concat(pair, axis=0) for pair in zip(last_a, last_b)]


# ----------------------------------------------------------------------------- Elman


@tf.function(jit_compile=True, reduce_retracing=True, autograph=False)
def _elman_forward(x, states, mask, weights, options, store, return_sequences):
    kernel, recurrent_kernel, bias = weights
    act = ACTIVATIONS[options[0]][0]
    steps = tf.shape(x)[0]
    # Measured against each other (batch 64; T=100, 128 units and T=500, 64 units): one
    # matmul a step, [x_t, h_{t-1}] [W; U], runs inference 4-6% faster than the inputs'
    # projection computed for every step before the loop, which trains 2-3% faster.
    if store:
        step_inputs = _array(x.dtype, steps).unstack(_flat_matmul(x, kernel))

        def pre_activation(projected, h):
            return projected + bias + tf.matmul(h, recurrent_kernel)
    else:
        step_inputs = _array(x.dtype, steps).unstack(x)
        stacked = tf.concat([kernel, recurrent_kernel], axis=0)

        def pre_activation(x_t, h):
            return tf.matmul(tf.concat([x_t, h], axis=1), stacked) + bias

    masks = None if mask is None else _array(tf.bool, steps).unstack(mask)
    names = (["h"] if return_sequences and not store else []) + (
        ["fresh"] if store and mask is not None else []
    )

    def step(step_input, h, m):
        h_new = act(pre_activation(step_input, h))
        return _keep(m, h_new, h), h_new

    def body(t, h, step_inputs, arrays):
        m = None if masks is None else masks.read(t)
        h_next, h_new = step(step_inputs.read(t), h, m)
        if store:  # h_t overwrites x_t W in its buffer (see the module's docstring)
            step_inputs = step_inputs.write(t, h_next)
        return t + 1, h_next, step_inputs, _record(arrays, t, {"h": h_next, "fresh": h_new})

    _, h, step_inputs, arrays = tf.while_loop(
        lambda t, *_: t < steps, body,
        (0, states[0], step_inputs, _recorder(names, steps, x.dtype)), maximum_iterations=steps,
    )
    stored = {"h": step_inputs.stack()} if store else {}
    return {"last": [h], **stored, **{name: array.stack() for name, array in arrays.items()}}


@tf.function(jit_compile=True, reduce_retracing=True, autograph=False)
def _elman_backward_loop(d_seq, d_last, x, states, mask, weights, saved, options):
    kernel, recurrent_kernel, _ = weights
    fresh = saved["h"] if mask is None else saved["fresh"]
    derivative = ACTIVATIONS[options[0]][1](fresh)
    if mask is not None:
        derivative = derivative * tf.cast(mask, derivative.dtype)
    steps = tf.shape(x)[0]
    slopes = _array(x.dtype, steps).unstack(derivative)
    upstream = None if d_seq is None else _array(x.dtype, steps).unstack(d_seq)
    masks = None if mask is None else _array(tf.bool, steps).unstack(mask)
    recurrent_t = tf.transpose(recurrent_kernel)

    def body(t, dh, slopes):
        if upstream is not None:
            dh = dh + upstream.read(t)
        dz = dh * slopes.read(t)
        dh_prev = tf.matmul(dz, recurrent_t)
        if masks is not None:
            dh_prev = dh_prev + tf.where(masks.read(t), tf.zeros_like(dh), dh)
        return t - 1, dh_prev, slopes.write(t, dz)  # dz_t overwrites the slope in its buffer

    _, dh0, dz = tf.while_loop(
        lambda t, *_: t >= 0, body, (steps - 1, d_last[0], slopes), maximum_iterations=steps,
    )
    return dz.stack(), [dh0]


def _elman_backward(d_seq, d_last, x, states, mask, weights, saved, options, compiled=True):
    loop = _elman_backward_loop if compiled else _elman_backward_loop.python_function
    dz, d_states = loop(d_seq, d_last, x, states, mask, weights, saved, options)
    return _input_and_weight_grads(dz, d_states, x, states[0], saved["h"], weights[0])


def elman_sequence(x, states, mask, weights, activation, training, return_sequences,
                   compiled=True):
    """Run ``h_t = act(x_t W + h_{t-1} U + b)`` over a time-major sequence.

    ``weights`` is ``[W (F, U), U (U, U), b (U,)]`` (``b`` zeros for a cell
    without bias) and ``activation`` a key of :data:`ACTIVATIONS`; the rest is
    as in :func:`run_recurrence`, which this calls; ``compiled=False`` runs the same
    passes as plain graph ops (see :func:`passes`).
    """
    return run_recurrence(*passes(_elman_forward, _elman_backward, compiled), x, states, mask,
                          weights, (activation,), training, return_sequences,
                          in_parts=compiled)


# ------------------------------------------------------------------- peephole LSTM


def _peep(c, peephole, mode):
    """A peephole's contribution to a gate pre-activation: ``p ⊙ c`` or ``c P``."""
    return c * peephole if mode == "diagonal" else tf.matmul(c, peephole)


def _peep_back(dz, peephole, mode):
    """Gradient reaching ``c`` through one peephole from the gate pre-activation ``dz``."""
    return dz * peephole if mode == "diagonal" else tf.matmul(dz, peephole, transpose_b=True)


def _peep_grad(c, dz, mode):
    """Gradient of one peephole weight from a sequence ``(T, B, U)`` or one step ``(B, U)``:
    ``sum c ⊙ dz`` (diagonal) or ``C^T dZ`` (full)."""
    if mode == "diagonal":
        return tf.reduce_sum(c * dz, axis=list(range(len(c.shape) - 1)))
    return _outer_sum(c, dz)


@tf.function(jit_compile=True, reduce_retracing=True, autograph=False)
def _lstm_forward(x, states, mask, weights, options, store, return_sequences):
    kernel, recurrent_kernel, bias, *peepholes = weights
    mode, cell_clip = options
    steps = tf.shape(x)[0]
    inputs = _array(x.dtype, steps).unstack(x)
    # One matmul a step, [x_t, h_{t-1}] [W; U], rather than two and a sum: measured against
    # the two (2 cores), training 7-15% and inference 2-10% faster (batch 64, T=100, 128
    # units; batch 64, T=500, 64 units; batch 16, T=30, 64 units). The inputs' projection
    # computed for every step before the loop was slower: reading its (B, 4U) slices cost
    # more than the small matmul.
    stacked = tf.concat([kernel, recurrent_kernel], axis=0)
    masks = None if mask is None else _array(tf.bool, steps).unstack(mask)
    names = (["h"] if store or return_sequences else []) + (
        ["gates", "c_new"] if store else []) + (["c"] if store and mask is not None else [])

    def step(x_t, h, c, m):
        z = tf.matmul(tf.concat([x_t, h], axis=1), stacked) + bias
        zi, zf, zc, zo = tf.split(z, 4, axis=1)
        if mode is not None:
            zi, zf = zi + _peep(c, peepholes[0], mode), zf + _peep(c, peepholes[1], mode)
        i, f, g = tf.sigmoid(zi), tf.sigmoid(zf), tf.tanh(zc)
        c_new = f * c + i * g
        if cell_clip is not None:
            c_new = tf.clip_by_value(c_new, -cell_clip, cell_clip)
        o = tf.sigmoid(zo if mode is None else zo + _peep(c_new, peepholes[2], mode))
        h_new = o * tf.tanh(c_new)
        gates = tf.concat([i, f, g, o], axis=1) if store else None
        return _keep(m, h_new, h), _keep(m, c_new, c), c_new, gates

    def body(t, h, c, arrays):
        m = None if masks is None else masks.read(t)
        h_next, c_next, c_new, gates = step(inputs.read(t), h, c, m)
        values = {"h": h_next, "c": c_next, "c_new": c_new, "gates": gates}
        return t + 1, h_next, c_next, _record(arrays, t, values)

    _, h, c, arrays = tf.while_loop(
        lambda t, *_: t < steps, body,
        (0, states[0], states[1], _recorder(names, steps, x.dtype)),
        maximum_iterations=steps,
    )
    return {"last": [h, c], **{name: array.stack() for name, array in arrays.items()}}


def _lstm_backward_loop(d_seq, d_last, x, states, mask, weights, saved, options, accumulate):
    """Run back through the LSTM's steps.

    ``accumulate=False`` (the XLA loop): store each step's gate pre-activation
    gradients ``dz_t`` and return ``(dz, [dh0, dc0])``. ``True`` (a plain graph
    loop): add up the weight gradients step by step (``[x_t, h_{t-1}]^T dz_t``),
    store only ``dx_t`` and return every gradient of :func:`run_recurrence`'s
    ``backward``.
    """
    kernel, recurrent_kernel, _, *peepholes = weights
    mode, cell_clip = options
    steps = tf.shape(x)[0]
    c_prev_all = _previous(states[1], saved["c_new"] if mask is None else saved["c"])

    def unstack(value):
        return _array(value.dtype, steps).unstack(value)

    gates, c_news, c_prevs = unstack(saved["gates"]), unstack(saved["c_new"]), unstack(c_prev_all)
    upstream = None if d_seq is None else unstack(d_seq)
    masks = None if mask is None else unstack(mask)
    recurrent_t = tf.transpose(recurrent_kernel)
    if accumulate:
        step_inputs = unstack(tf.concat([x, _previous(states[0], saved["h"])], axis=2))
        kernel_t = tf.transpose(kernel)

    def body(t, dh, dc, stored, *sums):
        i, f, g, o = tf.split(gates.read(t), 4, axis=1)
        c_new, c_prev = c_news.read(t), c_prevs.read(t)
        tc = tf.tanh(c_new)
        if upstream is not None:
            dh = dh + upstream.read(t)
        m = None if masks is None else masks.read(t)
        dh_real = _keep(m, dh, tf.zeros_like(dh))
        dc_real = _keep(m, dc, tf.zeros_like(dc))
        dzo = dh_real * tc * o * (1.0 - o)
        dc_new = dc_real + dh_real * o * (1.0 - tc * tc)
        if mode is not None:
            dc_new = dc_new + _peep_back(dzo, peepholes[2], mode)
        if cell_clip is not None:
            dc_new = dc_new * tf.cast(tf.abs(c_new) < cell_clip, dc_new.dtype)
        dzi = dc_new * g * i * (1.0 - i)
        dzf = dc_new * c_prev * f * (1.0 - f)
        dzc = dc_new * i * (1.0 - g * g)
        dz = tf.concat([dzi, dzf, dzc, dzo], axis=1)
        dh_prev = tf.matmul(dz, recurrent_t)
        dc_prev = dc_new * f
        if mode is not None:
            dc_prev = dc_prev + _peep_back(dzi, peepholes[0], mode)
            dc_prev = dc_prev + _peep_back(dzf, peepholes[1], mode)
        if m is not None:
            dh_prev = dh_prev + _keep(m, tf.zeros_like(dh), dh)
            dc_prev = dc_prev + _keep(m, tf.zeros_like(dc), dc)
        if not accumulate:
            return t - 1, dh_prev, dc_prev, stored.write(t, dz)
        d_kernels, d_bias, *d_peepholes = sums
        if mode is not None:
            d_peepholes = [d_peepholes[0] + _peep_grad(c_prev, dzi, mode),
                           d_peepholes[1] + _peep_grad(c_prev, dzf, mode),
                           d_peepholes[2] + _peep_grad(c_new, dzo, mode)]
        return (t - 1, dh_prev, dc_prev, stored.write(t, tf.matmul(dz, kernel_t)),
                d_kernels + tf.matmul(step_inputs.read(t), dz, transpose_a=True),
                d_bias + tf.reduce_sum(dz, axis=0), *d_peepholes)

    zeros = [tf.zeros_like(w) for w in weights]
    sums = [tf.concat(zeros[:2], axis=0), *zeros[2:]] if accumulate else []
    _, dh0, dc0, stored, *sums = tf.while_loop(
        lambda t, *_: t >= 0, body, (steps - 1, d_last[0], d_last[1], _array(x.dtype, steps),
                                     *sums),
        maximum_iterations=steps,
    )
    if not accumulate:
        return stored.stack(), [dh0, dc0]
    d_kernels, *rest = sums
    return [stored.stack(), dh0, dc0, *tf.split(d_kernels, [tf.shape(kernel)[0], -1]), *rest]


@tf.function(jit_compile=True, reduce_retracing=True, autograph=False)
def _lstm_backward_dz(d_seq, d_last, x, states, mask, weights, saved, options):
    """:func:`_lstm_backward_loop` storing ``dz``, XLA-compiled."""
    return _lstm_backward_loop(d_seq, d_last, x, states, mask, weights, saved, options,
                               accumulate=False)


@tf.function(reduce_retracing=True, autograph=False)
def _lstm_backward_by_sums(d_seq, d_last, x, states, mask, weights, saved, options):
    """:func:`_lstm_backward_loop` adding up the weight gradients, as plain graph ops (a
    function, so that an eager gradient tape runs it as a graph too)."""
    return _lstm_backward_loop(d_seq, d_last, x, states, mask, weights, saved, options,
                               accumulate=True)


def _lstm_backward_compiled(d_seq, d_last, x, states, mask, weights, saved, options):
    dz, d_states = _lstm_backward_dz(d_seq, d_last, x, states, mask, weights, saved, options)
    grads = _input_and_weight_grads(dz, d_states, x, states[0], saved["h"], weights[0])
    mode = options[0]
    if mode is not None:
        c_prev_all = _previous(states[1], saved["c_new"] if mask is None else saved["c"])
        dzi, dzf, _, dzo = tf.split(dz, 4, axis=2)
        grads += [
            _peep_grad(c_prev_all, dzi, mode),
            _peep_grad(c_prev_all, dzf, mode),
            _peep_grad(saved["c_new"], dzo, mode),
        ]
    return grads


def _lstm_backward(d_seq, d_last, x, states, mask, weights, saved, options, compiled=True):
    """The LSTM's backward pass: the XLA loop storing ``dz``, or (``compiled=False``, see
    :func:`passes`) the plain loop adding up the weight gradients, which compiles nothing.

    As plain graph ops, adding up the weight gradients step by step was faster than storing
    ``dz`` for large matmuls after the loop (training step against the Keras LSTM, 0.91x
    against 0.74x at batch 64, T=100, 128 units; 1.37x against 1.06x at batch 16, T=30, 64
    units). Compiled, the XLA loop is the faster one where the batch runs in two parts
    (:func:`_in_parts`; 2 cores, forward and backward pass of the layer at batch, T, units:
    28.8 against 32.4 ms at 64, 100, 128; 59.0 against 60.9 ms at 256, 50, 128; 83.3 against
    90.6 ms at 128, 50, 256; 55.6 against 56.8 ms at 64, 500, 64, whose halves of 32 x 64
    had taken the XLA loop before too). Before the parts, the plain loop was
    chosen from a batch times units of 4,096 on CPUs with AVX-512 (batch 64, T=100, 128
    units: 0.85-0.88x against 0.70-0.72x).
    """
    args = (d_seq, d_last, x, states, mask, weights, saved, options)
    return (_lstm_backward_compiled if compiled else _lstm_backward_by_sums)(*args)


def lstm_sequence(x, states, mask, weights, mode, cell_clip, training, return_sequences,
                  compiled=True):
    """Run the peephole LSTM recurrence over a time-major sequence.

    The equations are those of :class:`seqkit.cells.PeepholeLSTMCell` with
    sigmoid gates and tanh activations. ``states`` is ``[h0, c0]``;
    ``weights`` is ``[W (F, 4U), U (U, 4U), b (4U,)]`` in gate order i, f, c,
    o, followed by ``[p_i, p_f, p_o]`` (each ``(U,)`` for ``mode="diagonal"``,
    ``(U, U)`` for ``"full"``, absent for ``None``); ``cell_clip`` clips
    ``c_t`` to ``[-cell_clip, cell_clip]``. The rest is as in
    :func:`run_recurrence`, which this calls; ``compiled=False`` runs the same passes
    as plain graph ops (see :func:`passes`).
    """
    return run_recurrence(*passes(_lstm_forward, _lstm_backward, compiled), x, states, mask,
                          weights, (mode, cell_clip), training, return_sequences,
                          in_parts=compiled)
