"""NumPy references of the cell equations, written from the docstrings, step by step; random
weights to test them with."""

import numpy as np


def random_weights(layer, seed=1):
    """Random non-zero weights (peepholes included), large enough to exercise every term."""
    rng = np.random.default_rng(seed)
    return [rng.normal(scale=0.6, size=w.shape).astype(w.dtype) for w in layer.get_weights()]


def same_random_weights(*layers, features, seed=1):
    """Build ``layers`` for ``features`` input features and give them all the random weights of
    the first (the Keras built-ins and seqkit's layers lay their weights out alike)."""
    for layer in layers:
        layer.build((None, None, features))
    weights = random_weights(layers[0], seed)
    for layer in layers:
        layer.set_weights(weights)
    return layers


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def run_reference(step, x, states, mask=None, go_backwards=False):
    """Run ``step(x_t, states) -> (h_t, states)`` over ``x (B, T, F)`` with Keras mask rules.

    A masked step keeps the previous states; its output is the last real output
    (zeros before the first real step). Returns ``(outputs (B, T, U), states)``.
    """
    batch, steps, _ = x.shape
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    mask = np.ones((batch, steps), bool) if mask is None else mask
    outputs = []
    last = np.zeros_like(states[0])
    for t in order:
        h, new = step(x[:, t], states)
        keep = mask[:, t][:, None]
        states = [np.where(keep, n, s) for n, s in zip(new, states)]
        last = np.where(keep, h, last)
        outputs.append(last)
    return np.stack(outputs, axis=1), states


def elman_step(weights, activation=np.tanh):
    kernel, recurrent_kernel, bias = weights

    def step(x_t, states):
        h = activation(x_t @ kernel + states[0] @ recurrent_kernel + bias)
        return h, [h]

    return step


def peephole_lstm_step(weights, peepholes="diagonal", cell_clip=None):
    kernel, recurrent_kernel, bias, *peeps = weights

    def peep(c, p):
        return c * p if peepholes == "diagonal" else c @ p

    def step(x_t, states):
        h_prev, c_prev = states
        z_i, z_f, z_c, z_o = np.split(x_t @ kernel + h_prev @ recurrent_kernel + bias, 4, axis=1)
        if peepholes:
            z_i = z_i + peep(c_prev, peeps[0])
            z_f = z_f + peep(c_prev, peeps[1])
        i, f = sigmoid(z_i), sigmoid(z_f)
        c = f * c_prev + i * np.tanh(z_c)
        if cell_clip is not None:
            c = np.clip(c, -cell_clip, cell_clip)
        if peepholes:
            z_o = z_o + peep(c, peeps[2])
        h = sigmoid(z_o) * np.tanh(c)
        return h, [h, c]

    return step
