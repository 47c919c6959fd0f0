"""The MLflow model: pyfunc without seqkit, input checks, and a real scoring server."""

import json
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow.exceptions import MlflowException

from seqkit import export
from tests.helpers.exports import (
    BLOCK_SEQKIT,
    SUBPROCESS_ENV,
    assert_outputs_equal,
    expected,
    fitted,
    requests,
)
from tests.helpers.servers import http, invocations, mlflow_serve

pytestmark = pytest.mark.slow  # every test here fits models, and most start processes

def _logged(names):
    with mlflow.start_run():
        return {name: export.log_model(fitted(name), name=name).model_uri for name in names}


# ----------------------------------------------------------------------- pyfunc


def test_pyfunc_predicts_like_the_estimator_without_seqkit_or_keras(tracking, tmp_path):
    names = ["classifier", "tagger", "forecaster"]
    uris = _logged(names)
    jobs = []
    for name in names:
        np.savez(tmp_path / f"{name}.npz", **requests(name)[1])
        for signature in expected(name):
            jobs.append((uris[name], signature, str(tmp_path / f"{name}.npz"),
                         str(tmp_path / f"{name}-{signature}.json")))
    script = BLOCK_SEQKIT + f"""
import json, mlflow, numpy as np
mlflow.set_tracking_uri({tracking!r})
for uri, signature, inputs, outputs in {jobs!r}:
    arrays = dict(np.load(inputs))
    model = mlflow.pyfunc.load_model(uri)
    got = model.predict(arrays if len(arrays) > 1 else next(iter(arrays.values())),
                        params={{"signature": signature}})
    got = got if isinstance(got, dict) else {{"": got}}
    with open(outputs, "w") as file:
        json.dump({{k: v.tolist() for k, v in got.items()}}, file)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=SUBPROCESS_ENV, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    for uri, signature, _, outputs in jobs:
        name = next(n for n in names if uris[n] == uri)
        want = expected(name)[signature]
        got = json.loads(Path(outputs).read_text())
        got = {key: np.asarray(got[key if len(want) > 1 else ""]) for key in want}
        assert_outputs_equal(got, want, f"pyfunc {name} {signature}")


def _invalid(model, data, match, params=None):
    with pytest.raises(MlflowException, match=match) as caught:
        model.predict(data, params=params)
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


def test_pyfunc_rejects_bad_requests_with_invalid_parameter_value(tmp_path):
    classifier = mlflow.pyfunc.load_model(
        str(export.save_mlflow_model(fitted("classifier"), tmp_path / "classifier")))
    x = requests("classifier")[1]["sequences"][:2].copy()
    half = x.copy()
    half[0, 1, 0] = np.nan
    _invalid(classifier, half, r"NaN in some features of sequence 0 at step 1")
    gap = x.copy()
    gap[1, 0] = np.nan
    _invalid(classifier, gap, r"padding before real steps in sequence 1")
    infinite = x.copy()
    infinite[0, 0, 0] = np.inf
    _invalid(classifier, infinite, r"must not contain inf")
    huge = x.astype(np.float64)
    huge[1, 2, 1] = -1e39  # finite, but inf in float32: refused as predict refuses it
    _invalid(classifier, huge, r"within float32's range \(magnitude up to 3\.4e38\).* Got "
                               r"-1e\+39 in sequence 1 at step 2\.")
    empty = np.full((1, 3, 2), np.nan, np.float32)
    _invalid(classifier, empty, r"no real step: sequence 0")
    _invalid(classifier, x, r"Unknown signature 'step'.*serves: predict_proba, serving_default"
             r"\. 'step' takes one step", params={"signature": "step"})
    _invalid(classifier, x[:, :0], r"at least one step. Got shape \(2, 0, 2\)")
    # A server's model config (SERVING_MODEL_CONFIG) replaces the logged request limit.
    limited = mlflow.pyfunc.load_model(str(tmp_path / "classifier"),
                                       model_config={"max_request_values": x.size - 1})
    _invalid(limited, x, rf"holds {x.size} values; this model takes at most "
                         rf"max_request_values={x.size - 1}")

    forecaster = mlflow.pyfunc.load_model(
        str(export.save_mlflow_model(fitted("forecaster"), tmp_path / "forecaster")))
    inputs = requests("forecaster")[1]
    _invalid(forecaster, {**inputs, "history": inputs["history"][:, :0]},
             r"'history' input must hold at least one step")
    cut = {**inputs, "covariates": inputs["covariates"][:, :-1]}
    _invalid(forecaster, cut, r"covariates.*horizon=3.*Sequence 0 has 42 covariate steps for "
                              r"40 history steps")


def test_pyfunc_takes_numbers_of_any_real_dtype_as_the_estimator_does(tmp_path):
    """NumPy's default float64 (and ints) as well as float32: MLflow passes them on, the
    pyfunc casts them to the SavedModel's float32."""
    model = fitted("classifier")
    classifier = mlflow.pyfunc.load_model(
        str(export.save_mlflow_model(model, tmp_path / "classifier")))
    x = np.random.default_rng(3).normal(size=(2, 5, 2))
    want = model.predict_proba(x)
    for dtype in (np.float64, np.float32, np.float16, np.int64):
        got = classifier.predict(x.astype(dtype), params={"signature": "predict_proba"})
        np.testing.assert_allclose(got, model.predict_proba(x.astype(dtype)), atol=1e-5,
                                   err_msg=str(dtype))
    np.testing.assert_allclose(classifier.predict(x, params={"signature": "predict_proba"}),
                               want, atol=1e-5)
    forecaster = mlflow.pyfunc.load_model(
        str(export.save_mlflow_model(fitted("forecaster"), tmp_path / "forecaster")))
    inputs = {name: value.astype(np.float64) for name, value in requests("forecaster")[1].items()}
    assert_outputs_equal({"forecasts": forecaster.predict(inputs)},
                         {"forecasts": expected("forecaster")["serving_default"]["forecasts"]},
                         "float64 forecaster request")
    _invalid(classifier, x.astype(np.complex128), r"must hold real numbers\. Got dtype complex128")


def test_pyfunc_takes_univariate_sequences_without_their_feature_axis(tmp_path):
    """A history of one value per step as (batch, steps), as JSON's [[1.0, 2.0, ...]] gives
    it: the same forecasts as (batch, steps, 1)."""
    forecaster = mlflow.pyfunc.load_model(str(export.save_mlflow_model(
        fitted("streaming_forecaster"), tmp_path / "forecaster")))
    (history,) = requests("streaming_forecaster")[1].values()
    assert history.shape[2] == 1
    np.testing.assert_array_equal(forecaster.predict(history[..., 0]),
                                  forecaster.predict(history))
    assert_outputs_equal(
        {"forecasts": forecaster.predict(history[..., 0].astype(np.float64))},
        {"forecasts": expected("streaming_forecaster")["serving_default"]["forecasts"]},
        "a univariate request without its feature axis")
    classifier = mlflow.pyfunc.load_model(  # two features: the axis is needed
        str(export.save_mlflow_model(fitted("classifier"), tmp_path / "classifier")))
    _invalid(classifier, np.zeros((1, 3)), r"does not match expected shape \(-1, -1, 2\)\. Got "
                                           r"shape \(1, 3\)")


def test_pyfunc_says_how_to_pad_sequences_of_different_lengths(tmp_path):
    classifier = mlflow.pyfunc.load_model(
        str(export.save_mlflow_model(fitted("classifier"), tmp_path / "classifier")))
    ragged = np.empty(2, dtype=object)
    ragged[:] = [np.zeros((1, 2)), np.zeros((3, 2))]
    _invalid(classifier, ragged, r"The 'sequences' input holds sequences of different lengths: "
                                 r"pad each at its end with null \(NaN\) to the longest, so that "
                                 r"the request is one array of shape \(-1, -1, 2\)\. Got shape "
                                 r"\(2, 1 to 3, 2\)\.")
    tagger = mlflow.pyfunc.load_model(
        str(export.save_mlflow_model(fitted("tagger"), tmp_path / "tagger")))
    tokens = np.empty(2, dtype=object)
    tokens[:] = [["Ada", "met", "Grace"], ["Paris"]]
    _invalid(tagger, tokens, r"'tokens' input holds sequences of different lengths: pad each at "
                             r"its end with \"\" .* Got shape \(2, 1 to 3\)\.")
    _invalid(tagger, np.array([["Ada", None]], dtype=object),
             r"must hold str tokens .* Got None of type NoneType")
    # JSON's "\ud800" decodes to a lone surrogate, which TensorFlow cannot encode.
    _invalid(tagger, np.array([["Ada", "\ud800"]]),
             r"'tokens' input must hold tokens that are valid Unicode text \(UTF-8\)\. Got "
             r"'\\ud800': surrogates not allowed\.")


# ----------------------------------------------------------------------- a real server


def test_served_classifier_answers_like_the_estimator_and_survives_bad_requests(
    tracking, tmp_path
):
    model = fitted("classifier")
    uri = _logged(["classifier"])["classifier"]
    rng = np.random.default_rng(5)
    with mlflow_serve(uri, tracking, tmp_path) as (url, _):
        for steps in (1, 7, 50):
            x = rng.normal(size=(1, steps, 2)).astype(np.float32)
            status, answer = invocations(url, x)
            assert status == 200, answer
            assert answer["predictions"] == model.predict(x).astype(str).tolist()
            status, answer = invocations(url, x, signature="predict_proba")
            np.testing.assert_allclose(answer["predictions"], model.predict_proba(x), atol=1e-5)
        x64 = rng.normal(size=(2, 5, 2))  # NumPy's default dtype, as JSON gives it
        status, answer = invocations(url, x64, signature="predict_proba")
        assert status == 200, answer
        np.testing.assert_allclose(answer["predictions"], model.predict_proba(x64), atol=1e-5)
        raw, inputs = requests("classifier")  # a padded batch of 7 lengths
        body = json.loads(json.dumps({"inputs": inputs["sequences"].tolist()})
                          .replace("NaN", "null"))  # JSON null pads too
        status, answer = http(url + "/invocations", body)
        assert (status, answer["predictions"]) == (200, model.predict(raw).astype(str).tolist())

        good = rng.normal(size=(1, 4, 2)).astype(np.float32)
        partial = good.copy()
        partial[0, 2, 1] = np.nan
        bad = [
            (invocations(url, rng.normal(size=(1, 4, 3))), "does not match expected shape"),
            (http(url + "/invocations", {"inputs": [[["a", "b"], ["c", "d"]]]}),
             "could not convert string to float"),
            (http(url + "/invocations", b'{"inputs": [[[0.1, 0.2], [0.3'), "valid JSON"),
            (http(url + "/invocations", {"instances": 1, "inputs": 2}), "exactly one"),
            (invocations(url, good, signature="nope"), "Unknown signature 'nope'"),
            (invocations(url, partial), "NaN marks padding only"),
            (http(url + "/invocations", {"inputs": [[[0.1, 0.2]], [[0.1, 0.2], [0.3, 0.4]]]}),
             "holds sequences of different lengths: pad each at its end with null (NaN) to the "
             "longest, so that the request is one array of shape (-1, -1, 2). Got shape "
             "(2, 1 to 2, 2)."),
        ]
        for (status, answer), message in bad:
            assert 400 <= status < 500, (status, answer)
            assert message in answer["message"], answer["message"]
            assert http(url + "/ping")[0] == 200
        assert invocations(url, good)[0] == 200  # still serving


@pytest.mark.parametrize("name", ["tagger", "forecaster"])
def test_served_tagger_and_forecaster_answer_like_the_estimator(tracking, tmp_path, name):
    uri = _logged([name])[name]
    inputs = requests(name)[1]
    with mlflow_serve(uri, tracking, tmp_path) as (url, _):
        status, answer = invocations(url, inputs)
        if name == "forecaster":  # its univariate history as JSON lists of numbers
            flat = invocations(url, {**inputs, "history": inputs["history"][..., 0]})
            assert flat == (status, answer)
    assert status == 200, answer
    want = expected(name)["serving_default"]
    got = answer["predictions"]
    got = {key: np.asarray(got[key]) for key in want} if isinstance(got, dict) else \
        {next(iter(want)): np.asarray(got)}
    assert_outputs_equal(got, want, f"served {name}")


def test_a_sequence_alone_equals_it_inside_a_padded_batch(tmp_path):
    """One sequence alone equals the same sequence inside a padded batch."""
    model = mlflow.pyfunc.load_model(
        str(export.save_mlflow_model(fitted("classifier"), tmp_path / "classifier")))
    raw, inputs = requests("classifier")
    batch = model.predict(inputs["sequences"], params={"signature": "predict_proba"})
    for row, sequence in zip(batch, raw):
        alone = model.predict(sequence[None], params={"signature": "predict_proba"})
        np.testing.assert_allclose(alone[0], row, atol=1e-5)
