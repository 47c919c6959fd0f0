"""SavedModel export: parity with the estimators without seqkit, streaming, bad input, ONNX.

The fitted models and their expected outputs are shared with ``test_serving``
and ``test_cli`` through :func:`fitted`, :func:`requests` and :func:`expected`.
"""

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from seqkit import export
from seqkit.preprocessing import SequenceScaler
from tests.estimators.data import (
    fast_classifier,
    fast_forecaster,
    fast_tagger,
    monthly_series,
    ragged_classification,
    tagging_tokens,
)

SUBPROCESS_ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
BLOCK_SEQKIT = 'import sys\nsys.modules["seqkit"] = None\nsys.modules["keras"] = None\n'
"""Prepended to subprocess scripts: importing seqkit or keras there fails."""


# ----------------------------------------------------------------------- shared models


def _covariates(rows, seed):
    return np.random.default_rng(seed).normal(size=(rows, 2)).astype(np.float32).astype(float)


@functools.cache
def fitted(name):
    """A fitted model, once per test session (fits take seconds)."""
    if name == "classifier":  # a Pipeline: the scaling goes into the graph; stacked LSTMs
        X, y = ragged_classification()
        return make_pipeline(SequenceScaler(), fast_classifier(num_layers=2)).fit(X, y)
    if name == "tagger":  # tokens: the vocabulary goes into the graph
        return fast_tagger(cell="elman").fit(*tagging_tokens())
    if name == "bidirectional_tagger":  # numeric input, no streaming signature
        X, _ = ragged_classification()
        y = [np.where(x[:, 0] > 0, "pos", "neg") for x in X]
        return fast_tagger(cell="gru", bidirectional=True).fit(X, y)
    series = monthly_series()
    if name == "forecaster":  # window scaling, covariates
        return fast_forecaster(cell="lstm").fit(series, X=_covariates(len(series), 0))
    if name == "streaming_forecaster":  # standard scaling: has a step signature
        return fast_forecaster(scaling="standard", cell="gru").fit(series)
    raise KeyError(name)


def _pad(sequences, value, dtype):
    """Sequences of different lengths as one array, padded at the end with ``value``."""
    steps = max(len(s) for s in sequences)
    shape = np.shape(sequences[0])[1:]
    padded = np.full((len(sequences), steps, *shape), value, dtype=dtype)
    for row, sequence in zip(padded, sequences):
        row[: len(sequence)] = sequence
    return padded


def pad_numeric(sequences):
    return _pad(sequences, np.nan, np.float32)


def pad_tokens(sequences):
    return _pad(sequences, "", object).astype(str)


@functools.cache
def requests(name):
    """``(raw, inputs)``: test data as the estimator takes it, and as the export takes it."""
    if name == "tagger":
        X = [["Ada", "visited", "London"], ["Grace", "met", "an", "unknown", "Turing"], ["Paris"]]
        return X, {"tokens": pad_tokens(X)}
    if name in ("classifier", "bidirectional_tagger"):
        X, _ = ragged_classification(n=7, seed=1)
        X = [x.astype(np.float32) for x in X]
        return X, {"sequences": pad_numeric(X)}
    values = monthly_series(n=50, seed=3).to_numpy().astype(np.float32).astype(float)
    histories = [values[:40], values[9:30], values[20:]]
    if name == "streaming_forecaster":
        return (histories, None), {"history": pad_numeric([h[:, None] for h in histories])}
    covariates = [_covariates(len(h) + 3, i + 1) for i, h in enumerate(histories)]
    return (histories, covariates), {"history": pad_numeric([h[:, None] for h in histories]),
                                     "covariates": pad_numeric(covariates)}


@functools.cache
def expected(name):
    """``{signature: {output: array}}`` that the export must give for :func:`requests`."""
    model = fitted(name)
    raw, inputs = requests(name)
    if name == "classifier":
        return {"serving_default": {"labels": model.predict(raw).astype(str)},
                "predict_proba": {"probabilities": model.predict_proba(raw)}}
    if name in ("tagger", "bidirectional_tagger"):
        labels = [np.asarray(row).astype(str) for row in model.predict(raw)]
        lengths = np.array([len(row) for row in labels], dtype=np.int32)
        probabilities = model.predict_proba(raw)
        return {"serving_default": {"labels": _pad(labels, "", object).astype(str),
                                    "lengths": lengths},
                "predict_proba": {"probabilities": _pad(probabilities, 0.0, float),
                                  "lengths": lengths}}
    histories, covariates = raw
    forecasts = model.predict(y=histories, X=covariates)
    return {"serving_default": {"forecasts": np.stack(forecasts)[..., None]}}


def assert_outputs_equal(got, want, what):
    """Strings and ints exactly, floats to 1e-5."""
    assert set(got) == set(want), f"{what}: outputs {sorted(got)}, expected {sorted(want)}"
    for key, value in want.items():
        if value.dtype.kind in "fc":
            np.testing.assert_allclose(got[key], value, atol=1e-5, rtol=1e-5,
                                       err_msg=f"{what}: {key}")
        else:
            np.testing.assert_array_equal(np.asarray(got[key]), value, err_msg=f"{what}: {key}")


@functools.cache
def exported(name, folder):
    """Export :func:`fitted` ``name`` into ``folder`` (once per folder)."""
    return export.export_saved_model(fitted(name), Path(folder) / name)


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("exports")
    return lambda name: exported(name, str(folder))


NAMES = ["classifier", "tagger", "bidirectional_tagger", "forecaster", "streaming_forecaster"]


# ----------------------------------------------------------------------- parity


@pytest.mark.slow
def test_exports_equal_estimator_predictions_in_a_process_without_seqkit_or_keras(
    exports, tmp_path
):
    jobs = []
    for name in NAMES:
        for signature in expected(name):
            inputs = tmp_path / f"{name}-{signature}-in.npz"
            np.savez(inputs, **requests(name)[1])
            jobs.append((str(exports(name)), signature, str(inputs),
                         str(tmp_path / f"{name}-{signature}-out.npz")))
    script = BLOCK_SEQKIT + f"""
import numpy as np, tensorflow as tf
for folder, signature, inputs, outputs in {jobs!r}:
    function = tf.saved_model.load(folder).signatures[signature]
    result = function(**{{k: tf.constant(v) for k, v in np.load(inputs).items()}})
    np.savez(outputs, **{{k: v.numpy() for k, v in result.items()}})
print("ran", len({jobs!r}))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=SUBPROCESS_ENV, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    for folder, signature, _, outputs in jobs:
        name = Path(folder).name
        got = dict(np.load(outputs, allow_pickle=True))
        got = {k: v.astype(str) if v.dtype == object else v for k, v in got.items()}
        assert_outputs_equal(got, expected(name)[signature], f"{name} {signature}")


@pytest.mark.slow
def test_saved_model_cli_lists_the_signatures_with_variable_time(exports):
    cli = Path(sys.executable).with_name("saved_model_cli")
    shown = subprocess.run([str(cli), "show", "--dir", str(exports("classifier")), "--all"],
                           capture_output=True, text=True, env=SUBPROCESS_ENV, timeout=300)
    assert shown.returncode == 0, shown.stderr[-2000:]
    for name in ("serving_default", "predict_proba", "step"):
        assert f"signature_def['{name}']" in shown.stdout
    assert "shape: (-1, -1, 2)" in shown.stdout  # batch and time free, 2 features
    assert "dtype: DT_STRING" in shown.stdout  # the labels


@pytest.mark.slow
def test_manifest_describes_the_export(exports):
    manifest = export.read_manifest(exports("tagger"))
    assert manifest["format_version"] == export.FORMAT_VERSION
    assert manifest["kind"] == "tagger" and manifest["input"] == "tokens"
    assert manifest["classes"] == ["B-LOC", "B-PER", "I-PER", "O"]
    inputs = manifest["signatures"]["serving_default"]["inputs"]
    assert inputs == {"tokens": {"shape": [-1, -1], "dtype": "string"}}
    assert set(manifest["signatures"]["step"]["inputs"]) == {"x", "h_1"}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["classifier", "tagger", "streaming_forecaster"])
def test_step_replays_serving_default(exports, name):
    """Feeding a sequence step by step from zero states gives the whole-sequence outputs."""
    step = export.load_saved_model(exports(name), "step")
    (x,) = [v for k, v in requests(name)[1].items()]
    if name == "streaming_forecaster":  # fed the last `lookback` steps of each history
        lookback = fitted(name).lookback
        x = np.stack([h[-lookback:, None] for h in requests(name)[0][0]]).astype(np.float32)
    states = {k: np.zeros((len(x), spec.shape[1]), np.float32)
              for k, spec in step.inputs.items() if k != "x"}
    outputs = []
    for t in range(x.shape[1]):
        out = step(x=x[:, t], **states)
        states = {k: out[k] for k in states}
        outputs.append(out)
    want = expected(name)
    if name == "classifier":
        assert_outputs_equal({k: outputs[-1][k] for k in ("labels", "probabilities")},
                             {**want["serving_default"], **want["predict_proba"]}, name)
    elif name == "tagger":
        got = {k: np.stack([o[k] for o in outputs], axis=1) for k in ("labels", "probabilities")}
        real = want["serving_default"]["labels"] != ""
        np.testing.assert_array_equal(got["labels"], want["serving_default"]["labels"])
        np.testing.assert_allclose(got["probabilities"][real],
                                   want["predict_proba"]["probabilities"][real], atol=1e-5)
    else:
        want = export.load_saved_model(exports(name))(**requests(name)[1])
        np.testing.assert_allclose(outputs[-1]["forecasts"], want["forecasts"], atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("name, signatures", [
    ("bidirectional_tagger", ["predict_proba", "serving_default"]),
    ("forecaster", ["serving_default"]),  # window scaling and covariates
])
def test_no_step_signature_where_a_step_cannot_be_defined(exports, name, signatures):
    assert sorted(export.read_manifest(exports(name))["signatures"]) == signatures


# ----------------------------------------------------------------------- writing safely


def fake_export(folder, **manifest):
    folder.mkdir()
    manifest = {"format": "seqkit-export", "format_version": export.FORMAT_VERSION,
                "seqkit_version": "0.1.0", "signatures": {"serving_default": {}}, **manifest}
    (folder / export.MANIFEST).write_text(json.dumps(manifest))
    return folder


def test_a_failed_export_leaves_the_previous_one_intact(tmp_path):
    final = fake_export(tmp_path / "model")
    with pytest.raises(RuntimeError, match="interrupted"):
        with export.staged_directory(final) as stage:
            (stage / "half-written").write_text("...")
            raise RuntimeError("interrupted")
    assert sorted(p.name for p in final.iterdir()) == [export.MANIFEST]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no staging folder left
    with export.staged_directory(final) as stage:
        (stage / "new").write_text("!")
    assert [p.name for p in final.iterdir()] == ["new"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


# ----------------------------------------------------------------------- ONNX


@pytest.mark.slow
@pytest.mark.parametrize("name, signature", [
    ("classifier", "predict_proba"),
    ("tagger", "serving_default"),
    ("forecaster", "serving_default"),
])
def test_onnx_export_matches_the_estimator(tmp_path, name, signature):
    pytest.importorskip("tf2onnx")
    ort = pytest.importorskip("onnxruntime")
    path = export.export_onnx(fitted(name), tmp_path / f"{name}.onnx", signature=signature)
    session = ort.InferenceSession(str(path))
    inputs = requests(name)[1]
    assert sorted(i.name for i in session.get_inputs()) == sorted(inputs)
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(names, session.run(names, inputs)))
    got = {k: v.astype(str) if v.dtype == object else v for k, v in got.items()}
    assert_outputs_equal(got, expected(name)[signature], f"{name} ONNX {signature}")


@pytest.mark.slow
def test_onnx_export_names_the_signatures_it_converts(tmp_path):
    pytest.importorskip("tf2onnx")
    with pytest.raises(ValueError, match=r"'signature' parameter of export_onnx.*Got 'step'"):
        export.export_onnx(fitted("streaming_forecaster"), tmp_path / "f.onnx", signature="step")
