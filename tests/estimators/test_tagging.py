"""SequenceTagger: token and numeric sequences, label lists, scores."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import make_scorer
from sklearn.model_selection import cross_val_score

from seqkit import datasets, export
from seqkit.estimators import SequenceTagger
from seqkit.metrics import entity_f1, token_accuracy
from seqkit.preprocessing import OOV_ID
from tests.estimators.data import fast_tagger, tagging_tokens


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
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(n, 3)) for n in (5, 9, 2, 7)]
    y = [(x[:, 0] > 0).astype(int) for x in X]
    tagger = fast_tagger().fit(X, y)
    assert tagger.n_features_in_ == 3 and tagger.vocabulary_ is None
    predicted = tagger.predict(X)
    assert [len(p) for p in predicted] == [5, 9, 2, 7]
    assert set(np.concatenate(predicted).tolist()) <= {0, 1}


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
    scores = cross_val_score(fast_tagger(epochs=1), X, y, cv=2, scoring=make_scorer(entity_f1))
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))


@pytest.mark.parametrize("params", [{"crf": True}, {"subword_features": True},
                                    {"crf": True, "subword_features": True}])
def test_crf_and_subword_features_give_label_lists_and_probabilities(params):
    X, y = tagging_tokens()
    tagger = fast_tagger(**params).fit(X, y)
    assert tagger.get_params()["crf"] == params.get("crf", False)
    assert tagger.subword_features_ == params.get("subword_features", False)
    predicted = tagger.predict(X)
    assert [len(p) for p in predicted] == [len(x) for x in X]
    assert set(np.concatenate(predicted)) <= set(tagger.classes_)
    probabilities = tagger.predict_proba(X[:2])
    assert [p.shape for p in probabilities] == [(3, 4), (4, 4)]
    np.testing.assert_allclose([p.sum(axis=1) for p in probabilities[1:]], 1.0, rtol=1e-5)
    x, lengths = tagger.network_input(X[:2])
    assert x.shape == ((2, 4, 6) if tagger.subword_features_ else (2, 4))
    assert lengths.tolist() == [3, 4]


def test_crf_tagger_pickles_and_clones():
    X, y = tagging_tokens()
    tagger = fast_tagger(crf=True, subword_features=True).fit(X, y)
    again = pickle.loads(pickle.dumps(tagger))
    assert again.predict(X) == tagger.predict(X)
    assert clone(tagger).get_params() == tagger.get_params()


def test_crf_on_numeric_sequences_of_different_lengths():
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(n, 3)) for n in (5, 9, 2, 7)]
    y = [(x[:, 0] > 0).astype(int) for x in X]
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
