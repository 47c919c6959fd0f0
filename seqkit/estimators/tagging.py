"""SequenceTagger: one label per step, for numeric or token sequences."""

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted

from seqkit import networks
from seqkit._validation import (
    check_int,
    check_same_length,
    check_sequences,
    check_token_sequences,
)
from seqkit.estimators._base import BaseSequenceEstimator, check_known_labels, estimator_init
from seqkit.exceptions import InputTypeError, InvalidInputError
from seqkit.metrics import token_accuracy
from seqkit.preprocessing import Vocabulary, pad_ids


def _holds_tokens(X):
    """Whether ``X`` is token sequences: a list whose first non-empty sequence starts with a str."""
    if not isinstance(X, (list, tuple)):
        return False
    first = next((s for s in X if isinstance(s, (list, tuple, np.ndarray)) and len(s)), None)
    return first is not None and isinstance(first[0], str)


def check_label_sequences(y, lengths, owner):
    """Validate one label sequence per input sequence, each as long as its sequence.

    Returns
    -------
    list of ndarray
        The label sequences.
    """
    if y is None:
        raise InvalidInputError(f"{owner} requires y to be passed, but the target y is None.")
    if isinstance(y, str) or not hasattr(y, "__len__"):
        raise InputTypeError(
            f"y must be a list of label sequences, one per sequence of X. Got {type(y).__name__}."
        )
    check_same_length(len(lengths), len(y))
    for i, (labels, n) in enumerate(zip(y, lengths)):
        if np.ndim(labels) != 1:
            raise InvalidInputError(
                f"y[{i}] must be a sequence of labels, one per step of sequence {i} of X. "
                f"Got {labels!r}."
            )
        if len(labels) != n:
            raise InvalidInputError(
                f"y[{i}] has {len(labels)} labels but sequence {i} of X has {n} steps; "
                "they must match."
            )
    flat = check_array(
        np.concatenate([np.asarray(labels) for labels in y]),
        ensure_2d=False, dtype=None, input_name="y",
    )
    check_classification_targets(flat)
    return np.split(flat, np.cumsum(lengths)[:-1])


class SequenceTagger(BaseSequenceEstimator):
    """Recurrent network that gives one label per step.

    Numeric sequences feed the recurrent layers directly; token sequences
    (lists of strings) are mapped to ids by a :class:`~seqkit.preprocessing.Vocabulary`
    learned in fit and embedded. A softmax layer on each step's state gives
    the label probabilities.

    Parameters
    ----------
    cell, units, num_layers, bidirectional, dropout, epochs, batch_size, \
learning_rate, clipnorm, validation_fraction, early_stopping, n_iter_no_change, \
tbptt_steps, random_state, verbose
        As in :class:`~seqkit.estimators._base.BaseSequenceEstimator`.
    embedding_dim : int, default 32
        Size of the token embeddings (token input only).
    min_frequency : int, default 2
        Tokens seen fewer times in fit share the out-of-vocabulary id. The
        default lets tokens seen once train that id, so tokens never seen get
        a useful embedding at prediction time.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Every step label of ``y`` in fit, sorted.
    vocabulary_ : Vocabulary or None
        The token vocabulary (token input), else ``None``.
    n_features_in_ : int or None
        Features per step of numeric input; ``None`` for token input.
    model_ : keras.Model
        The trained network: NaN-padded float32 ``(batch, timesteps,
        features)`` or int32 token ids ``(batch, timesteps)`` (0 pads) in,
        per-step label probabilities out.
    history_ : dict of str to list of float

    Notes
    -----
    ``score`` is token accuracy. For IOB/BIO tags, entity-level F1 is
    :func:`seqkit.metrics.entity_f1`; ``make_scorer(entity_f1)`` makes it the
    ``scoring`` of ``GridSearchCV`` or ``cross_val_score``.
    """

    __init__ = estimator_init(embedding_dim=32, min_frequency=2)

    def _check_params(self):
        super()._check_params()
        check_int(self.embedding_dim, "embedding_dim", type(self).__name__, minimum=1)
        check_int(self.min_frequency, "min_frequency", type(self).__name__, minimum=1)

    def _inputs(self, X):
        """The network input for ``X`` and the length of each sequence, after fit."""
        owner = type(self).__name__
        tokens = _holds_tokens(X)
        if tokens != (self.vocabulary_ is not None):
            kinds = ("numeric sequences", "token sequences")
            raise InputTypeError(
                f"{owner} was fit on {kinds[self.vocabulary_ is not None]}, so X must hold them "
                f"too. Got {kinds[tokens]}."
            )
        if tokens:
            return pad_ids(self.vocabulary_.transform(X))
        sequences = check_sequences(X, owner=owner, n_features=self.n_features_in_)
        return sequences.values, sequences.lengths

    def fit(self, X, y):
        """Train on sequences ``X`` with one label per step in ``y``.

        Parameters
        ----------
        X : token sequences, 3-D array, 2-D array or list of sequences
            Token sequences: a list of lists of str (unknown tokens at
            prediction time share one id). Numeric sequences: a 3-D array
            ``(batch, timesteps, features)``; a 2-D array ``(batch,
            timesteps)`` of univariate sequences; or a list of 2-D
            ``(timesteps, features)`` or 1-D arrays of different lengths
            (padded and masked inside, never truncated).
        y : list of label sequences
            ``y[i]`` holds one label per step of ``X[i]``; labels of any type
            scikit-learn accepts for classes.

        Returns
        -------
        self
        """
        owner = type(self).__name__
        self._check_params()
        if _holds_tokens(X):
            check_token_sequences(X, owner=owner)
            self.vocabulary_ = Vocabulary(min_frequency=self.min_frequency).fit(X)
            self.n_features_in_ = None
            x, lengths = pad_ids(self.vocabulary_.transform(X))
        else:
            sequences = check_sequences(X, owner=owner)
            self.vocabulary_ = None
            self.n_features_in_ = sequences.values.shape[2]
            x, lengths = sequences.values, sequences.lengths
        labels = check_label_sequences(y, lengths, owner)
        self.classes_, codes = np.unique(np.concatenate(labels), return_inverse=True)
        targets = np.zeros(x.shape[:2], dtype=np.int32)
        for row, code in zip(targets, np.split(codes, np.cumsum(lengths)[:-1])):
            row[: len(code)] = code
        self._fit_network(
            networks.build_many_to_many,
            x,
            targets,
            loss="sparse_categorical_crossentropy",
            network={
                "n_features": self.n_features_in_,
                "n_outputs": len(self.classes_),
                "output_activation": "softmax",
                "vocab_size": None if self.vocabulary_ is None else self.vocabulary_.size_,
                "embedding_dim": self.embedding_dim,
            },
        )
        return self

    def predict_proba(self, X):
        """Label probabilities of each step.

        Parameters
        ----------
        X : the kind of sequences given to :meth:`fit`

        Returns
        -------
        list of ndarray
            Item ``i`` has shape ``(len(X[i]), n_classes)``, columns in the
            order of ``classes_``.
        """
        check_is_fitted(self)
        x, lengths = self._inputs(X)
        probabilities = self._predict_network(x).astype(np.float64)
        return [p[:n] for p, n in zip(probabilities, lengths)]

    def predict(self, X):
        """The most probable label of each step.

        Parameters
        ----------
        X : the kind of sequences given to :meth:`fit`

        Returns
        -------
        list of list
            Item ``i`` holds ``len(X[i])`` labels.
        """
        return [self.classes_[np.argmax(p, axis=1)].tolist() for p in self.predict_proba(X)]

    def score(self, X, y):
        """Token accuracy: the fraction of all steps whose label is right.

        Parameters
        ----------
        X : the kind of sequences given to :meth:`fit`
        y : list of label sequences, one label per step, only labels seen in fit

        Returns
        -------
        float
        """
        check_is_fitted(self)
        owner = type(self).__name__
        _, lengths = self._inputs(X)
        labels = check_label_sequences(y, lengths, owner)
        check_known_labels(np.concatenate(labels), self.classes_, owner)
        return token_accuracy([label.tolist() for label in labels], self.predict(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.target_tags.required = True
        return tags
