"""SequenceTagger: token and numeric sequences, label lists, scores."""

import itertools
import pickle

import keras
import numpy as np
import pytest
from seqeval.metrics import f1_score as seqeval_f1
from sklearn.base import clone
from sklearn.metrics import make_scorer
from sklearn.model_selection import KFold, cross_val_score

from seqkit import datasets, export
from seqkit.crf import find_crf, viterbi
from seqkit.estimators import SequenceTagger
from seqkit.exceptions import InputTypeError, InvalidInputError, InvalidParameterError
from seqkit.metrics import entity_f1, token_accuracy
from seqkit.preprocessing import OOV_ID
from tests.estimators.data import fast_tagger, numeric_tagging, tagging_tokens


def test_token_sequences_get_label_lists_of_their_own_lengths():
    X, y = tagging_tokens()
    tagger = fast_tagger().fit(X, y)
    assert tagger.classes_.tolist() == ["B-LOC", "B-PER", "I-PER", "O"]
    predicted = tagger.predict(X)
    assert [len(p) for p in predicted] == [len(x) for x in X]
    assert all(isinstance(label, str) for labels in predicted for label in labels)
    probabilities = tagger.predict_proba(X[:2])
    assert [p.shape for p in probabilities] == [(3, 4), (4, 4)]
    assert tagger.score(X, y) == pytest.approx(token_accuracy(y, predicted))


def test_unknown_tokens_share_the_out_of_vocabulary_id():
    X, y = tagging_tokens()
    tagger = fast_tagger().fit(X, y)
    assert tagger.vocabulary_.transform([["Zorro"]])[0].tolist() == [OOV_ID]
    assert len(tagger.predict([["Zorro", "visited", "Atlantis", "today"]])[0]) == 4


def test_numeric_sequences_with_integer_labels():
    X, y = numeric_tagging()
    tagger = fast_tagger().fit(X, y)
    assert tagger.n_features_in_ == 3 and tagger.vocabulary_ is None
    assert tagger.classes_.tolist() == [0, 1]
    predicted = tagger.predict(X)
    assert [len(p) for p in predicted] == [5, 9, 2, 7]
    expected = [[[0, 1][i] for i in p.argmax(axis=1)] for p in tagger.predict_proba(X)]
    assert predicted == expected


@pytest.mark.parametrize("data", [tagging_tokens, numeric_tagging])
def test_network_batch_is_what_the_network_was_trained_on(data):
    """The network's loss on the batch (padded steps masked out) equals the cross-entropy of
    predict_proba at the labels over the real steps; the targets decode back to the labels."""
    X, y = data()
    tagger = fast_tagger().fit(X, y)
    x, targets = tagger.network_batch(X, y)
    np.testing.assert_array_equal(x, tagger.network_input(X)[0])
    assert targets.dtype == np.int32 and targets.shape == x.shape[:2]
    for row, labels in zip(targets, y):
        np.testing.assert_array_equal(tagger.classes_[row[:len(labels)]], labels)
        assert (row[len(labels):] == 0).all()
    log_p = [np.log(p[np.arange(len(p)), row[:len(p)]])
             for p, row in zip(tagger.predict_proba(X), targets)]
    loss = tagger.model_.evaluate(x, targets, batch_size=len(X), verbose=0)
    assert loss == pytest.approx(-np.mean(np.concatenate(log_p)), rel=1e-5)


def test_network_batch_refuses_labels_never_seen_and_labels_of_other_lengths():
    X, y = tagging_tokens()
    tagger = fast_tagger().fit(X, y)
    with pytest.raises(InvalidInputError, match=r"y contains labels that SequenceTagger never "
                                                r"saw in fit: \['B-ORG'\]"):
        tagger.network_batch(X[:1], [["B-ORG", "O", "B-LOC"]])
    with pytest.raises(InvalidInputError, match=r"y\[0\] has 2 labels but sequence 0 of X "
                                                r"has 3 steps"):
        tagger.network_batch(X[:1], [["O", "O"]])


@pytest.mark.slow
def test_learns_entity_tags_and_scores_them_with_entity_f1():
    X, y = tagging_tokens(repeat=8)
    tagger = fast_tagger(units=16, epochs=40, learning_rate=0.02, min_frequency=1,
                         early_stopping=False, validation_fraction=0.0).fit(X, y)
    assert tagger.score(X, y) > 0.9
    assert entity_f1(y, tagger.predict(X)) > 0.8


@pytest.mark.slow
def test_entity_f1_as_a_cross_validation_scorer():
    X, y = tagging_tokens(repeat=2)
    folds = list(KFold(2).split(X))
    scores = cross_val_score(fast_tagger(epochs=1), X, y, cv=folds,
                             scoring=make_scorer(entity_f1))
    expected = []
    for train, test in folds:
        tagger = fast_tagger(epochs=1).fit([X[i] for i in train], [y[i] for i in train])
        expected.append(seqeval_f1([y[i] for i in test], tagger.predict([X[i] for i in test])))
    np.testing.assert_allclose(scores, expected)


@pytest.mark.parametrize("params", [{"crf": True}, {"subword_features": True},
                                    {"crf": True, "subword_features": True}])
def test_crf_and_subword_features_give_label_lists_and_probabilities(params):
    X, y = tagging_tokens()
    tagger = fast_tagger(**params).fit(X, y)
    crf = params.get("crf", False)
    assert (find_crf(tagger.model_) is not None) == crf
    assert tagger.subword_features_ == params.get("subword_features", False)
    predicted = tagger.predict(X)
    assert [len(p) for p in predicted] == [len(x) for x in X]
    probabilities = tagger.predict_proba(X[:2])
    assert [p.shape for p in probabilities] == [(3, 4), (4, 4)]
    x, lengths = tagger.network_input(X[:2])
    assert x.shape == ((2, 4, 6) if tagger.subword_features_ else (2, 4))
    assert lengths.tolist() == [3, 4]
    scores = tagger.model_.predict(x, verbose=0)
    if not crf:  # softmax: the probabilities are the network's output, the labels their argmax
        for p, s, n in zip(probabilities, scores, lengths):
            np.testing.assert_allclose(p, s[:n], rtol=1e-6)
        assert predicted[:2] == [tagger.classes_[p.argmax(axis=1)].tolist() for p in probabilities]
        return
    # CRF: the best path and the marginals, enumerated over every label path that keeps
    # IOB2 (the tags are IOB2, so the CRF keeps the scheme).
    assert tagger.scheme_ == "iob2"
    assert all(_valid_iob2(labels) for labels in predicted)
    layer = tagger.model_.get_layer("crf")
    transitions, start = layer.transitions.numpy(), layer.start.numpy()
    for p, s, n, labels in zip(probabilities, scores, lengths, predicted):
        paths, path_scores = _all_paths(s[:n], transitions, start, tagger.classes_)
        assert labels == tagger.classes_[list(paths[int(np.argmax(path_scores))])].tolist()
        weights = np.exp(path_scores - np.logaddexp.reduce(path_scores))
        marginals = np.zeros((n, len(tagger.classes_)))
        for path, weight in zip(paths, weights):
            marginals[np.arange(n), path] += weight
        np.testing.assert_allclose(p, marginals, atol=1e-5)


def test_a_crf_tagger_fitted_under_mixed_precision_predicts_and_exports(tmp_path):
    # The network's scores are float16 there, the CRF's weights float32.
    X, y = tagging_tokens()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        tagger = fast_tagger(crf=True).fit(X, y)
        predicted = tagger.predict(X[:2])
        probabilities = tagger.predict_proba(X[:2])
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert [len(p) for p in predicted] == [3, 4]
    assert all(_valid_iob2(labels) for labels in predicted)
    np.testing.assert_allclose(probabilities[1].sum(axis=1), np.ones(4), rtol=1e-5)
    path = export.export_saved_model(tagger, tmp_path / "export")
    tokens = np.array([[*X[0], ""], X[1]], dtype=str)
    served = export.load_saved_model(path)(tokens=tokens)
    assert [row[:n].tolist() for row, n in zip(served["labels"], served["lengths"])] == predicted


def _valid_iob2(tags):
    """Written apart from seqkit: ``I-X`` only right after ``B-X`` or ``I-X``."""
    return all(not tag.startswith("I-") or previous in ("B" + tag[1:], tag)
               for previous, tag in zip(["O", *tags], tags))


def _all_paths(emissions, transitions, start, classes):
    """Every label path of one sequence that keeps IOB2, and its linear-chain CRF score."""
    paths = [path for path in itertools.product(range(len(start)), repeat=len(emissions))
             if _valid_iob2(classes[list(path)].tolist())]
    scores = [start[path[0]] + sum(emissions[t, label] for t, label in enumerate(path))
              + sum(transitions[a, b] for a, b in zip(path, path[1:])) for path in paths]
    return paths, np.array(scores, dtype=np.float64)


def test_scheme_auto_constrains_only_iob2_tags_that_keep_the_scheme():
    X, y = tagging_tokens()
    assert fast_tagger().fit(X, y).scheme_ is None  # no CRF
    unconstrained = fast_tagger(crf=True, scheme=None).fit(X, y)
    assert unconstrained.scheme_ is None
    assert unconstrained.model_.get_layer("crf").get_config()["allowed_starts"] is None
    assert fast_tagger(crf=True).fit(*numeric_tagging()).scheme_ is None  # labels 0 and 1
    # IOB1: I-X opens an entity.
    iob1 = [["I-" + tag[2:] if tag.startswith("B-") else tag for tag in tags] for tags in y]
    with pytest.warns(UserWarning, match=r"y\[0\] is not valid IOB2: 'I-PER' at step 0 starts "
                                         r"the sequence.*left unconstrained"):
        assert fast_tagger(crf=True).fit(X, iob1).scheme_ is None


@pytest.mark.parametrize("labels, match", [
    ([["B-PER", "O", "LOC"]], r"every label of y must be 'O', 'B-<type>' or 'I-<type>'\. "
                              r"Got 'LOC'\."),
    ([["B-PER", "O", "I-LOC"]], r"y\[0\] is not valid IOB2: 'I-LOC' at step 2 follows 'O'"),
    ([["B-PER", "O", "O"], ["B-PER", "I-LOC", "O", "O"]],
     r"y\[1\] is not valid IOB2: 'I-LOC' at step 1 follows 'B-PER'.*pass scheme=None"),
])
def test_scheme_iob2_refuses_labels_that_break_it(labels, match):
    X, _ = tagging_tokens()
    with pytest.raises(InvalidInputError, match=match):
        fast_tagger(crf=True, scheme="iob2").fit(X[:len(labels)], labels)


def test_scheme_parameter_is_validated():
    X, y = tagging_tokens()
    with pytest.raises(InvalidParameterError, match=r"The 'scheme' parameter of SequenceTagger "
                                                    r"must be one of 'auto', 'iob2', None\. "
                                                    r"Got 'bio' instead\."):
        fast_tagger(crf=True, scheme="bio").fit(X, y)


def test_constrained_tagger_predicts_exports_and_reloads_valid_iob2(tmp_path):
    """Scores pushed towards I- tags: unconstrained decoding breaks IOB2, the constrained
    predict does not, and the export and a pickled copy give predict's labels and
    probabilities."""
    X, y = tagging_tokens()
    tagger = fast_tagger(crf=True, subword_features=True).fit(X, y)
    layer = tagger.model_.get_layer("crf")
    inside = tagger.classes_.tolist().index("I-PER")
    start, transitions = layer.start.numpy(), layer.transitions.numpy()
    start[inside] += 50.0
    transitions[:, inside] += 50.0
    layer.start.assign(start)
    layer.transitions.assign(transitions)
    raw = [["Ada", "visited", "London"], ["Grace", "met", "an", "unknown", "Turing"], ["Paris"]]
    x, lengths = tagger.network_input(raw)
    scores = tagger.model_.predict(x, verbose=0)
    mask = np.arange(x.shape[1])[None] < lengths[:, None]
    free = np.asarray(viterbi(scores, transitions, start, mask))
    assert not any(_valid_iob2(tagger.classes_[p[:n]].tolist()) for p, n in zip(free, lengths))
    predicted, probabilities = tagger.predict(raw), tagger.predict_proba(raw)
    assert all(_valid_iob2(labels) for labels in predicted)
    assert all(p[0, inside] == 0.0 for p in probabilities)  # I- never starts a sequence
    path = export.export_saved_model(tagger, tmp_path / "export")
    tokens = np.full((3, 5), "", dtype=object)
    for row, sentence in zip(tokens, raw):
        row[: len(sentence)] = sentence
    served = export.load_saved_model(path)(tokens=tokens.astype(str))
    for row, labels, n in zip(served["labels"], predicted, served["lengths"]):
        assert row[:n].tolist() == labels
    proba = export.load_saved_model(path, "predict_proba")(tokens=tokens.astype(str))
    for row, want in zip(proba["probabilities"], probabilities):
        np.testing.assert_allclose(row[: len(want)], want, atol=1e-5)
    again = pickle.loads(pickle.dumps(tagger))
    assert again.scheme_ == "iob2" and again.predict(raw) == predicted


@pytest.mark.slow
def test_crf_tagger_predictions_on_japanese_ner_are_valid_iob2():
    """Real data, tiny settings: a briefly trained tagger keeps the scheme on the test split,
    where the same weights decoded without the constraints break it."""
    X, y, X_test, _ = datasets.load_tagging("japanese_ner")
    tagger = SequenceTagger(units=16, embedding_dim=16, epochs=4, batch_size=16,
                            learning_rate=0.02, early_stopping=False, validation_fraction=0.0,
                            crf=True, subword_features=True, random_state=0).fit(X[:100], y[:100])
    assert tagger.scheme_ == "iob2"
    predicted = tagger.predict(X_test)
    assert sum(tag.startswith("I-") for tags in predicted for tag in tags) > 10
    assert all(_valid_iob2(tags) for tags in predicted)
    x, lengths = tagger.network_input(X_test)
    layer = tagger.model_.get_layer("crf")
    free = np.asarray(viterbi(tagger.model_.predict(x, verbose=0), layer.transitions,
                              layer.start, np.arange(x.shape[1])[None] < lengths[:, None]))
    assert not all(_valid_iob2(tagger.classes_[path[:n]].tolist())
                   for path, n in zip(free, lengths))


def test_crf_tagger_pickles_and_clones():
    X, y = tagging_tokens()
    tagger = fast_tagger(crf=True, subword_features=True).fit(X, y)
    again = pickle.loads(pickle.dumps(tagger))
    assert again.predict(X) == tagger.predict(X)
    np.testing.assert_array_equal(np.concatenate(again.predict_proba(X)),
                                  np.concatenate(tagger.predict_proba(X)))
    expected = {**fast_tagger().get_params(), "crf": True, "subword_features": True}
    assert clone(tagger).get_params() == expected == again.get_params()


def test_a_numeric_tagger_has_the_convolutional_branch_and_a_token_tagger_none():
    numeric = fast_tagger().fit(*numeric_tagging())
    assert {"conv_branch", "conv_merge"} <= {layer.name for layer in numeric.model_.layers}
    tokens = fast_tagger().fit(*tagging_tokens())
    assert "conv_branch" not in {layer.name for layer in tokens.model_.layers}
    with pytest.raises(InputTypeError, match=r"'conv_branch' parameter of SequenceTagger must "
                                             r"be a bool. Got .*'yes'"):
        fast_tagger(conv_branch="yes").fit(*numeric_tagging())


def test_a_numeric_tagger_pickled_before_the_branch_existed_loads_without_it():
    X, y = numeric_tagging()
    tagger = fast_tagger(conv_branch=False).fit(X, y)
    state = {k: v for k, v in tagger.__getstate__().items() if k != "conv_branch"}
    old = object.__new__(SequenceTagger)
    old.__setstate__(state)
    loaded = pickle.loads(pickle.dumps(old))
    assert loaded.get_params() == tagger.get_params()
    assert loaded.predict(X) == tagger.predict(X)


def test_crf_on_numeric_sequences_of_different_lengths():
    X, y = numeric_tagging()
    tagger = fast_tagger(crf=True, subword_features=True).fit(X, y)
    assert not tagger.subword_features_
    assert [len(p) for p in tagger.predict(X)] == [5, 9, 2, 7]


@pytest.mark.parametrize("name, value, kind", [("crf", 1, "a bool"),
                                               ("subword_features", "yes", "a bool")])
def test_crf_and_subword_parameters_are_validated(name, value, kind):
    X, y = tagging_tokens()
    match = rf"The '{name}' parameter of SequenceTagger must be {kind}"
    with pytest.raises(TypeError, match=match):
        fast_tagger(**{name: value}).fit(X, y)


@pytest.mark.slow
@pytest.mark.parametrize("bidirectional", [False, True])
def test_export_of_a_crf_tagger_with_subword_features_gives_the_predictions(tmp_path,
                                                                            bidirectional):
    X, y = tagging_tokens(repeat=4)
    tagger = fast_tagger(crf=True, subword_features=True, min_frequency=1, epochs=10,
                         learning_rate=0.02, bidirectional=bidirectional).fit(X, y)
    path = export.export_saved_model(tagger, tmp_path / "export")
    assert "step" not in export.read_manifest(path)["signatures"]
    raw = [["Ada", "visited", "London"], ["Grace", "met", "an", "unknown", "Turing"], ["Paris"]]
    tokens = np.full((3, 5), "", dtype=object)
    for row, sentence in zip(tokens, raw):
        row[: len(sentence)] = sentence
    served = export.load_saved_model(path)(tokens=tokens.astype(str))
    for row, labels, n in zip(served["labels"], tagger.predict(raw), served["lengths"]):
        assert row[:n].tolist() == labels and set(row[n:]) <= {""}
    proba = export.load_saved_model(path, "predict_proba")(tokens=tokens.astype(str))
    for row, want in zip(proba["probabilities"], tagger.predict_proba(raw)):
        np.testing.assert_allclose(row[: len(want)], want, atol=1e-5)


@pytest.mark.slow
def test_subword_features_step_signature_replays_serving_default(tmp_path):
    X, y = tagging_tokens()
    tagger = fast_tagger(subword_features=True, cell="lstm").fit(X, y)
    path = export.export_saved_model(tagger, tmp_path / "export")
    step = export.load_saved_model(path, "step")
    tokens = np.array([["Ada", "visited", "Atlantis", ""]])
    states = {k: np.zeros((1, spec.shape[1]), np.float32) for k, spec in step.inputs.items()
              if k != "x"}
    labels = []
    for t in range(tokens.shape[1]):
        out = step(x=tokens[:, t], **states)
        states = {k: out[k] for k in states}
        labels.append(out["labels"][0])
    assert labels[:3] == tagger.predict([["Ada", "visited", "Atlantis"]])[0]


@pytest.mark.slow
def test_crf_with_subword_features_beats_softmax_on_japanese_ner_validation_split():
    """Real data: 100 training sentences, scored on 50 others of the training split."""
    X, y, _, _ = datasets.load_tagging("japanese_ner")
    params = {"units": 32, "bidirectional": True, "embedding_dim": 32, "epochs": 15,
              "batch_size": 16, "learning_rate": 5e-3, "early_stopping": False,
              "validation_fraction": 0.0, "random_state": 0}
    train, held_out = slice(0, 100), slice(400, 450)
    scores = {}
    for name, extra in {"softmax": {"crf": False, "subword_features": False},
                        "crf_subwords": {"crf": True, "subword_features": True}}.items():
        tagger = SequenceTagger(**params, **extra).fit(X[train], y[train])
        scores[name] = entity_f1(y[held_out], tagger.predict(X[held_out]))
    assert scores["crf_subwords"] > scores["softmax"] + 0.05, scores


def test_a_refused_refit_leaves_the_tagger_unfitted():
    """The data checks set the vocabulary before the labels are checked: a refit refused on
    its labels must not leave the new vocabulary beside the old network."""
    from sklearn.exceptions import NotFittedError

    X, y = tagging_tokens()
    tagger = fast_tagger(epochs=1).fit(X, y)
    with pytest.raises(InputTypeError, match=r"y must not hold None as a label"):
        tagger.fit([["new", "words"]] * 2, [["B-PER", "O"], ["O", None]])
    assert not hasattr(tagger, "vocabulary_")
    with pytest.raises(NotFittedError):
        tagger.predict(X[:1])
