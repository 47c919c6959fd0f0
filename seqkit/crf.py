"""Linear-chain conditional random field on top of per-step scores, in Keras ops.

A network gives every step ``t`` a score ``e_t(j)`` per label ``j`` (the
*emissions*); the CRF adds a learned score ``A[i, j]`` for label ``j``
following label ``i`` and ``s[j]`` for a sequence starting with ``j``. A
label path ``y`` of a sequence of ``T`` steps scores

``score(y) = s[y_1] + e_1(y_1) + sum_{t=2..T} (A[y_{t-1}, y_t] + e_t(y_t))``

and ``p(y | x) = exp(score(y)) / Z`` with ``Z`` the sum of ``exp(score)``
over all paths (the forward algorithm computes ``log Z`` in ``O(T n^2)``).
Training minimises ``-log p(y | x)``; prediction takes the best path
(Viterbi), and the per-step marginals ``p(y_t = j | x)`` come from the
forward-backward algorithm. Any label may end a sequence (no end scores).

:class:`LinearChainCRF` is the layer that holds ``A`` and ``s`` (its output
is its input, the emissions), :class:`CRFLoss` the loss to compile the model
with; :func:`log_likelihood`, :func:`viterbi` and :func:`marginals` are the
algorithms, for masked batches (a mask is ``True`` at real steps, which come
first in each row; padding is at the end).
"""

import keras
from keras import ops

from seqkit._validation import check_int

__all__ = ["CRFLoss", "LinearChainCRF", "add_crf", "log_likelihood", "marginals", "viterbi"]


def _time_major(x):
    return ops.moveaxis(x, 1, 0)


def _packed(emissions, mask):
    """Time-major emissions with the mask as one more column: Keras' ``scan`` traces one
    sequence of unknown length in a graph, not two."""
    return _time_major(ops.concatenate(
        [emissions, ops.cast(mask, emissions.dtype)[..., None]], axis=-1))


def _unpack(step):
    return step[:, :-1], step[:, -1] > 0.5


def _full_mask(emissions, mask):
    if mask is None:
        return ops.ones(ops.shape(emissions)[:2], dtype="bool")
    return ops.cast(mask, "bool")


def _scan_forward(emissions, mask, transitions, start, combine):
    """Run ``alpha_t(j) = combine_i(alpha_{t-1}(i) + A[i, j]) + e_t(j)`` over the steps.

    ``combine`` reduces over axis 1 (log-sum-exp for the forward algorithm,
    max for Viterbi) and returns ``(reduced, extra)``. A padded step keeps
    ``alpha`` as it was. Returns the last ``alpha`` and, for every step
    after the first, ``alpha`` and ``extra`` (time-major).
    """
    first = start[None, :] + emissions[:, 0]

    def step(carry, inputs):
        scores, real = _unpack(inputs)
        reduced, extra = combine(carry[0][:, :, None] + transitions[None])
        new = (ops.where(real[:, None], reduced + scores, carry[0]), extra)
        return new, new  # Keras' scan wants the outputs shaped as the carry

    (last, _), (alphas, extras) = ops.scan(
        step, (first, ops.zeros(ops.shape(first), dtype="int32")),
        _packed(emissions[:, 1:], mask[:, 1:]),
    )
    return first, last, alphas, extras


def _logsumexp_over_previous(scores):
    return ops.logsumexp(scores, axis=1), ops.zeros(ops.shape(scores)[::2], dtype="int32")


def _max_over_previous(scores):
    return ops.max(scores, axis=1), ops.cast(ops.argmax(scores, axis=1), "int32")


def log_partition(emissions, transitions, start, mask=None):
    """``log Z`` of each sequence: the log of the summed ``exp(score)`` of all its label paths.

    Parameters
    ----------
    emissions : tensor of shape (batch, time, n_labels)
    transitions : tensor of shape (n_labels, n_labels)
        ``transitions[i, j]`` scores label ``j`` right after label ``i``.
    start : tensor of shape (n_labels,)
    mask : bool tensor of shape (batch, time) or None
        ``True`` at real steps (at least the first of each row); None: all real.

    Returns
    -------
    tensor of shape (batch,)
    """
    mask = _full_mask(emissions, mask)
    _, last, _, _ = _scan_forward(emissions, mask, transitions, start, _logsumexp_over_previous)
    return ops.logsumexp(last, axis=-1)


def path_score(emissions, labels, transitions, start, mask=None):
    """``score(y)`` of the label paths ``labels`` (int, shape ``(batch, time)``).

    Parameters
    ----------
    emissions, transitions, start, mask
        As in :func:`log_partition`.
    labels : int tensor of shape (batch, time)
        Label indices; any value in ``[0, n_labels)`` at padded steps.

    Returns
    -------
    tensor of shape (batch,)
    """
    mask = ops.cast(_full_mask(emissions, mask), emissions.dtype)
    labels = ops.cast(labels, "int32")
    unary = ops.squeeze(ops.take_along_axis(emissions, labels[..., None], axis=2), -1)
    pairs = ops.take(transitions, labels[:, :-1] * ops.shape(transitions)[0] + labels[:, 1:])
    return (ops.take(start, labels[:, 0]) + ops.sum(unary * mask, axis=1)
            + ops.sum(pairs * mask[:, 1:], axis=1))


def log_likelihood(emissions, labels, transitions, start, mask=None):
    """``log p(y | x) = score(y) - log Z`` of each sequence's label path.

    Parameters
    ----------
    emissions, labels, transitions, start, mask
        As in :func:`path_score`.

    Returns
    -------
    tensor of shape (batch,)
    """
    return (path_score(emissions, labels, transitions, start, mask)
            - log_partition(emissions, transitions, start, mask))


def viterbi(emissions, transitions, start, mask=None):
    """The best label path of each sequence (Viterbi), an int32 tensor ``(batch, time)``.

    The arguments are those of :func:`log_partition`. Padded steps repeat the
    last real step's label.
    """
    mask = _full_mask(emissions, mask)
    n = ops.shape(transitions)[0]
    _, last, _, pointers = _scan_forward(emissions, mask, transitions, start,
                                         _max_over_previous)
    # At a padded step the pointer keeps the label, so the path runs back from the last step.
    identity = ops.broadcast_to(ops.arange(n, dtype="int32")[None], ops.shape(last))
    pointers = ops.where(_time_major(mask[:, 1:])[..., None], pointers, identity[None])
    best = ops.cast(ops.argmax(last, axis=-1), "int32")

    def back(label, pointer):
        previous = ops.squeeze(ops.take_along_axis(pointer, label[:, None], axis=1), 1)
        return previous, previous

    _, earlier = ops.scan(back, best, pointers, reverse=True)
    return ops.concatenate([ops.moveaxis(earlier, 0, 1), best[:, None]], axis=1)


def marginals(emissions, transitions, start, mask=None):
    """``p(y_t = j | x)`` of every step and label (forward-backward), ``(batch, time, n_labels)``.

    The arguments are those of :func:`log_partition`. Each real step's row
    sums to 1; padded steps repeat the last real one.
    """
    mask = _full_mask(emissions, mask)
    first, last, alphas, _ = _scan_forward(emissions, mask, transitions, start,
                                           _logsumexp_over_previous)
    alphas = ops.concatenate([first[:, None], ops.moveaxis(alphas, 0, 1)], axis=1)

    def backward(beta, inputs):
        scores, real = _unpack(inputs)
        new = ops.logsumexp(transitions[None] + (scores + beta)[:, None, :], axis=2)
        new = ops.where(real[:, None], new, beta)
        return new, new

    # beta_t from beta_{t+1}, the scores of step t+1 and whether step t+1 is real.
    _, betas = ops.scan(backward, ops.zeros_like(last),
                        _packed(emissions[:, 1:], mask[:, 1:]), reverse=True)
    betas = ops.concatenate([ops.moveaxis(betas, 0, 1), ops.zeros_like(last)[:, None]], axis=1)
    log_z = ops.logsumexp(last, axis=-1)
    return ops.exp(alphas + betas - log_z[:, None, None])


@keras.saving.register_keras_serializable(package="seqkit")
class LinearChainCRF(keras.layers.Layer):
    """The transition and start scores of a linear-chain CRF over per-step label scores.

    Placed after a network's per-step read-out (linear, one unit per label),
    it passes the emissions through unchanged (and the padding mask with
    them) and holds the weights ``transitions`` ``(n_labels, n_labels)`` and
    ``start`` ``(n_labels,)``, zeros at first. Compile the model with
    :class:`CRFLoss`; :meth:`decode` and :meth:`marginals` turn the model's
    output into labels and probabilities.

    Parameters
    ----------
    n_labels : int
        Number of labels; the input's last axis must have this size.
    **kwargs
        Keras layer arguments (``name``...).
    """

    def __init__(self, n_labels, **kwargs):
        super().__init__(**kwargs)
        self.n_labels = check_int(n_labels, "n_labels", type(self).__name__, minimum=1)
        self.supports_masking = True

    def build(self, input_shape):
        self.transitions = self.add_weight(
            shape=(self.n_labels, self.n_labels), initializer="zeros", name="transitions"
        )
        self.start = self.add_weight(shape=(self.n_labels,), initializer="zeros", name="start")

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def decode(self, emissions, mask=None):
        """The Viterbi path of each sequence (see :func:`viterbi`)."""
        return viterbi(emissions, self.transitions, self.start, mask)

    def marginals(self, emissions, mask=None):
        """Per-step label probabilities (see :func:`marginals`)."""
        return marginals(emissions, self.transitions, self.start, mask)

    def get_config(self):
        return {**super().get_config(), "n_labels": self.n_labels}


def add_crf(model, name="crf"):
    """``model`` with a :class:`LinearChainCRF` layer after its (linear) per-step output.

    Parameters
    ----------
    model : keras.Model
        Output ``(batch, time, n_labels)`` of unnormalised label scores.
    name : str, default "crf"

    Returns
    -------
    keras.Model
        Same inputs; output the same scores, through the CRF layer.
    """
    crf = LinearChainCRF(model.outputs[0].shape[-1], name=name)
    inputs = model.inputs if len(model.inputs) > 1 else model.inputs[0]
    return keras.Model(inputs, crf(model.outputs[0]), name=model.name)


def find_crf(model):
    """The :class:`LinearChainCRF` layer of ``model``, or None if it has none."""
    return next((layer for layer in model.layers if isinstance(layer, LinearChainCRF)), None)


@keras.saving.register_keras_serializable(package="seqkit")
class CRFLoss(keras.losses.Loss):
    """Negative log-likelihood of a :class:`LinearChainCRF`, spread over the steps.

    ``-log p(y | x)`` of a sequence is written as a sum of per-step terms,
    ``(log Z_t - log Z_{t-1}) - (A[y_{t-1}, y_t] + e_t(y_t))`` (``Z_t`` the
    partition function of the first ``t`` steps; ``s[y_1]`` in place of
    ``A`` at the first step), so that Keras' masked mean over the real steps
    (padding at the end) gives the total negative log-likelihood of the batch
    divided by its number of real steps: on the scale of a per-step
    cross-entropy.

    Parameters
    ----------
    crf : LinearChainCRF or None
        The layer whose weights score the transitions; may be set later
        (attribute ``crf``), before the loss is first called.
    name : str, default "crf_loss"
    """

    def __init__(self, crf=None, name="crf_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.crf = crf

    def call(self, y_true, y_pred):
        crf = self.crf
        labels = ops.cast(y_true, "int32")
        if len(labels.shape) == 3:
            labels = ops.squeeze(labels, -1)
        first, _, alphas, _ = _scan_forward(
            y_pred, ops.ones(ops.shape(y_pred)[:2], dtype="bool"), crf.transitions, crf.start,
            _logsumexp_over_previous,
        )
        log_z = ops.concatenate(
            [ops.logsumexp(first, axis=-1)[:, None],
             ops.moveaxis(ops.logsumexp(alphas, axis=-1), 0, 1)], axis=1)
        increments = log_z - ops.pad(log_z[:, :-1], [[0, 0], [1, 0]])
        unary = ops.squeeze(ops.take_along_axis(y_pred, labels[..., None], axis=2), -1)
        n = ops.shape(crf.transitions)[0]
        pairs = ops.take(crf.transitions, labels[:, :-1] * n + labels[:, 1:])
        pairs = ops.concatenate([ops.take(crf.start, labels[:, :1]), pairs], axis=1)
        return increments - unary - pairs
