"""SavedModel export: parity with the estimators without seqkit, streaming, bad input, ONNX.

The fitted models and their expected outputs come from :mod:`tests.helpers.exports`.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seqkit import export
from tests.helpers.exports import (
    BLOCK_SEQKIT,
    SUBPROCESS_ENV,
    assert_outputs_equal,
    expected,
    fake_export,
    fitted,
    requests,
)

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


def test_an_error_inside_the_graph_is_told_by_its_own_message():
    """A failure that is not one of the graph's checks names what the op said, not
    TensorFlow's ``Graph execution error:`` heading."""
    import tensorflow as tf

    from seqkit.export.loading import _reason

    @tf.function(input_signature=[tf.TensorSpec([None, None, 4], tf.float32)], autograph=False)
    def stack_steps_after_the_first(x):
        steps = tf.TensorArray(tf.float32, size=tf.shape(x)[1] - 1,
                               element_shape=tf.TensorShape([None, 4]))
        return steps.stack()

    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        stack_steps_after_the_first(tf.zeros([2, 1, 4]))
    assert _reason(caught.value) == ("Tried to stack elements of an empty list with "
                                     "non-fully-defined element_shape: [?,4]")
