"""Exports of seqkit's cells answer requests of any shape without compiling, as ``predict`` does.

The signatures run the layers' shape-agnostic loop (:mod:`seqkit.cells._graph`),
not the fast path's XLA loop: no function of the SavedModel asks XLA to
compile, and one signature answers a stream of mixed batches and lengths,
padded and unpadded, single and batched, with ``predict``'s numbers.
"""

import numpy as np
import pytest
from tensorflow.core.protobuf import saved_model_pb2

from seqkit import export
from tests.estimators.data import fast_classifier, fast_forecaster, fast_tagger, monthly_series
from tests.helpers.exports import assert_outputs_equal, pad_numeric

CELLS = ["peephole_lstm", "elman"]


def _sequences(seed, lengths, features=2):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n, features)).astype(np.float32) for n in lengths]


def _xla_functions(folder):
    """Names of the SavedModel's functions marked for XLA compilation (an export traced on
    the fast path lists its ``_lstm_forward`` and ``_lstm_backward_dz`` here)."""
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((folder / "saved_model.pb").read_bytes())
    library = proto.meta_graphs[0].graph_def.library
    return [f.signature.name for f in library.function if f.attr["_XlaMustCompile"].b]


@pytest.fixture(scope="module", params=CELLS)
def classifier(request, tmp_path_factory):
    X = _sequences(0, np.random.default_rng(0).integers(4, 15, size=24))
    y = np.array(["up" if x[:, 0].mean() > 0 else "down" for x in X])
    model = fast_classifier(cell=request.param).fit(X, y)
    return model, export.export_saved_model(model, tmp_path_factory.mktemp("c") / "export")


@pytest.fixture(scope="module", params=CELLS)
def tagger(request, tmp_path_factory):
    X = _sequences(1, np.random.default_rng(1).integers(3, 12, size=20))
    y = [np.where(x[:, 0] > 0, "pos", "neg") for x in X]
    model = fast_tagger(cell=request.param).fit(X, y)
    return model, export.export_saved_model(model, tmp_path_factory.mktemp("t") / "export")


@pytest.fixture(scope="module", params=CELLS)
def forecaster(request, tmp_path_factory):
    model = fast_forecaster(cell=request.param, scaling="standard").fit(monthly_series())
    return model, export.export_saved_model(model, tmp_path_factory.mktemp("f") / "export")


# Lengths and batches that a request stream mixes: one step over the shortest seen in
# training, the same length twice, a batch of equal lengths (no padding), a long one.
STREAM = [[5], [9, 3, 7], [9, 9], [1], [40, 2, 17, 5, 9], [120]]


@pytest.mark.slow
def test_classifier_export_answers_a_mixed_stream_as_predict(classifier):
    model, folder = classifier
    assert _xla_functions(folder) == []
    proba = export.load_saved_model(folder, "predict_proba")
    labels = export.load_saved_model(folder, "serving_default")
    for i, lengths in enumerate(STREAM):
        raw = _sequences(10 + i, lengths)
        inputs = {"sequences": pad_numeric(raw)}
        assert_outputs_equal(proba(**inputs), {"probabilities": model.predict_proba(raw)},
                             f"lengths {lengths}")
        assert_outputs_equal(labels(**inputs), {"labels": model.predict(raw).astype(str)},
                             f"lengths {lengths}")


@pytest.mark.slow
def test_tagger_export_answers_a_mixed_stream_as_predict(tagger):
    model, folder = tagger
    assert _xla_functions(folder) == []
    proba = export.load_saved_model(folder, "predict_proba")
    for i, lengths in enumerate(STREAM):
        raw = _sequences(20 + i, lengths)
        got = proba(sequences=pad_numeric(raw))
        np.testing.assert_array_equal(got["lengths"], lengths)
        for row, want in zip(got["probabilities"], model.predict_proba(raw)):
            np.testing.assert_allclose(row[: len(want)], want, atol=1e-5, rtol=1e-5)
            assert not np.any(row[len(want):])


@pytest.mark.slow
def test_forecaster_export_answers_a_mixed_stream_as_predict(forecaster):
    model, folder = forecaster
    assert _xla_functions(folder) == []
    signature = export.load_saved_model(folder, "serving_default")
    values = monthly_series(n=200, seed=4).to_numpy().astype(np.float32).astype(float)
    for lengths in [[6], [30, 6, 11], [19, 19], [150], [7, 60, 8, 8, 13]]:
        histories = [values[-n:] for n in lengths]
        got = signature(history=pad_numeric([h[:, None] for h in histories]))
        want = np.stack(model.predict(y=histories))[..., None]
        np.testing.assert_allclose(got["forecasts"], want, atol=1e-5, rtol=1e-5)


@pytest.mark.slow
def test_streaming_step_takes_any_batch(forecaster):
    model, folder = forecaster
    step = export.load_saved_model(folder, "step")
    for batch in (1, 4, 7):
        states = {name: np.zeros((batch, spec.shape[1]), np.float32)
                  for name, spec in step.inputs.items() if name != "x"}
        out = step(x=np.ones((batch, 1), np.float32), **states)
        assert out["forecasts"].shape[0] == batch
        assert np.all(np.isfinite(out["forecasts"]))
