"""One parity test for every estimator kind: ``predict`` and the export agree on each input form.

Both run the same preprocessing (:mod:`seqkit.preprocessing`, :mod:`seqkit.subwords`);
this walks the forms a client sends: a padded batch of different lengths, a
batch of equal lengths (no padding), each sequence alone, and for forecasters
histories shorter than the lookback.
"""

import numpy as np
import pytest

from seqkit import export
from seqkit.exceptions import InvalidInputError
from tests.helpers.exports import (
    assert_outputs_equal,
    export_inputs,
    fitted,
    predictions,
    requests,
)

NAMES = ["classifier", "tagger", "crf_tagger", "bidirectional_tagger", "forecaster",
         "streaming_forecaster", "quantile_forecaster"]


def _forms(name):
    """``{form: raw}``: the test data of model ``name`` padded, unpadded, and one by one."""
    raw, _ = requests(name)
    if name.endswith("forecaster"):
        histories, covariates = raw
        shortest = min(map(len, histories))
        cut = [h[-shortest:] for h in histories]
        cut_covariates = None if covariates is None else [c[-(shortest + 3):] for c in covariates]
        # Shorter than the lookback (6): padded at the start by predict and by the export.
        steps = (1, 2, 5)
        short = [h[-n:] for h, n in zip(histories, steps)]
        short_covariates = None if covariates is None else [
            c[-(n + 3):] for c, n in zip(covariates, steps)]
        forms = {"padded batch": raw, "unpadded batch": (cut, cut_covariates),
                 "short histories": (short, short_covariates)}
        forms.update({f"alone {i}": ([h], None if covariates is None else [covariates[i]])
                      for i, h in enumerate(histories)})
        return forms
    shortest = min(map(len, raw))
    forms = {"padded batch": raw, "unpadded batch": [x[:shortest] for x in raw],
             "one step each": [x[:1] for x in raw]}
    forms.update({f"alone {i}": [x] for i, x in enumerate(raw)})
    return forms


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_export_answers_as_predict_padded_unpadded_single_and_batched(exports, name):
    signatures = {}
    for form, raw in _forms(name).items():
        inputs = export_inputs(name, raw)
        if form not in ("padded batch", "short histories"):
            assert all(not np.any(np.isnan(v)) if v.dtype.kind == "f" else np.all(v != "")
                       for v in inputs.values()), f"{form} should need no padding"
        for signature, want in predictions(name, raw).items():
            if signature not in signatures:
                signatures[signature] = export.load_saved_model(exports(name), signature)
            assert_outputs_equal(signatures[signature](**inputs), want, f"{name}, {form}")


def _history_with(values, where, value):
    history = np.array(values, dtype=float)
    history[where] = value
    return history


@pytest.mark.slow
@pytest.mark.parametrize("name, make, rule", [
    ("streaming_forecaster", lambda h: _history_with(h, 10, np.nan), "padding before real steps"),
    ("streaming_forecaster", lambda h: _history_with(h, 0, np.nan), "padding before real steps"),
    ("streaming_forecaster", lambda h: _history_with(h, 5, np.inf), "must not contain inf"),
    ("streaming_forecaster", lambda h: np.full_like(h, np.nan), "no real step"),
    ("tagger", lambda _: ["", "Ada"], "padding before real steps"),
    ("tagger", lambda _: [""], "no real step"),
    ("classifier", lambda x: _history_with(x, (1, 0), np.nan), "NaN in some features"),
])
def test_export_refuses_what_predict_refuses(exports, name, make, rule):
    """A missing value inside a sequence, padding first, inf, or nothing real: ``predict``
    refuses it, and so does the export, naming the rule (not reading NaN as padding)."""
    raw, _ = requests(name)
    bad = make(raw[0][0] if name.endswith("forecaster") else raw[0])
    model = fitted(name)
    with pytest.raises(ValueError):
        model.predict(y=[bad]) if name.endswith("forecaster") else model.predict([bad])
    inputs = export_inputs(name, ([bad], None) if name.endswith("forecaster") else [bad])
    signature = export.load_saved_model(exports(name))
    with pytest.raises(InvalidInputError, match=rule):
        signature(**inputs)


@pytest.mark.slow
def test_export_answers_as_predict_on_values_far_from_zero(tmp_path):
    """Features and covariates at 1e6 that vary by 0.05: float32, in which the exports take
    them, has steps of 0.0625 there. predict reads them so too (labels flipped and
    forecasts moved by 3e-3 when it standardised the float64 values)."""
    from sklearn.pipeline import make_pipeline

    from seqkit.preprocessing import SequenceScaler
    from tests.estimators.data import fast_classifier, fast_forecaster

    rng = np.random.default_rng(0)
    X = [1e6 + 0.05 * rng.normal(size=(n, 2)) for n in rng.integers(3, 9, 40)]
    y = np.array(["up" if (x[:, 0] - 1e6).mean() > 0 else "down" for x in X])
    pipeline = make_pipeline(SequenceScaler(), fast_classifier(epochs=2)).fit(X, y)
    padded = np.full((40, 8, 2), np.nan)
    for row, x in zip(padded, X):
        row[: len(x)] = x
    path = export.export_saved_model(pipeline, tmp_path / "classifier")
    served = export.load_saved_model(path, "predict_proba")(sequences=padded)
    np.testing.assert_allclose(served["probabilities"], pipeline.predict_proba(padded),
                               atol=1e-6)

    z = rng.normal(size=83)
    history = 10 + np.sin(np.arange(80) * 2 * np.pi / 12) + 0.5 * z[:80]
    covariates = (1e6 + 0.05 * z)[:, None]
    forecaster = fast_forecaster(epochs=2).fit(history, covariates[:80])
    path = export.export_saved_model(forecaster, tmp_path / "forecaster")
    served = export.load_saved_model(path)(history=history[None, :, None],
                                           covariates=covariates[None])
    np.testing.assert_allclose(served["forecasts"].ravel(),
                               np.asarray(forecaster.predict(y=history, X=covariates)).ravel(),
                               rtol=1e-6)


@pytest.mark.slow
def test_integer_classes_come_back_as_integers_from_every_door(tmp_path):
    """y of ints: predict gives int64 labels, and so do the export, its ``step`` and the MLflow
    model (they gave the labels' strings, '0' and '1'); the manifest keeps them as ints."""
    import mlflow

    from tests.estimators.data import fast_classifier

    rng = np.random.default_rng(0)
    X = [rng.normal(size=(n, 2)) for n in rng.integers(3, 9, 30)]
    y = np.array([int(x[:, 0].mean() > 0) for x in X]) * 7  # classes 0 and 7
    model = fast_classifier(epochs=2, bidirectional=False, conv_branch=False,
                            step_pooling=1).fit(X, y)
    padded = np.full((len(X), 8, 2), np.nan)
    for row, x in zip(padded, X):
        row[: len(x)] = x
    expected = model.predict(X)
    assert expected.dtype == np.int64 and set(expected) <= {0, 7}
    path = export.export_saved_model(model, tmp_path / "export")
    served = export.load_saved_model(path)(sequences=padded)["labels"]
    assert served.dtype == np.int64
    np.testing.assert_array_equal(served, expected)
    assert export.load_saved_model(path).manifest["classes"] == [0, 7]
    step = export.load_saved_model(path, "step")
    states = {name: np.zeros((1, *spec.shape[1:]), spec.dtype.as_numpy_dtype)
              for name, spec in step.inputs.items() if name != "x"}
    assert step(x=padded[:1, 0], **states)["labels"].dtype == np.int64
    pyfunc = mlflow.pyfunc.load_model(str(export.save_mlflow_model(path, tmp_path / "mlflow")))
    answered = pyfunc.predict(padded)
    assert answered.dtype == np.int64
    np.testing.assert_array_equal(answered, expected)
