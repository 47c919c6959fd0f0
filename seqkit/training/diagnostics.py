"""Gradient diagnostics: ``||dLoss/dh_t||`` at every step ``t`` of the first recurrent
layer (:func:`gradient_norms_over_time`) and its plot (:func:`plot_gradient_norms`):
vanishing or exploding gradients, seen with one's own eyes."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from seqkit.exceptions import InvalidInputError, InvalidParameterError
from seqkit.networks import cell_state_sizes
from seqkit.training._graph import _as_list, _fresh_inputs, _recurrent_layers, _replay


def gradient_norms_over_time(model, x, y, loss=None):
    """The norm of ``dLoss/dh_t`` at every step ``t`` of the first recurrent layer.

    ``h_t`` is the hidden state after step ``t`` (the first state of an LSTM,
    ``h`` not ``c``); the derivative is the total one, through every later step,
    i.e. the error signal BPTT carries back to step ``t``. In a many-to-one
    network, norms that shrink towards ``t = 1`` by orders of magnitude are
    vanishing gradients; norms that grow are exploding ones. For a
    ``Bidirectional`` first layer each direction gets its own column: the
    backward layer's ``h_t`` is its state after reading steps ``T..t``, so its
    error signal travels from ``t = 1`` towards ``T``.

    Parameters
    ----------
    model : keras.Model
    x : array or list of arrays
        The model's input(s), a batch.
    y : array
        Targets.
    loss : str, keras.losses.Loss, callable or None
        The loss; None uses the loss the model was compiled with. A
        ``keras.losses.Loss`` leaves padded steps out, as the compiled loss does;
        a plain function is averaged over all steps.

    Returns
    -------
    numpy.ndarray of shape (timesteps,), or (timesteps, 2) for a Bidirectional layer
        ``||dLoss/dh_t||`` over the batch and the units, for ``t = 1..T`` in
        input order; columns forward, backward.

    Notes
    -----
    The first recurrent layer is run step by step through its cell with a zero
    probe ``d_t`` added to ``h_t`` (same numbers); ``dLoss/dd_t = dLoss/dh_t``.
    """
    owner = "gradient_norms_over_time"
    first = _recurrent_layers(model, owner, "gradient norms over time", bidirectional=True)[0]
    if loss is None and not model.compiled:
        raise InvalidParameterError(
            f"The 'loss' parameter of {owner} must be given for an uncompiled model. Got None."
        )
    arrays = [tf.convert_to_tensor(a) for a in _as_list(x)]
    paired = isinstance(first, keras.layers.Bidirectional)
    directions = [first.forward_layer, first.backward_layer] if paired else [first]
    sizes = [cell_state_sizes(layer.cell)[0] for layer in directions]
    inputs, probe = _fresh_inputs(model), keras.Input((None, sum(sizes)))

    def probed(index):
        layer = directions[index]
        return keras.layers.RNN(
            _ProbeCell(layer.cell, sum(sizes[:index]), sum(sizes)),
            return_sequences=layer.return_sequences, return_state=layer.return_state,
            go_backwards=layer.go_backwards, zero_output_for_mask=layer.zero_output_for_mask,
        )

    def call(layer, *args, **kwargs):
        if layer is not first:
            return layer(*args, **kwargs)
        sequences = keras.layers.Concatenate()([args[0], probe])
        if not paired:
            return probed(0)(sequences, *args[1:], **kwargs)
        return _bidirectional(first, probed(0), probed(1), sequences, **kwargs)

    probed_model = keras.Model([*inputs, probe], _replay(model, inputs, call))
    delta = tf.zeros((arrays[0].shape[0], int(arrays[0].shape[1]), sum(sizes)))
    with tf.GradientTape() as tape:
        tape.watch(delta)
        y_pred = probed_model([*arrays, delta], training=False)
        if loss is None:
            value = model.compute_loss(y=y, y_pred=y_pred, training=False)
        else:
            value = ops.mean(keras.losses.get(loss)(y, y_pred))
    gradient = tape.gradient(value, delta).numpy()
    norms = [np.sqrt(np.sum(np.square(part), axis=(0, 2)))
             for part in np.split(gradient, np.cumsum(sizes)[:-1], axis=-1)]
    return np.stack(norms, axis=1) if paired else norms[0]


def _bidirectional(wrapper, forward, backward, sequences, initial_state=None, **kwargs):
    """What ``keras.layers.Bidirectional`` computes, with its two layers replaced."""
    half = None if initial_state is None else len(initial_state) // 2
    y = forward(sequences, initial_state=None if half is None else initial_state[:half],
                **kwargs)
    y_rev = backward(sequences, initial_state=None if half is None else initial_state[half:],
                     **kwargs)
    states = ()
    if wrapper.return_state:
        states = tuple(y[1:]) + tuple(y_rev[1:])
        y, y_rev = y[0], y_rev[0]
    if wrapper.return_sequences:
        y_rev = ops.flip(y_rev, axis=1)
    merged = {
        "concat": lambda: ops.concatenate([y, y_rev], axis=-1),
        "sum": lambda: y + y_rev,
        "ave": lambda: (y + y_rev) / 2,
        "mul": lambda: y * y_rev,
        None: lambda: (y, y_rev),
    }[wrapper.merge_mode]()
    if not wrapper.return_state:
        return merged
    return (*merged, *states) if wrapper.merge_mode is None else (merged, *states)


class _ProbeCell(keras.layers.Layer):
    """Wraps a built cell. Its input is ``[x_t, probes_t]``, where ``d_t``, ``probes_t``
    from ``start`` on, is this cell's; it returns ``h_t + d_t`` as output and first state."""

    def __init__(self, cell, start, probe_size, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell
        self.start, self.probe_size = start, probe_size
        self.state_size = cell.state_size
        self.output_size = cell.output_size

    def call(self, inputs, states, training=False):
        size = cell_state_sizes(self.cell)[0]
        n_x = inputs.shape[-1] - self.probe_size
        x, delta = inputs[:, :n_x], inputs[:, n_x + self.start:n_x + self.start + size]
        h, new_states = self.cell(x, states, training=training)
        h = h + delta
        new_states = new_states if isinstance(new_states, (list, tuple)) else [new_states]
        return h, [h, *new_states[1:]]


def plot_gradient_norms(norms, ax=None):
    """Draw ``||dLoss/dh_t||`` against ``t`` on a log scale.

    Parameters
    ----------
    norms : array-like of shape (timesteps,) or (timesteps, 2)
        From :func:`gradient_norms_over_time`; two columns (forward,
        backward) draw two labelled lines.
    ax : matplotlib.axes.Axes or None
        Where to draw; a new figure if None.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    norms = np.asarray(norms, dtype=float)
    if norms.size == 0 or not (norms.ndim == 1 or (norms.ndim == 2 and norms.shape[1] == 2)):
        raise InvalidInputError(
            "The 'norms' argument of plot_gradient_norms must be a non-empty array of shape "
            f"(timesteps,) or (timesteps, 2). Got shape {norms.shape}."
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
    steps = np.arange(1, len(norms) + 1)
    if norms.ndim == 1:
        ax.semilogy(steps, norms, marker=".")
    else:
        for column, label in zip(norms.T, ("forward", "backward")):
            ax.semilogy(steps, column, marker=".", label=label)
        ax.legend()
    ax.set_xlabel("time step t")
    ax.set_ylabel(r"$\|\partial L / \partial h_t\|$")
    ax.set_title("Gradient reaching each time step")
    ax.grid(True, which="both", alpha=0.3)
    return ax.figure
