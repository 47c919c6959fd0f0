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

A tagging scheme may forbid some transitions and starts (in IOB2, ``I-X``
only follows ``B-X`` or ``I-X`` and never starts a sequence):
:func:`constrained` gives those entries the score :data:`DISALLOWED`, so
that every path through them has probability 0 (``exp`` underflows to 0
exactly) and the algorithms below, run on the constrained scores, train,
decode and compute marginals over the allowed paths only.
:func:`iob2_constraints` gives IOB2's allowed transitions among a set of
labels.

:class:`LinearChainCRF` is the layer that holds ``A`` and ``s`` (its output
is its input, the emissions), :class:`CRFLoss` the loss to compile the model
with; :func:`log_likelihood`, :func:`viterbi` and :func:`marginals` are the
algorithms, for masked batches (a mask is ``True`` at real steps, which come
first in each row; padding is at the end).
"""

import keras
import numpy as np
from keras import ops

from seqkit._validation import check_int
from seqkit.exceptions import InvalidInputError

__all__ = ["DISALLOWED", "CRFLoss", "LinearChainCRF", "add_crf", "constrained",
           "iob2_constraints", "is_iob2_tag", "log_likelihood", "marginals", "viterbi"]

DISALLOWED = -1e9
"""The score of a forbidden transition or start: finite, so that a padded step's
(masked-out) loss and its gradient stay finite, and low enough that ``exp`` of any path
through it is 0 in float32."""


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


def _with_padded_step(emissions, mask):
    """``emissions`` and the bool ``mask`` (None: all real) with one padded step more at the
    end: what every recursion here runs on, the loss's included.

    The recursions scan the steps after the first, so a batch of one-step
    sequences scans none; in a graph of unknown batch size (an export, a
    training step) TensorFlow cannot stack that empty list of steps and
    fails. A padded step changes no result (it keeps the scores) and gives
    every scan a step; callers leave its outputs out.
    """
    mask = _full_mask(emissions, mask)
    return (ops.concatenate([emissions, ops.zeros_like(emissions[:, :1])], axis=1),
            ops.concatenate([mask, ops.zeros_like(mask[:, :1])], axis=1))


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
    emissions, mask = _with_padded_step(emissions, mask)
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
    mask = _full_mask(emissions, mask)
    labels = ops.cast(labels, "int32")
    unary = ops.squeeze(ops.take_along_axis(emissions, labels[..., None], axis=2), -1)
    pairs = ops.take(transitions, labels[:, :-1] * ops.shape(transitions)[0] + labels[:, 1:])
    # Selected, not multiplied by the mask: in float16 DISALLOWED is -inf, and -inf * 0 is NaN.
    return (ops.take(start, labels[:, 0]) + ops.sum(ops.where(mask, unary, 0), axis=1)
            + ops.sum(ops.where(mask[:, 1:], pairs, 0), axis=1))


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
    emissions, mask = _with_padded_step(emissions, mask)
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
    return ops.moveaxis(earlier, 0, 1)  # the padded step's label, best, is left out


def marginals(emissions, transitions, start, mask=None):
    """``p(y_t = j | x)`` of every step and label (forward-backward), ``(batch, time, n_labels)``.

    The arguments are those of :func:`log_partition`. Each real step's row
    sums to 1; padded steps repeat the last real one.
    """
    emissions, mask = _with_padded_step(emissions, mask)
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
    return ops.exp(alphas + betas - log_z[:, None, None])[:, :-1]


def constrained(transitions, start, allowed_transitions=None, allowed_starts=None):
    """``transitions`` and ``start`` with the forbidden entries set to :data:`DISALLOWED`.

    Parameters
    ----------
    transitions : tensor of shape (n_labels, n_labels)
    start : tensor of shape (n_labels,)
    allowed_transitions : bool array of shape (n_labels, n_labels) or None
        ``allowed_transitions[i, j]``: whether label ``j`` may follow label
        ``i``. None: every transition is allowed.
    allowed_starts : bool array of shape (n_labels,) or None
        Whether a sequence may start with each label. None: any may.

    Returns
    -------
    transitions, start : tensors
        To pass to :func:`log_likelihood`, :func:`viterbi` and
        :func:`marginals`, which then count only the allowed paths (at
        least one path must be allowed).
    """
    if allowed_transitions is not None:
        transitions = ops.where(np.asarray(allowed_transitions, dtype=bool), transitions,
                                ops.cast(DISALLOWED, transitions.dtype))
    if allowed_starts is not None:
        start = ops.where(np.asarray(allowed_starts, dtype=bool), start,
                          ops.cast(DISALLOWED, start.dtype))
    return transitions, start


def is_iob2_tag(label):
    """Whether ``label`` is an IOB2 tag: the str ``"O"``, or ``"B-"`` or ``"I-"`` and a type."""
    return isinstance(label, str) and (label == "O" or label[:2] in ("B-", "I-") and len(label) > 2)


def iob2_constraints(labels):
    """The transitions and starts that IOB2 allows among ``labels``.

    ``I-X`` may only follow ``B-X`` or ``I-X`` (the same type ``X``), so
    never starts a sequence; ``O`` and ``B-X`` may follow anything and start
    a sequence.

    Parameters
    ----------
    labels : sequence of str
        Each ``"O"``, ``"B-X"`` or ``"I-X"`` (see :func:`is_iob2_tag`).

    Returns
    -------
    allowed_transitions : ndarray of bool, shape (n_labels, n_labels)
        ``[i, j]``: whether ``labels[j]`` may follow ``labels[i]``.
    allowed_starts : ndarray of bool, shape (n_labels,)

    Raises
    ------
    InvalidInputError
        If a label is not an IOB2 tag.
    """
    labels = [label.item() if isinstance(label, np.generic) else label for label in labels]
    wrong = next((label for label in labels if not is_iob2_tag(label)), None)
    if wrong is not None:
        raise InvalidInputError(
            f"IOB2 labels must each be 'O', 'B-<type>' or 'I-<type>'. Got {wrong!r}."
        )
    inside = np.array([label.startswith("I-") for label in labels])
    kind = [label[2:] for label in labels]
    same = np.array([[a == b for b in kind] for a in kind])
    entity = np.array([label != "O" for label in labels])
    allowed_transitions = ~inside[None, :] | (same & entity[:, None])
    return allowed_transitions, ~inside


@keras.saving.register_keras_serializable(package="seqkit")
class LinearChainCRF(keras.layers.Layer):
    """The transition and start scores of a linear-chain CRF over per-step label scores.

    Placed after a network's per-step read-out (linear, one unit per label),
    it passes the emissions through unchanged (and the padding mask with
    them) and holds the weights ``transitions`` ``(n_labels, n_labels)`` and
    ``start`` ``(n_labels,)``, zeros at first. Compile the model with
    :class:`CRFLoss`; :meth:`decode` and :meth:`marginals` turn the model's
    output into labels and probabilities.

    Fixed (not learned) constraints forbid some transitions and starts, as
    a tagging scheme does (:func:`iob2_constraints`): training, decoding and
    marginals then see only the allowed label paths (see
    :meth:`constrained_scores`). They are part of the layer's config, so a
    saved and reloaded layer, and the exported graph that calls
    :meth:`decode` and :meth:`marginals`, keep them.

    Parameters
    ----------
    n_labels : int
        Number of labels; the input's last axis must have this size.
    allowed_transitions : array-like of bool, shape (n_labels, n_labels), or None
        ``[i, j]``: whether label ``j`` may follow label ``i``. None
        (default): every transition is allowed.
    allowed_starts : array-like of bool, shape (n_labels,), or None
        Whether a sequence may start with each label. None (default): any may.
    **kwargs
        Keras layer arguments (``name``...).
    """

    def __init__(self, n_labels, allowed_transitions=None, allowed_starts=None, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.n_labels = check_int(n_labels, "n_labels", owner, minimum=1)
        self.allowed_transitions = _bool_matrix(
            allowed_transitions, "allowed_transitions", owner, (self.n_labels, self.n_labels))
        self.allowed_starts = _bool_matrix(allowed_starts, "allowed_starts", owner,
                                           (self.n_labels,))
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

    def constrained_scores(self):
        """The transition and start scores the algorithms use: the learned weights, with
        the forbidden entries at :data:`DISALLOWED` (see :func:`constrained`)."""
        return constrained(self.transitions, self.start, self.allowed_transitions,
                           self.allowed_starts)

    def _scores(self, emissions):
        """The emissions in the weights' dtype (float32 under a mixed precision policy,
        where the emissions are float16 or bfloat16), and the constrained scores."""
        return ops.cast(emissions, self.transitions.dtype), *self.constrained_scores()

    def decode(self, emissions, mask=None):
        """The best allowed path of each sequence (see :func:`viterbi`)."""
        return viterbi(*self._scores(emissions), mask)

    def marginals(self, emissions, mask=None):
        """Per-step label probabilities over the allowed paths (see :func:`marginals`), in
        the weights' dtype."""
        return marginals(*self._scores(emissions), mask)

    def get_config(self):
        def listed(allowed):
            return None if allowed is None else allowed.tolist()

        return {**super().get_config(), "n_labels": self.n_labels,
                "allowed_transitions": listed(self.allowed_transitions),
                "allowed_starts": listed(self.allowed_starts)}


def _bool_matrix(value, name, owner, shape):
    """``value`` as a bool ndarray of ``shape``, or None."""
    if value is None:
        return None
    array = np.asarray(value)
    if array.shape != shape or array.dtype != bool:
        raise ValueError(
            f"The {name!r} parameter of {owner} must be None or a bool array of shape "
            f"{shape}. Got {array.dtype} of shape {array.shape} instead."
        )
    return array


def add_crf(model, name="crf", allowed_transitions=None, allowed_starts=None):
    """``model`` with a :class:`LinearChainCRF` layer after its (linear) per-step output.

    Parameters
    ----------
    model : keras.Model
        Output ``(batch, time, n_labels)`` of unnormalised label scores.
    name : str, default "crf"
    allowed_transitions, allowed_starts : bool arrays or None
        The layer's constraints (see :class:`LinearChainCRF`); None: none.

    Returns
    -------
    keras.Model
        Same inputs; output the same scores, through the CRF layer.
    """
    crf = LinearChainCRF(model.outputs[0].shape[-1], allowed_transitions, allowed_starts,
                         name=name)
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
    cross-entropy. With a constrained layer, ``Z`` sums over the allowed
    paths only (:meth:`LinearChainCRF.constrained_scores`), so the loss is
    that of the distribution that :meth:`~LinearChainCRF.decode` and
    :meth:`~LinearChainCRF.marginals` use; a label path that is not allowed
    gets a loss of about ``-DISALLOWED``.

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
        transitions, start = self.crf.constrained_scores()
        labels = ops.cast(y_true, "int32")
        if len(labels.shape) == 3:
            labels = ops.squeeze(labels, -1)
        first, _, alphas, _ = _scan_forward(*_with_padded_step(y_pred, None), transitions,
                                            start, _logsumexp_over_previous)
        log_z = ops.concatenate(
            [ops.logsumexp(first, axis=-1)[:, None],
             ops.moveaxis(ops.logsumexp(alphas, axis=-1), 0, 1)], axis=1)[:, :-1]
        increments = log_z - ops.pad(log_z[:, :-1], [[0, 0], [1, 0]])
        unary = ops.squeeze(ops.take_along_axis(y_pred, labels[..., None], axis=2), -1)
        n = ops.shape(transitions)[0]
        pairs = ops.take(transitions, labels[:, :-1] * n + labels[:, 1:])
        pairs = ops.concatenate([ops.take(start, labels[:, :1]), pairs], axis=1)
        return increments - unary - pairs
