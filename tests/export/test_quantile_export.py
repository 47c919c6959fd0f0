"""A quantile forecaster's export: its predict_quantiles signature, in the SavedModel and the
pyfunc, answers as ``predict_quantiles`` does; its serving_default as ``predict``."""

import mlflow
import numpy as np
import pytest

from seqkit import export
from tests.export.test_parity import _forms
from tests.helpers.exports import assert_outputs_equal, export_inputs, fitted, predictions

NAME = "quantile_forecaster"


def test_the_manifest_lists_the_levels_and_the_signature(exports):
    manifest = export.read_manifest(exports(NAME))
    assert manifest["quantiles"] == [0.1, 0.5, 0.9]
    assert manifest["signatures"]["predict_quantiles"]["outputs"]["quantiles"]["shape"] == [
        -1, 3, 1, 3]
    assert "predict_quantiles" not in export.read_manifest(exports("streaming_forecaster"))[
        "signatures"]


def test_saved_model_quantiles_and_median_match_the_estimator_in_every_form(exports):
    signatures = {name: export.load_saved_model(exports(NAME), name)
                  for name in ("serving_default", "predict_quantiles")}
    for form, raw in _forms(NAME).items():
        inputs = export_inputs(NAME, raw)
        for signature, want in predictions(NAME, raw).items():
            got = signatures[signature](**inputs)
            assert_outputs_equal(got, want, f"{signature}, {form}")
            if signature == "predict_quantiles":
                assert (np.diff(got["quantiles"], axis=-1) >= 0).all()


def test_the_pyfunc_serves_predict_quantiles(tmp_path):
    model = mlflow.pyfunc.load_model(str(export.save_mlflow_model(fitted(NAME),
                                                                  tmp_path / "model")))
    raw = _forms(NAME)["padded batch"]
    inputs = export_inputs(NAME, raw)
    inputs = inputs if len(inputs) > 1 else inputs["history"]
    want = predictions(NAME, raw)
    got = model.predict(inputs, params={"signature": "predict_quantiles"})
    np.testing.assert_allclose(got, want["predict_quantiles"]["quantiles"], rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(model.predict(inputs), want["serving_default"]["forecasts"],
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("signature", ["predict_quantiles"])
def test_a_point_forecaster_has_no_quantile_signature(tmp_path, signature):
    model = mlflow.pyfunc.load_model(str(export.save_mlflow_model(fitted("streaming_forecaster"),
                                                                  tmp_path / "model")))
    history = np.ones((1, 10, 1))
    with pytest.raises(mlflow.exceptions.MlflowException, match=r"Unknown signature "
                                                                r"'predict_quantiles'"):
        model.predict(history, params={"signature": signature})


def test_quantiles_with_covariates_match_the_estimator(tmp_path):
    from tests.estimators.data import fast_forecaster, monthly_series

    rng = np.random.default_rng(0)
    series = monthly_series().to_numpy()
    covariates = rng.normal(size=(60, 2)).astype(np.float32).astype(float)
    model = fast_forecaster(loss="quantile", quantiles=(0.2, 0.5, 0.8)).fit(
        series, X=covariates)
    future = rng.normal(size=(3, 2)).astype(np.float32).astype(float)
    history = series.astype(np.float32).astype(float)
    want = model.predict_quantiles(y=history, X=np.concatenate([covariates, future]))
    signature = export.load_saved_model(export.export_saved_model(model, tmp_path / "m"),
                                        "predict_quantiles")
    got = signature(history=history[None, :, None].astype(np.float32),
                    covariates=np.concatenate([covariates, future])[None].astype(np.float32))
    np.testing.assert_allclose(got["quantiles"][0, :, 0], want, rtol=1e-5, atol=1e-5)
