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
* XLA fuses the element-wise work of a step into a few kernels.

All tensors here are time-major: ``x`` is ``(T, B, F)``; ``mask`` is ``None``
or a boolean ``(T, B, 1)`` tensor, ``True`` where a step is real. A masked
step carries the state through unchanged, exactly as ``keras.layers.RNN``
does. The portable cells in :mod:`seqkit.cells` compute the same numbers
(shown by ``tests/cells``).
"""

import tensorflow as tf

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
    """``sum_t a_t^T b_t`` for ``(T, B, K)`` and ``(T, B, N)``: one ``(K, N)`` matmul."""
    return tf.matmul(
        tf.reshape(a, [-1, tf.shape(a)[2]]), tf.reshape(b, [-1, tf.shape(b)[2]]),
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


# ----------------------------------------------------------------------------- Elman


@tf.function(jit_compile=True, reduce_retracing=True)
def _elman_forward(x, h0, mask, kernel, recurrent_kernel, bias, activation):
    act = ACTIVATIONS[activation][0]
    steps = tf.shape(x)[0]
    projected = _array(x.dtype, steps).unstack(_flat_matmul(x, kernel) + bias)
    masks = None if mask is None else _array(tf.bool, steps).unstack(mask)

    def body(t, h, carried, fresh):
        h_new = act(projected.read(t) + tf.matmul(h, recurrent_kernel))
        h_next = _keep(None if masks is None else masks.read(t), h_new, h)
        return t + 1, h_next, carried.write(t, h_next), fresh.write(t, h_new)

    _, _, carried, fresh = tf.while_loop(
        lambda t, *_: t < steps, body,
        (0, h0, _array(x.dtype, steps), _array(x.dtype, steps)),
        maximum_iterations=steps,
    )
    return carried.stack(), fresh.stack()


@tf.function(jit_compile=True, reduce_retracing=True)
def _elman_backward(d_carried, x, h0, mask, kernel, recurrent_kernel, carried, fresh, activation):
    derivative = ACTIVATIONS[activation][1](fresh)
    if mask is not None:
        derivative = derivative * tf.cast(mask, derivative.dtype)
    steps = tf.shape(x)[0]
    upstream = _array(x.dtype, steps).unstack(d_carried)
    slopes = _array(x.dtype, steps).unstack(derivative)
    masks = None if mask is None else _array(tf.bool, steps).unstack(mask)
    recurrent_t = tf.transpose(recurrent_kernel)

    def body(t, dh_next, dz_all):
        dh = dh_next + upstream.read(t)
        dz = dh * slopes.read(t)
        dh_prev = tf.matmul(dz, recurrent_t)
        if masks is not None:
            dh_prev = dh_prev + tf.where(masks.read(t), tf.zeros_like(dh), dh)
        return t - 1, dh_prev, dz_all.write(t, dz)

    _, dh0, dz_all = tf.while_loop(
        lambda t, *_: t >= 0, body,
        (steps - 1, tf.zeros_like(h0), _array(x.dtype, steps)),
        maximum_iterations=steps,
    )
    dz = dz_all.stack()
    return (
        _flat_matmul(dz, tf.transpose(kernel)),
        dh0,
        _outer_sum(x, dz),
        _outer_sum(_previous(h0, carried), dz),
        tf.reduce_sum(dz, axis=[0, 1]),
    )


def elman_sequence(x, h0, mask, kernel, recurrent_kernel, bias, activation):
    """Run ``h_t = act(x_t W + h_{t-1} U + b)`` over a time-major sequence.

    Parameters
    ----------
    x : tf.Tensor
        ``(T, B, F)`` inputs.
    h0 : tf.Tensor
        ``(B, U)`` initial state.
    mask : tf.Tensor or None
        ``(T, B, 1)`` booleans; a ``False`` step keeps the previous state.
    kernel, recurrent_kernel, bias : tf.Tensor
        ``W (F, U)``, ``U (U, U)`` and ``b (U,)`` (zeros when the cell has no bias).
    activation : str
        A key of :data:`ACTIVATIONS`.

    Returns
    -------
    tf.Tensor
        ``(T, B, U)``: the state after every step (masked steps carried through).
    """

    @tf.custom_gradient
    def run(x, h0, kernel, recurrent_kernel, bias):
        carried, fresh = _elman_forward(
            *_untaped(x, h0), mask, *_untaped(kernel, recurrent_kernel, bias), activation
        )

        def grad(d_carried):
            return _elman_backward(
                d_carried, x, h0, mask, kernel, recurrent_kernel, carried, fresh, activation
            )

        return carried, grad

    return run(x, h0, *_read(kernel, recurrent_kernel, bias))


# ------------------------------------------------------------------- peephole LSTM


def _peep(c, peepholes, mode):
    """Peephole contributions of ``c`` for the gates in ``peepholes``."""
    if mode == "diagonal":
        return [c * p for p in peepholes]
    return [tf.matmul(c, p) for p in peepholes]


def _peep_back(dz, peephole, mode):
    """Gradient reaching ``c`` through one peephole from the gate pre-activation ``dz``."""
    if mode == "diagonal":
        return dz * peephole
    return tf.matmul(dz, peephole, transpose_b=True)


def _peep_grad(c, dz, mode):
    """Gradient of one peephole weight: ``sum c ⊙ dz`` (diagonal) or ``C^T dZ`` (full)."""
    if mode == "diagonal":
        return tf.reduce_sum(c * dz, axis=[0, 1])
    return _outer_sum(c, dz)


def _clip(c, cell_clip):
    return c if cell_clip is None else tf.clip_by_value(c, -cell_clip, cell_clip)


@tf.function(jit_compile=True, reduce_retracing=True)
def _lstm_forward(x, h0, c0, mask, kernel, recurrent_kernel, bias, peepholes, mode, cell_clip):
    steps = tf.shape(x)[0]
    inputs = _array(x.dtype, steps).unstack(x)
    masks = None if mask is None else _array(tf.bool, steps).unstack(mask)
    names = ("h", "c", "c_new", "i", "f", "g", "o")

    def body(t, h, c, arrays):
        z = tf.matmul(inputs.read(t), kernel) + tf.matmul(h, recurrent_kernel) + bias
        zi, zf, zc, zo = tf.split(z, 4, axis=1)
        if mode is None:
            i, f = tf.sigmoid(zi), tf.sigmoid(zf)
        else:
            pi, pf = _peep(c, peepholes[:2], mode)
            i, f = tf.sigmoid(zi + pi), tf.sigmoid(zf + pf)
        g = tf.tanh(zc)
        c_new = _clip(f * c + i * g, cell_clip)
        o = tf.sigmoid(zo if mode is None else zo + _peep(c_new, peepholes[2:], mode)[0])
        h_new = o * tf.tanh(c_new)
        m = None if masks is None else masks.read(t)
        h_next, c_next = _keep(m, h_new, h), _keep(m, c_new, c)
        values = (h_next, c_next, c_new, i, f, g, o)
        return t + 1, h_next, c_next, [a.write(t, v) for a, v in zip(arrays, values)]

    _, _, _, arrays = tf.while_loop(
        lambda t, *_: t < steps, body,
        (0, h0, c0, [_array(x.dtype, steps) for _ in names]),
        maximum_iterations=steps,
    )
    return dict(zip(names, (a.stack() for a in arrays)))


@tf.function(jit_compile=True, reduce_retracing=True)
def _lstm_backward(
    d_h, d_c, x, h0, c0, mask, kernel, recurrent_kernel, peepholes, saved, mode, cell_clip
):
    steps = tf.shape(x)[0]
    c_prev_all = _previous(c0, saved["c"])
    tanh_c = tf.tanh(saved["c_new"])
    keep = None if cell_clip is None else tf.cast(tf.abs(saved["c_new"]) < cell_clip, x.dtype)

    def unstack(value):
        return _array(value.dtype, steps).unstack(value)

    seq = {k: unstack(saved[k]) for k in ("i", "f", "g", "o")}
    seq.update(tanh_c=unstack(tanh_c), c_prev=unstack(c_prev_all), dh=unstack(d_h),
               dc=unstack(d_c))
    if keep is not None:
        seq["keep"] = unstack(keep)
    masks = None if mask is None else unstack(mask)
    recurrent_t = tf.transpose(recurrent_kernel)

    def body(t, dh_next, dc_next, dz_all):
        i, f, g, o = (seq[k].read(t) for k in ("i", "f", "g", "o"))
        tc = seq["tanh_c"].read(t)
        dh_in = dh_next + seq["dh"].read(t)
        dc_in = dc_next + seq["dc"].read(t)
        m = None if masks is None else masks.read(t)
        dh = _keep(m, dh_in, tf.zeros_like(dh_in))
        dc = _keep(m, dc_in, tf.zeros_like(dc_in))
        dzo = dh * tc * o * (1.0 - o)
        dc = dc + dh * o * (1.0 - tc * tc)
        if mode is not None:
            dc = dc + _peep_back(dzo, peepholes[2], mode)
        if keep is not None:
            dc = dc * seq["keep"].read(t)
        dzi = dc * g * i * (1.0 - i)
        dzf = dc * seq["c_prev"].read(t) * f * (1.0 - f)
        dzc = dc * i * (1.0 - g * g)
        dz = tf.concat([dzi, dzf, dzc, dzo], axis=1)
        dh_prev = tf.matmul(dz, recurrent_t)
        dc_prev = dc * f
        if mode is not None:
            dc_prev = dc_prev + _peep_back(dzi, peepholes[0], mode)
            dc_prev = dc_prev + _peep_back(dzf, peepholes[1], mode)
        if m is not None:
            dh_prev = dh_prev + _keep(m, tf.zeros_like(dh_in), dh_in)
            dc_prev = dc_prev + _keep(m, tf.zeros_like(dc_in), dc_in)
        return t - 1, dh_prev, dc_prev, dz_all.write(t, dz)

    _, dh0, dc0, dz_all = tf.while_loop(
        lambda t, *_: t >= 0, body,
        (steps - 1, tf.zeros_like(h0), tf.zeros_like(c0), _array(x.dtype, steps)),
        maximum_iterations=steps,
    )
    dz = dz_all.stack()
    grads = [
        _flat_matmul(dz, tf.transpose(kernel)),
        dh0,
        dc0,
        _outer_sum(x, dz),
        _outer_sum(_previous(h0, saved["h"]), dz),
        tf.reduce_sum(dz, axis=[0, 1]),
    ]
    if mode is not None:
        dzi, dzf, _, dzo = tf.split(dz, 4, axis=2)
        grads.append([
            _peep_grad(c_prev_all, dzi, mode),
            _peep_grad(c_prev_all, dzf, mode),
            _peep_grad(saved["c_new"], dzo, mode),
        ])
    return grads


def lstm_sequence(x, h0, c0, mask, kernel, recurrent_kernel, bias, peepholes, mode, cell_clip):
    """Run the peephole LSTM recurrence over a time-major sequence.

    The equations are those of :class:`seqkit.cells.PeepholeLSTMCell` with
    sigmoid gates and tanh cell and output activations.

    Parameters
    ----------
    x, h0, c0, mask : tf.Tensor
        ``(T, B, F)`` inputs, ``(B, U)`` initial states, ``(T, B, 1)`` booleans or ``None``.
    kernel, recurrent_kernel, bias : tf.Tensor
        ``(F, 4U)``, ``(U, 4U)``, ``(4U,)`` in gate order i, f, c, o.
    peepholes : list of tf.Tensor
        ``[p_i, p_f, p_o]``, each ``(U,)`` (diagonal) or ``(U, U)`` (full); empty when ``mode`` is
        ``None``.
    mode : {"diagonal", "full", None}
    cell_clip : float or None
        Clip ``c_t`` to ``[-cell_clip, cell_clip]``.

    Returns
    -------
    tuple of tf.Tensor
        ``(H, C)``, each ``(T, B, U)``: the states after every step.
    """

    @tf.custom_gradient
    def run(x, h0, c0, kernel, recurrent_kernel, bias, *peeps):
        peeps = list(peeps)
        saved = _lstm_forward(
            *_untaped(x, h0, c0), mask, *_untaped(kernel, recurrent_kernel, bias),
            _untaped(*peeps), mode, cell_clip,
        )

        def grad(d_h, d_c):
            d_h = tf.zeros_like(saved["h"]) if d_h is None else d_h
            d_c = tf.zeros_like(saved["c"]) if d_c is None else d_c
            grads = _lstm_backward(
                d_h, d_c, x, h0, c0, mask, kernel, recurrent_kernel, peeps, saved, mode,
                cell_clip,
            )
            return grads[:6] + (list(grads[6]) if mode is not None else [])

        return (saved["h"], saved["c"]), grad

    return run(x, h0, c0, *_read(kernel, recurrent_kernel, bias, *peepholes))
