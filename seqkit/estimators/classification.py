"""SequenceClassifier: one label per sequence."""

import math

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from seqkit import networks
from seqkit._feature_names import feature_names_of, set_feature_names
from seqkit._validation import (
    check_bool,
    check_choice,
    check_float,
    check_label_values,
    check_not_empty,
    check_same_length,
    check_sequences,
)
from seqkit.estimators._base import (
    BaseSequenceEstimator,
    check_known_labels,
    estimator_init,
    input_scaling,
)
from seqkit.estimators._budget import check_auto_int
from seqkit.exceptions import InvalidInputError
from seqkit.export.spec import ServingSpec
from seqkit.training import SmoothedSparseCrossentropy

POOLED_LENGTH = 100
"""The longest sequence ``step_pooling="auto"`` leaves the recurrent layers to read."""


def check_labels(y, owner):
    """Validate one label per sequence (any label type scikit-learn accepts) as a 1-D array."""
    if y is None:
        raise InvalidInputError(f"{owner} requires y to be passed, but the target y is None.")
    y = column_or_1d(check_array(y, ensure_2d=False, dtype=None, input_name="y"), warn=True)
    check_label_values(y)
    check_classification_targets(y)
    return y


class SequenceClassifier(ClassifierMixin, BaseSequenceEstimator):
    """Recurrent network that gives one label per sequence.

    A stack of recurrent layers reads each sequence, beside a convolutional
    branch; a softmax layer on the last state and the branch's output gives
    the class probabilities.

    Parameters
    ----------
    scaling : {"standard", None}, default "standard"
        ``"standard"``: each feature enters the network standardised with the
        mean and standard deviation of all real steps of the training
        sequences (the network's first layer, so exports carry it); ``None``:
        as given.
    step_pooling : int or "auto", default "auto"
        The recurrent layers read the mean of each run of this many steps
        (:class:`~seqkit.networks.pooling.StepPooling`, inside the network):
        long sequences become short enough for backpropagation through time
        to learn from. ``"auto"``: the fewest steps per run that bring the
        longest training sequence to at most :data:`POOLED_LENGTH` steps (1
        for sequences that short already). The convolutional branch reads
        every step.
    conv_branch : bool, default True
        A fully convolutional branch beside the recurrent layers (LSTM-FCN,
        Karim et al. 2017; :class:`~seqkit.networks.conv.ConvBranch`): its
        mean over time joins their output before the softmax. On the
        accuracy suite (means of seeds 0-2, with ``step_pooling="auto"``) it
        took the long univariate sets from below 1-NN Euclidean to above it
        or level (Car 0.41 to 0.79, DiatomSizeReduction 0.66 to 0.98, Coffee
        0.81 to 1.00) and BasicMotions from 0.79 to 0.98; BeetleFly fell from
        0.77 to 0.62 (20 test series: inside the noise). Step pooling alone
        had cost BeetleFly and FaceFour 0.2-0.3 (seed 0). As in the paper,
        the recurrent output passes a dropout of 0.8 in training before it
        joins the branch's (:data:`~seqkit.networks.conv.RECURRENT_DROPOUT`):
        over seeds 0-5 it took BasicMotions from 0.925 (0.825 to 1.0) to
        0.992 (0.975 to 1.0), Beef from 0.589 to 0.711 and BeetleFly from
        0.658 to 0.725. ``False``: the recurrent layers alone (a network
        whose stateful twin streams).
    bidirectional : bool, default True
        Read each sequence in both directions (the whole sequence is there
        before the label is given).
    label_smoothing : float in [0, 1), default 0
        Train toward targets smoothed toward uniform
        (:class:`~seqkit.training.SmoothedSparseCrossentropy`; Szegedy et al.
        2016); 0 trains on the plain cross-entropy. On the accuracy suite's
        three sets then below or near 1-NN Euclidean (means of seeds 0-2,
        measured when ``epochs="auto"`` gave at most 500 epochs), 0.1
        took ECG200 from 0.867 to 0.887 and BeetleFly from 0.717 to 0.750,
        and DiatomSizeReduction from 0.949 to 0.931; 0.05 gave 0.877, 0.817
        and 0.932. Each move is inside the noise of 20-306 test series, and
        one set falls as others rise, so the default stays 0.
    validation_fraction : float in [0, 1) or "auto", default "auto"
        As in :class:`~seqkit.estimators._base.BaseSequenceEstimator`; the
        held-out sequences are a random fraction.
    cell, units, num_layers, dropout, epochs, batch_size, learning_rate, \
learning_rate_schedule, global_clipnorm, early_stopping, n_iter_no_change, tbptt_steps, \
random_state, verbose
        The parameters all seqkit estimators share, described in
        :class:`~seqkit.estimators._base.BaseSequenceEstimator`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels of ``y`` in fit, sorted: the order of the columns of
        :meth:`predict_proba`.
    n_features_in_ : int
        Features (channels) per step; 1 for univariate sequences.
    feature_names_in_ : ndarray of shape (n_features_in_,), object
        The column names of a list of pandas DataFrames that share string
        columns. Defined only when fit on those. Sequences given as DataFrames
        after fit must have these columns in this order; an export carries
        them, and ``seqkit predict`` reads a file's columns by these names.
    step_pooling_ : int
        The steps averaged into one (``step_pooling`` resolved).
    model_ : keras.Model
        The trained network: NaN-padded float32 ``(batch, timesteps,
        features)`` in, class probabilities out.
    history_ : dict of str to list of float
        The loss (and validation loss) after each epoch.

    Examples
    --------
    >>> X = [rng.normal(size=(n, 3)) for n in (5, 8, 6, 7)]
    >>> clf = SequenceClassifier(units=8, epochs=2, random_state=0).fit(X, ["a", "b", "a", "b"])
    >>> clf.predict(X).shape
    (4,)
    """

    __init__ = estimator_init(scaling="standard", step_pooling="auto", conv_branch=True,
                              bidirectional=True, label_smoothing=0.0,
                              validation_fraction="auto")

    def _check_params(self):
        super()._check_params()
        check_choice(self.scaling, "scaling", type(self).__name__, ("standard", None))
        check_auto_int(self.step_pooling, "step_pooling", type(self).__name__)
        check_bool(self.conv_branch, "conv_branch", type(self).__name__)
        check_float(self.label_smoothing, "label_smoothing", type(self).__name__, low=0.0,
                    high=1.0, high_inclusive=False)

    def __setstate__(self, state):
        # Pickled before a parameter existed: the network has neither branch nor pooling, and
        # it trained on the plain cross-entropy.
        fitted = "model_" in state
        state = {"conv_branch": False, "step_pooling": 1, "label_smoothing": 0.0,
                 **({"step_pooling_": 1} if fitted else {}), **state}
        super().__setstate__(state)

    def fit(self, X, y):
        """Train on sequences ``X`` with labels ``y``.

        Parameters
        ----------
        X : 3-D array, 2-D array or list of sequences
            A 3-D array ``(batch, timesteps, features)``; a 2-D array
            ``(batch, timesteps)`` of univariate sequences; or a list of 2-D
            ``(timesteps, features)`` arrays or DataFrames (whose columns
            are recorded as ``feature_names_in_``) or 1-D arrays, of
            different lengths (padded and masked inside, never truncated).
            In an array, steps all NaN at the end of a sequence are padding,
            as in an export's requests.
        y : array-like of shape (batch,)
            One label per sequence, of any type scikit-learn accepts; at
            least two classes.

        Returns
        -------
        self
        """
        owner = type(self).__name__
        self._check_params()
        sequences = check_sequences(X, owner=owner)
        y = check_labels(y, owner)
        check_same_length(len(sequences.values), len(y))
        classes = np.unique(y)
        if len(classes) < 2:
            raise InvalidInputError(
                f"y must hold at least 2 classes for {owner}. Got 1 class: {classes.tolist()}."
            )
        self.classes_ = classes
        self.n_features_in_ = sequences.values.shape[2]
        set_feature_names(self, sequences.feature_names)
        self.step_pooling_ = (math.ceil(sequences.lengths.max() / POOLED_LENGTH)
                              if self.step_pooling == "auto" else self.step_pooling)
        self._fit_network(
            networks.build_many_to_one,
            *self._encoded(sequences, y),
            loss=(SmoothedSparseCrossentropy(self.label_smoothing) if self.label_smoothing
                  else "sparse_categorical_crossentropy"),
            network={
                "n_features": self.n_features_in_,
                "n_outputs": len(classes),
                "output_activation": "softmax",
                "input_scaling": input_scaling(sequences.values, self.scaling),
                "step_pooling": self.step_pooling_,
                "conv_branch": self.conv_branch,
            },
        )
        return self

    def _encoded(self, sequences, y):
        """The network's input and targets: the padded values, each label's index in
        ``classes_``."""
        return sequences.values, np.searchsorted(self.classes_, y).astype(np.int32)

    def network_batch(self, X, y):
        """The network's input and integer targets for sequences ``X`` and labels ``y``,
        encoded as :meth:`fit` encodes them.

        For diagnostics on ``model_``: its compiled loss on this batch is the
        training loss of these sequences (e.g. ``model_.evaluate(x, targets)``,
        or :func:`seqkit.training.gradient_norms_over_time`).

        Parameters
        ----------
        X : 3-D array, 2-D array or list of sequences
            As in :meth:`fit`, with ``n_features_in_`` features.
        y : array-like of shape (batch,)
            One label per sequence, only labels seen in fit.

        Returns
        -------
        x : ndarray of shape (batch, timesteps, n_features_in_), float32
            The sequences, NaN-padded at the end to the longest one: the input
            of ``model_``.
        targets : ndarray of shape (batch,), int32
            The index of each label in ``classes_``.
        """
        check_is_fitted(self)
        owner = type(self).__name__
        sequences = check_sequences(X, owner=owner, n_features=self.n_features_in_,
                                    feature_names=getattr(self, "feature_names_in_", None))
        y = check_labels(y, owner)
        check_same_length(len(sequences.values), len(y))
        check_known_labels(y, self.classes_, owner)
        return self._encoded(sequences, y)

    def predict_proba(self, X):
        """Class probabilities of each sequence.

        Parameters
        ----------
        X : 3-D array, 2-D array or list of sequences
            As in :meth:`fit`, with ``n_features_in_`` features.

        Returns
        -------
        ndarray of shape (batch, n_classes)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        sequences = check_sequences(X, owner=type(self).__name__, n_features=self.n_features_in_,
                                    feature_names=getattr(self, "feature_names_in_", None))
        return self._predict_network(sequences.values).astype(np.float64)

    def serving_spec(self):
        """What an export of this classifier serves (see :mod:`seqkit.export`).

        Returns
        -------
        seqkit.export.ServingSpec
        """
        check_is_fitted(self)
        return ServingSpec(kind="classifier", network=self.model_,
                           n_features=self.n_features_in_, classes=tuple(self.classes_),
                           feature_names=feature_names_of(self))

    def predict(self, X):
        """The most probable label of each sequence, shape ``(batch,)``; ``X`` as in :meth:`fit`."""
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]

    def score(self, X, y, sample_weight=None):
        """Accuracy on ``X`` and ``y`` (``y`` may only hold labels seen in fit).

        Parameters
        ----------
        X : 3-D array, 2-D array or list of sequences
        y : array-like of shape (batch,)
        sample_weight : array-like of shape (batch,) or None

        Returns
        -------
        float
        """
        check_is_fitted(self)
        check_not_empty(X)  # named before y's labels, which are as many
        check_known_labels(check_labels(y, type(self).__name__), self.classes_, type(self).__name__)
        return super().score(X, y, sample_weight=sample_weight)
