"""SequenceTagger: token and numeric sequences, label lists, scores."""

import itertools
import pickle

import numpy as np
import pytest
from seqeval.metrics import f1_score as seqeval_f1
from sklearn.base import clone
from sklearn.metrics import make_scorer
from sklearn.model_selection import KFold, cross_val_score

from seqkit import datasets, export
from seqkit.crf import find_crf
from seqkit.estimators import SequenceTagger
from seqkit.exceptions import InvalidInputError
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
    # CRF: the best path and the marginals, enumerated over every label path.
    layer = tagger.model_.get_layer("crf")
    transitions, start = layer.transitions.numpy(), layer.start.numpy()
    for p, s, n, labels in zip(probabilities, scores, lengths, predicted):
        paths, path_scores = _all_paths(s[:n], transitions, start)
        assert labels == tagger.classes_[list(paths[int(np.argmax(path_scores))])].tolist()
        weights = np.exp(path_scores - np.logaddexp.reduce(path_scores))
        marginals = np.zeros((n, len(tagger.classes_)))
        for path, weight in zip(paths, weights):
            marginals[np.arange(n), path] += weight
        np.testing.assert_allclose(p, marginals, atol=1e-5)


def _all_paths(emissions, transitions, start):
    """Every label path of one sequence and its linear-chain CRF score."""
    paths = list(itertools.product(range(len(start)), repeat=len(emissions)))
    scores = [start[path[0]] + sum(emissions[t, label] for t, label in enumerate(path))
              + sum(transitions[a, b] for a, b in zip(path, path[1:])) for path in paths]
    return paths, np.array(scores, dtype=np.float64)


def test_crf_tagger_pickles_and_clones():
    X, y = tagging_tokens()
    tagger = fast_tagger(crf=True, subword_features=True).fit(X, y)
    again = pickle.loads(pickle.dumps(tagger))
    assert again.predict(X) == tagger.predict(X)
    np.testing.assert_array_equal(np.concatenate(again.predict_proba(X)),
                                  np.concatenate(tagger.predict_proba(X)))
    expected = {**fast_tagger().get_params(), "crf": True, "subword_features": True}
    assert clone(tagger).get_params() == expected == again.get_params()


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
    for name, extra in {"softmax": {}, "crf_subwords": {"crf": True,
                                                         "subword_features": True}}.items():
        tagger = SequenceTagger(**params, **extra).fit(X[train], y[train])
        scores[name] = entity_f1(y[held_out], tagger.predict(X[held_out]))
    assert scores["crf_subwords"] > scores["softmax"] + 0.05, scores
