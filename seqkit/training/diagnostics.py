"""Gradient diagnostics: ``||dLoss/dh_t||`` at every step ``t`` of the first recurrent
layer (:func:`gradient_norms_over_time`) and its plot (:func:`plot_gradient_norms`):
vanishing or exploding gradients, seen with one's own eyes."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from seqkit.exceptions import InvalidInputError, InvalidParameterError
from seqkit.networks import probed_twin


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
        A network of :func:`seqkit.networks.build_many_to_one` or
        :func:`seqkit.networks.build_many_to_many`, loaded from a ``.keras``
        file or not.
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

    Raises
    ------
    InputTypeError
        If ``model`` is not a ``keras.Model``.
    InvalidParameterError
        If ``model`` is not a network of :func:`seqkit.networks.build_many_to_one`
        or :func:`seqkit.networks.build_many_to_many` (any estimator's
        ``model_`` is one), or ``loss`` is None for an uncompiled model.

    Notes
    -----
    The model runs as its probed twin (:func:`seqkit.networks.probed_twin`):
    the first recurrent layer step by step through its cell, with a zero
    probe ``d_t`` added to ``h_t`` (same numbers); ``dLoss/dd_t = dLoss/dh_t``.
    """
    owner = "gradient_norms_over_time"
    twin = probed_twin(model)
    if loss is None and not model.compiled:
        raise InvalidParameterError(
            f"The 'loss' parameter of {owner} must be given for an uncompiled model. Got None."
        )
    arrays = [tf.convert_to_tensor(a) for a in (x if isinstance(x, (list, tuple)) else [x])]
    batch, time = arrays[0].shape[:2]
    probes = twin.inputs[len(model.inputs):]
    deltas = [tf.zeros((batch, time, probe.shape[-1])) for probe in probes]
    with tf.GradientTape() as tape:
        tape.watch(deltas)
        y_pred = twin([*arrays, *deltas], training=False)
        if loss is None:
            value = model.compute_loss(y=y, y_pred=y_pred, training=False)
        else:
            value = ops.mean(keras.losses.get(loss)(y, y_pred))
    norms = [np.sqrt(np.sum(np.square(gradient.numpy()), axis=(0, 2)))
             for gradient in tape.gradient(value, deltas)]
    return np.stack(norms, axis=1) if len(norms) == 2 else norms[0]


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
