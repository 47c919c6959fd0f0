"""An empty input is refused as empty at every door, before its kind is guessed.

An empty sequence holds neither numbers nor tokens: a door that guessed the
kind first blamed the kind ("X must hold token sequences, got numeric
sequences" for ``[[]]`` given to a token tagger). Each door below gets no
sequence, one empty sequence, and an empty sequence next to a sequence of
the other kind, and must name the emptiness.
"""

import mlflow
import numpy as np
import pytest
from mlflow.exceptions import MlflowException

from seqkit import export
from seqkit.exceptions import InvalidInputError
from seqkit.preprocessing import SequenceScaler, Vocabulary
from tests.estimators.data import (
    fast_classifier,
    fast_tagger,
    ragged_classification,
    tagging_tokens,
)
from tests.helpers.exports import fitted

X, Y = ragged_classification()
TOKENS, TAGS = tagging_tokens()
NUMBERS = [np.ones((len(tags), 2)) for tags in TAGS]

NONE = r"X must hold at least one sequence\. Got 0 sequences\."


def _empty(i):
    return rf"X must not contain empty sequences\. Sequence {i} has 0 steps\."


# (name, X, what the error says): the second sequence of the last two has the other kind
EMPTY_FOR_NUMBERS = [("no sequence", [], NONE), ("one empty sequence", [[]], _empty(0)),
                     ("empty, then tokens", [[], ["a", "b"]], _empty(0)),
                     ("tokens, then empty", [["a", "b"], []], _empty(1)),
                     ("2-D array of no steps", np.zeros((2, 0)), r"X holds empty sequences"),
                     ("3-D array of no steps", np.zeros((2, 0, 2)), _empty(0)),
                     ("3-D array of no sequence", np.zeros((0, 3, 2)), NONE)]
EMPTY_FOR_TOKENS = [("no sequence", [], NONE), ("one empty sequence", [[]], _empty(0)),
                    ("empty tuple", [()], _empty(0)),
                    ("empty, then numbers", [[], np.ones((2, 2))], _empty(0)),
                    ("numbers, then empty", [np.ones((2, 2)), []], _empty(1)),
                    ("3-D array of no steps", np.zeros((2, 0, 2)), _empty(0))]


@pytest.fixture(scope="module")
def fitted_estimators():
    return {"classifier": fast_classifier().fit(X, Y),
            "numeric tagger": fast_tagger().fit(NUMBERS, TAGS),
            "token tagger": fast_tagger().fit(TOKENS, TAGS)}


def _labels_for(kind, x):
    return ["up"] * len(x) if kind == "classifier" else [[]] * len(x)


DOORS = ["fit", "predict", "predict_proba", "score"]
CASES = [(kind, door, case) for kind, cases in (("classifier", EMPTY_FOR_NUMBERS),
                                                ("numeric tagger", EMPTY_FOR_NUMBERS),
                                                ("token tagger", EMPTY_FOR_TOKENS))
         for door in DOORS for case in cases]


@pytest.mark.parametrize(("kind", "door", "case"), CASES,
                         ids=[f"{kind}.{door}-{case[0]}" for kind, door, case in CASES])
def test_every_estimator_door_names_the_emptiness(fitted_estimators, kind, door, case):
    _, x, pattern = case
    estimator = fitted_estimators[kind]
    calls = {"fit": lambda: {"classifier": fast_classifier, "numeric tagger": fast_tagger,
                             "token tagger": fast_tagger}[kind]().fit(x, _labels_for(kind, x)),
             "predict": lambda: estimator.predict(x),
             "predict_proba": lambda: estimator.predict_proba(x),
             "score": lambda: estimator.score(x, _labels_for(kind, x))}
    with pytest.raises(InvalidInputError, match=pattern):
        calls[door]()


def test_a_token_tagger_refuses_an_empty_sequence_inside_a_batch_at_predict(fitted_estimators):
    """It used to answer ``[]`` for it: predict did not check token sequences at all."""
    tagger = fitted_estimators["token tagger"]
    for door in (tagger.predict, tagger.predict_proba):
        with pytest.raises(InvalidInputError, match=_empty(1)):
            door([["Ada"], []])


TRANSFORMER_CASES = ([(SequenceScaler, X, case) for case in EMPTY_FOR_NUMBERS]
                     + [(Vocabulary, TOKENS, case) for case in EMPTY_FOR_TOKENS])


@pytest.mark.parametrize(("cls", "data", "case"), TRANSFORMER_CASES,
                         ids=[f"{cls.__name__}-{case[0]}" for cls, _, case in TRANSFORMER_CASES])
def test_the_scaler_and_the_vocabulary_name_the_emptiness(cls, data, case):
    _, x, pattern = case
    with pytest.raises(InvalidInputError, match=pattern):
        cls().fit(x)
    with pytest.raises(InvalidInputError, match=pattern):
        cls().fit(data).transform(x)


# (model, input name, request, what the error says)
EXPORT_CASES = [
    ("tagger", "tokens", [[]], r"at least one step\. Got shape \(1, 0\)"),
    ("tagger", "tokens", [], r"at least one sequence\. Got shape \(0,\)"),
    ("tagger", "tokens", np.zeros((0, 3), str), r"at least one sequence\. Got shape \(0, 3\)"),
    ("classifier", "sequences", [[]], r"at least one step\. Got shape \(1, 0\)"),
    ("classifier", "sequences", np.zeros((0, 4, 2), np.float32),
     r"at least one sequence\. Got shape \(0, 4, 2\)"),
]


@pytest.fixture(scope="module")
def export_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("exports")


@pytest.mark.slow  # fits and exports models
@pytest.mark.parametrize(("name", "key", "request_", "pattern"), EXPORT_CASES,
                         ids=[f"{case[0]}-{np.shape(case[2])}" for case in EXPORT_CASES])
def test_the_exported_signature_names_the_emptiness(export_folder, name, key, request_, pattern):
    folder = export_folder / name
    if not folder.exists():
        export.export_saved_model(fitted(name), folder)
    serve = export.load_saved_model(folder)
    with pytest.raises(InvalidInputError, match=rf"The '{key}' input of the 'serving_default' "
                                                rf"signature must hold {pattern}"):
        serve(**{key: request_})


@pytest.mark.slow  # fits models and writes MLflow models
@pytest.mark.parametrize(("name", "key", "request_", "pattern"), EXPORT_CASES,
                         ids=[f"{case[0]}-{np.shape(case[2])}" for case in EXPORT_CASES])
def test_the_pyfunc_names_the_emptiness(export_folder, name, key, request_, pattern):
    folder = export_folder / f"{name}-mlflow"
    if not folder.exists():
        export.save_mlflow_model(fitted(name), folder)
    model = mlflow.pyfunc.load_model(str(folder))
    with pytest.raises(MlflowException, match=rf"The '{key}' input must hold {pattern}") as caught:
        model.predict(np.asarray(request_))
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
