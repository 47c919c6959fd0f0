"""SequenceTagger: one label per step, for numeric or token sequences."""

import warnings

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted

from seqkit import networks, subwords
from seqkit._feature_names import feature_names_of, set_feature_names
from seqkit._validation import (
    check_bool,
    check_choice,
    check_int,
    check_label_values,
    check_not_empty,
    check_same_length,
    check_sequences,
    check_token_sequences,
)
from seqkit.crf import CRFLoss, add_crf, find_crf, iob2_constraints, is_iob2_tag
from seqkit.estimators._base import (
    BaseSequenceEstimator,
    check_known_labels,
    estimator_init,
    input_scaling,
)
from seqkit.exceptions import InputTypeError, InvalidInputError
from seqkit.export.spec import ServingSpec
from seqkit.metrics import token_accuracy
from seqkit.preprocessing import PAD_TOKEN, Vocabulary, lookup_ids, pad_tokens, token_table


def _holds_tokens(X):
    """Whether ``X`` is meant as token sequences: a list whose first non-empty sequence starts
    with a str, or that holds a str where a sequence belongs (an unsplit sentence, refused
    by :func:`check_token_sequences` as such)."""
    if not isinstance(X, (list, tuple)):
        return False
    first = next((s for s in X if isinstance(s, str)
                  or (isinstance(s, (list, tuple, np.ndarray)) and len(s))), None)
    return isinstance(first, str) or (first is not None and isinstance(first[0], str))


def _step_mask(lengths):
    """``(batch, max length)`` bool array: ``True`` at the real steps (padding is at the end)."""
    return np.arange(max(lengths))[None, :] < np.asarray(lengths)[:, None]


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
    starts = np.cumsum([0, *lengths])

    def where(i):
        sequence = int(np.searchsorted(starts, i, side="right")) - 1
        return f"sequence {sequence}, step {i - starts[sequence]}"

    check_label_values(flat, where=where)
    check_classification_targets(flat)
    return np.split(flat, np.cumsum(lengths)[:-1])


class SequenceTagger(BaseSequenceEstimator):
    """Recurrent network that gives one label per step.

    Numeric sequences feed the recurrent layers directly; token sequences
    (lists of strings) are mapped to ids by a :class:`~seqkit.preprocessing.Vocabulary`
    learned in fit and embedded. A softmax layer on each step's state gives
    the label probabilities; or, with ``crf=True``, a linear layer gives
    each step's label scores and a linear-chain CRF (:mod:`seqkit.crf`)
    scores whole label paths, so that the labels of neighbouring steps are
    chosen together.

    Parameters
    ----------
    bidirectional : bool, default True
        Read each sequence in both directions (the whole sequence is there
        before its labels are given).
    validation_fraction : float in [0, 1) or "auto", default "auto"
        As in :class:`~seqkit.estimators._base.BaseSequenceEstimator`,
        counted in sequences.
    scaling : {"standard", None}, default "standard"
        Numeric input only: each feature enters the network standardised with
        the mean and standard deviation of all real steps of the training
        sequences (the network's first layer, so exports carry it); ``None``:
        as given.
    conv_branch : bool, default True
        Numeric input only (ignored for tokens): a fully convolutional branch
        reads every step beside the recurrent layers, and its features at
        each step join their output there before the read-out (the LSTM-FCN
        branch of Karim et al. 2017, kept per step rather than averaged over
        time; :class:`~seqkit.networks.conv.ConvBranch`). Activity
        segmentation in the accuracy suite, token accuracy for seeds 0 / 1 /
        2: 0.846 / 0.897 / 0.910 with, 0.868 / 0.838 / 0.842 without (a
        separate run of the same settings; the suite's run without gave
        0.850 ± 0.021), in about 1.8 times the fit time; on the bundled
        BasicMotions segmentation, which chose nothing, 0.966 / 0.962 /
        0.969 with and 0.946 / 0.936 / 0.913 without. In training, the
        recurrent output passes a dropout of 0.8 at every step before it
        joins the branch's (:data:`~seqkit.networks.conv.RECURRENT_DROPOUT`,
        as in the paper): activity segmentation went from 0.884 ± 0.028 to
        0.913 ± 0.021 (seeds 0-2), the bundled BasicMotions segmentation
        from 0.966 / 0.962 / 0.969 to 0.964 / 0.958 / 0.967 (noise).
        ``False``: the
        recurrent layers alone, which ``tbptt_steps`` and an export's
        ``step`` signature need (with ``bidirectional=False``): the
        convolutions read the steps that follow, which no state carries.
    cell, units, num_layers, dropout, epochs, batch_size, learning_rate, \
learning_rate_schedule, global_clipnorm, early_stopping, n_iter_no_change, tbptt_steps, \
random_state, verbose
        As in :class:`~seqkit.estimators._base.BaseSequenceEstimator`.
    embedding_dim : int, default 32
        Size of the token embeddings (token input only).
    min_frequency : int, default 2
        Tokens seen fewer times in fit share the out-of-vocabulary id. The
        default lets tokens seen once train that id, so tokens never seen get
        a useful embedding at prediction time.
    subword_features : bool, default True
        Token input only: give the network, next to each token's embedding,
        embeddings of hashed features of its characters (first, last and
        last two characters, shape of its scripts and length; see
        :mod:`seqkit.subwords`), so that rare and unseen tokens are told
        apart by their spelling. Ignored for numeric input. (Part of speech
        in the accuracy suite, 1,600 training sentences: token accuracy 0.927
        with, 0.833 without.)
    crf : bool or "auto", default "auto"
        Put a linear-chain CRF on the per-step scores: learned scores for
        each label following each other one (and for the first label) are
        trained with the network by maximum likelihood of the whole label
        path; :meth:`predict` gives the most probable path (Viterbi) and
        :meth:`predict_proba` each step's marginal probabilities. Helps
        where labels constrain their neighbours, as in IOB tags (``I-X``
        only after ``B-X`` or ``I-X``). ``"auto"``: a CRF when every label
        of ``y`` is ``"O"``, ``"B-<type>"`` or ``"I-<type>"`` (Japanese NER
        in the accuracy suite: entity F1 0.61 and 0.66 for seeds 0 and 1
        with, 0.57 and 0.56 without), none otherwise (activity segmentation
        there: 0.85 with, 0.88 without, in 3.4 times the time). Not with
        ``tbptt_steps``, which :meth:`fit` refuses with a CRF: its loss would
        score each chunk as a whole sentence.
    scheme : {"auto", "iob2"} or None, default "auto"
        The tagging scheme whose rules the CRF keeps (``crf=True`` only;
        without a CRF each step's label is chosen alone and this is
        ignored). ``"iob2"``: every label is ``"O"``, ``"B-<type>"`` or
        ``"I-<type>"``, and ``"I-X"`` only follows ``"B-X"`` or ``"I-X"``
        (so never starts a sequence); training, :meth:`predict`,
        :meth:`predict_proba` and the exported model consider only the label
        paths that keep these rules (the CRF's constraints,
        :func:`seqkit.crf.iob2_constraints`), so every predicted sequence is
        valid IOB2, and fit refuses a ``y`` that breaks them. ``"auto"``:
        ``"iob2"`` if every label of ``y`` is such a tag and every label
        sequence of ``y`` keeps the rules, else None (with a warning when
        the labels are such tags but a sequence breaks the rules, as in
        IOB1 data, where ``I-X`` opens an entity). None: any label may follow
        any other.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Every step label of ``y`` in fit, sorted.
    vocabulary_ : Vocabulary or None
        The token vocabulary (token input), else ``None``.
    subword_features_ : bool
        Whether the network takes sub-word feature ids (token input with
        ``subword_features=True``).
    crf_ : bool
        Whether the network ends in a CRF (``crf``, with ``"auto"`` resolved).
    scheme_ : {"iob2"} or None
        The scheme the CRF keeps (see ``scheme``); None without a CRF or
        without constraints.
    n_features_in_ : int or None
        Features per step of numeric input; ``None`` for token input.
    feature_names_in_ : ndarray of shape (n_features_in_,), object
        The column names of a list of pandas DataFrames that share string
        columns. Defined only when fit on those. Sequences given as DataFrames
        after fit must have these columns in this order; an export carries
        them, and ``seqkit predict`` reads a file's columns by these names.
    model_ : keras.Model
        The trained network: NaN-padded float32 ``(batch, timesteps,
        features)`` or int32 token ids ``(batch, timesteps)`` (0 pads; with
        sub-word features ``(batch, timesteps, 1 + k)``, the ids, then the
        ``k`` feature ids of :func:`seqkit.subwords.subword_ids`) in,
        per-step label probabilities out; with ``crf=True`` per-step label
        scores, through a :class:`~seqkit.crf.LinearChainCRF` layer named
        ``"crf"`` that holds the transition scores (and the scheme's
        constraints).
    history_ : dict of str to list of float

    Notes
    -----
    ``score`` is token accuracy. For IOB/BIO tags, entity-level F1 is
    :func:`seqkit.metrics.entity_f1`; ``make_scorer(entity_f1)`` makes it the
    ``scoring`` of ``GridSearchCV`` or ``cross_val_score``.

    With ``crf=True`` the most probable path need not take each step's most
    probable label, so ``predict`` may differ from the argmax of
    ``predict_proba``.
    """

    __init__ = estimator_init(embedding_dim=32, min_frequency=2, subword_features=True,
                              crf="auto", scheme="auto", bidirectional=True,
                              validation_fraction="auto", scaling="standard",
                              conv_branch=True)

    subword_buckets = subwords.BUCKETS
    """Hash buckets per sub-word feature (:data:`seqkit.subwords.BUCKETS`)."""

    def _check_params(self):
        super()._check_params()
        check_int(self.embedding_dim, "embedding_dim", type(self).__name__, minimum=1)
        check_int(self.min_frequency, "min_frequency", type(self).__name__, minimum=1)
        check_bool(self.subword_features, "subword_features", type(self).__name__)
        if self.crf != "auto":
            check_bool(self.crf, "crf", type(self).__name__, or_auto=True)
        check_choice(self.scheme, "scheme", type(self).__name__, ("auto", "iob2", None))
        check_choice(self.scaling, "scaling", type(self).__name__, ("standard", None))
        check_bool(self.conv_branch, "conv_branch", type(self).__name__)

    def _tbptt_needs(self):
        # A CRF's loss scores each chunk as a whole sequence: IOB2 forbids the I- tag that
        # starts a chunk cut inside an entity (losses of millions on Japanese NER).
        return {"crf": (self.crf_, False, "a loss of each step alone, not a CRF's over whole "
                                          "label paths, which the chunks would cut")}

    def _constraints(self, labels):
        """IOB2's allowed transitions and starts among ``classes_`` if the CRF keeps the
        scheme (see ``scheme``), else None; sets ``scheme_``.

        Parameters
        ----------
        labels : list of ndarray
            The label sequences of ``y``.
        """
        self.scheme_ = None
        if not self.crf_ or self.scheme is None:
            return None
        wrong = [label for label in self.classes_.tolist() if not is_iob2_tag(label)]
        if wrong:
            if self.scheme == "iob2":
                raise InvalidInputError(
                    f"With scheme='iob2', every label of y must be 'O', 'B-<type>' or "
                    f"'I-<type>'. Got {wrong[0]!r}."
                )
            return None
        allowed, starts = iob2_constraints(self.classes_)
        for i, sequence in enumerate(labels):
            ids = np.searchsorted(self.classes_, sequence)
            kept = np.concatenate([starts[ids[:1]], allowed[ids[:-1], ids[1:]]])
            if kept.all():
                continue
            t = int(np.argmin(kept))
            where = "starts the sequence" if t == 0 else f"follows {str(sequence[t - 1])!r}"
            problem = (f"y[{i}] is not valid IOB2: {str(sequence[t])!r} at step {t} {where}, "
                       "and an 'I-<type>' tag only follows 'B-<type>' or 'I-<type>' of its type")
            if self.scheme == "iob2":
                raise InvalidInputError(
                    f"{problem}. Correct the tags, or pass scheme=None to leave the CRF "
                    "unconstrained."
                )
            warnings.warn(
                f"{problem}; the CRF is left unconstrained (scheme_=None). Pass scheme=None "
                "to say so (IOB1 tags), or correct the tags.", UserWarning, stacklevel=3,
            )
            return None
        self.scheme_ = "iob2"
        return allowed, starts

    def _token_input(self, X):
        """Token ids ``(batch, timesteps)`` (with sub-word feature ids: ``(batch, timesteps,
        1 + N_FEATURES)``) of token sequences ``X``, and their lengths.

        The ids come from the same lookup and sub-word ops as the exported
        graph's (:func:`seqkit.preprocessing.lookup_ids`), so the two agree.
        """
        for i, tokens in enumerate(X):
            if PAD_TOKEN in tokens:
                raise InvalidInputError(
                    f"X must not contain the empty token {PAD_TOKEN!r}: it marks padding in "
                    f"exported models. Got it in sequence {i} at step "
                    f"{list(tokens).index(PAD_TOKEN)}."
                )
        padded = pad_tokens(X).astype(str)
        lengths = np.array([len(tokens) for tokens in X], dtype=np.int64)
        ids = np.asarray(lookup_ids(token_table(self.vocabulary_.vocabulary_), padded))
        if not self.subword_features_:
            return ids, lengths
        features = subwords.subword_ids(padded, self.subword_buckets).numpy()
        return np.concatenate([ids[..., None], features], axis=-1), lengths

    def network_input(self, X):
        """What the fitted network takes for sequences ``X``, and the length of each.

        Parameters
        ----------
        X : the kind of sequences given to :meth:`fit`

        Returns
        -------
        x : ndarray
            The input of ``model_`` (see the attribute).
        lengths : ndarray of int
        """
        check_is_fitted(self)
        return self._inputs(X)

    def _inputs(self, X):
        """The network input for ``X`` and the length of each sequence, after fit."""
        owner = type(self).__name__
        check_not_empty(X)  # before the kind is guessed: an empty sequence holds no kind
        tokens = _holds_tokens(X)
        if tokens != (self.vocabulary_ is not None):
            kinds = ("numeric sequences", "token sequences")
            got = kinds[tokens]
            if isinstance(X, np.ndarray) and X.dtype.kind in "USO":
                got = (f"an array of dtype {X.dtype}; token sequences are a list of lists of "
                       "str, e.g. [[t for t in row if t] for row in X.tolist()] for an array "
                       "padded with ''")
            raise InputTypeError(
                f"{owner} was fit on {kinds[self.vocabulary_ is not None]}, so X must hold them "
                f"too. Got {got}."
            )
        if tokens:
            return self._token_input(check_token_sequences(X, owner=owner))
        sequences = check_sequences(X, owner=owner, n_features=self.n_features_in_,
                                    feature_names=getattr(self, "feature_names_in_", None))
        return sequences.values, sequences.lengths

    def _targets(self, labels, shape):
        """The network's targets ``(batch, timesteps)`` for label sequences: each label's
        index in ``classes_``, 0 on the padded steps."""
        targets = np.zeros(shape, dtype=np.int32)
        for row, sequence in zip(targets, labels):
            row[: len(sequence)] = np.searchsorted(self.classes_, sequence)
        return targets

    def _known_labels(self, X, y):
        """The network input for ``X`` and the label sequences of ``y``, checked against
        ``X`` and ``classes_``."""
        owner = type(self).__name__
        x, lengths = self._inputs(X)
        labels = check_label_sequences(y, lengths, owner)
        check_known_labels(np.concatenate(labels), self.classes_, owner)
        return x, labels

    def network_batch(self, X, y):
        """The network's input and integer targets for sequences ``X`` and label sequences
        ``y``, encoded as :meth:`fit` encodes them.

        For diagnostics on ``model_``: its compiled loss on this batch is the
        training loss of these sequences (e.g. ``model_.evaluate(x, targets)``,
        or :func:`seqkit.training.gradient_norms_over_time`); padded steps are
        masked out of it.

        Parameters
        ----------
        X : the kind of sequences given to :meth:`fit`
        y : list of label sequences
            One label per step of each sequence, only labels seen in fit.

        Returns
        -------
        x : ndarray
            The input of ``model_``, padded at the end to the longest
            sequence: float32 NaN-padded ``(batch, timesteps,
            n_features_in_)``, or int32 token ids ``(batch, timesteps)`` (0
            pads; with sub-word features ``(batch, timesteps, 1 + k)``).
        targets : ndarray of shape (batch, timesteps), int32
            The index of each step's label in ``classes_``; 0 on padded steps.
        """
        check_is_fitted(self)
        x, labels = self._known_labels(X, y)
        return x, self._targets(labels, x.shape[:2])

    def _fit_data(self, X, y, owner):
        """Check ``X`` and ``y`` and set the attributes they decide (``vocabulary_``,
        ``classes_``, ...); return the network's input, the lengths and the label
        sequences."""
        check_not_empty(X)  # before the kind is guessed: an empty sequence holds no kind
        if _holds_tokens(X):
            check_token_sequences(X, owner=owner)
            self.vocabulary_ = Vocabulary(min_frequency=self.min_frequency).fit(X)
            self.n_features_in_ = None
            vars(self).pop("feature_names_in_", None)
            self.subword_features_ = bool(self.subword_features)
            x, lengths = self._token_input(X)
        else:
            sequences = check_sequences(X, owner=owner)
            self.vocabulary_ = None
            self.subword_features_ = False
            self.n_features_in_ = sequences.values.shape[2]
            set_feature_names(self, sequences.feature_names)
            x, lengths = sequences.values, sequences.lengths
        labels = check_label_sequences(y, lengths, owner)
        classes = np.unique(np.concatenate(labels))
        if len(classes) < 2:
            raise InvalidInputError(
                f"y must hold at least 2 labels for {owner}: with one, every step of every "
                f"sequence gets it. Got 1 label: {classes.tolist()}.")
        self.classes_ = classes
        return x, lengths, labels

    def fit(self, X, y):
        """Train on sequences ``X`` with one label per step in ``y``.

        Parameters
        ----------
        X : token sequences, 3-D array, 2-D array or list of sequences
            Token sequences: a list of lists of str (unknown tokens at
            prediction time share one id). Numeric sequences: a 3-D array
            ``(batch, timesteps, features)``; a 2-D array ``(batch,
            timesteps)`` of univariate sequences; or a list of 2-D
            ``(timesteps, features)`` arrays or DataFrames (whose columns are
            recorded as ``feature_names_in_``) or 1-D arrays, of different
            lengths (padded and masked inside, never truncated).
        y : list of label sequences
            ``y[i]`` holds one label per step of ``X[i]``; labels of any type
            scikit-learn accepts for classes, at least 2 distinct ones, none
            of them None.

        Returns
        -------
        self

        Raises
        ------
        InvalidInputError, InputTypeError
            For data it refuses; the estimator is then left unfitted, even
            if it was fitted before.
        """
        owner = type(self).__name__
        self._check_params()
        try:
            x, lengths, labels = self._fit_data(X, y, owner)
        except (TypeError, ValueError):
            self._forget_fit()  # a refused re-fit must not mix new attributes with the old model
            raise
        targets = self._targets(labels, x.shape[:2])
        self.crf_ = (all(is_iob2_tag(label) for label in self.classes_.tolist())
                     if self.crf == "auto" else self.crf)
        constraints = self._constraints(labels) or (None, None)
        loss = CRFLoss() if self.crf_ else "sparse_categorical_crossentropy"

        def build(**arguments):
            model = networks.build_many_to_many(**arguments)
            if self.crf_:
                model = add_crf(model, allowed_transitions=constraints[0],
                                allowed_starts=constraints[1])
                loss.crf = model.get_layer("crf")
            return model

        self._fit_network(
            build,
            x,
            targets,
            loss=loss,
            network={
                "n_features": self.n_features_in_,
                "n_outputs": len(self.classes_),
                "output_activation": None if self.crf_ else "softmax",
                "vocab_size": None if self.vocabulary_ is None else self.vocabulary_.size_,
                "embedding_dim": self.embedding_dim,
                "subword_features": subwords.N_FEATURES if self.subword_features_ else 0,
                "subword_vocab_size": subwords.N_FEATURES * self.subword_buckets + 1,
                "conv_branch": self.conv_branch and self.vocabulary_ is None,
                "input_scaling": None if self.vocabulary_ is not None else input_scaling(
                    x, self.scaling),
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
        outputs, lengths = self._outputs(X)
        crf = self._crf_layer()
        if crf is not None:
            outputs = crf.marginals(outputs, _step_mask(lengths))
        probabilities = np.asarray(outputs, dtype=np.float64)
        return [p[:n] for p, n in zip(probabilities, lengths)]

    def serving_spec(self):
        """What an export of this tagger serves (see :mod:`seqkit.export`).

        Returns
        -------
        seqkit.export.ServingSpec
        """
        check_is_fitted(self)
        return ServingSpec(
            kind="tagger", network=self.model_, n_features=self.n_features_in_,
            feature_names=feature_names_of(self),
            vocabulary=None if self.vocabulary_ is None else self.vocabulary_.vocabulary_,
            subword_buckets=self.subword_buckets if self.subword_features_ else None,
            classes=tuple(self.classes_), decoder=self._crf_layer(),
        )

    def _crf_layer(self):
        """The fitted network's CRF layer, or ``None`` (a network fit with ``crf=False``)."""
        check_is_fitted(self)
        return find_crf(self.model_)

    def _outputs(self, X):
        """The network's output for ``X`` and the length of each sequence."""
        check_is_fitted(self)
        x, lengths = self._inputs(X)
        return self._predict_network(x), lengths

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
        crf = self._crf_layer()
        if crf is not None:
            scores, lengths = self._outputs(X)
            paths = np.asarray(crf.decode(scores, _step_mask(lengths)))
            return [self.classes_[path[:n]].tolist() for path, n in zip(paths, lengths)]
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
        _, labels = self._known_labels(X, y)
        return token_accuracy([label.tolist() for label in labels], self.predict(X))

    def __setstate__(self, state):
        if "scheme" not in state:  # pickled before the parameter existed: no constraints
            state = {**state, "scheme": None, **({"scheme_": None} if "classes_" in state else {})}
        if "conv_branch" not in state:  # pickled before the parameter existed: no branch
            state = {**state, "conv_branch": False}
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.target_tags.required = True
        return tags
