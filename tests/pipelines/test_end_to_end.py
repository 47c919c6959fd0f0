"""Each pipeline end to end on its real data, with tiny settings (1 epoch, 4 units)."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from pipelines import __main__ as main_job
from pipelines import classification, forecasting, tagging
from seqkit import datasets
from tests.helpers.pipelines import TINY, artifact_paths

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

# pipeline, primary metric, artifacts of that task (besides those of every run)
CASES = {
    "forecasting/sunspots": (
        forecasting, "mase", ["plots/forecast.png", "plots/gradient_norms.png",
                              "tables/forecasts.csv"]
    ),
    "classification/basic_motions": (
        classification, "accuracy", ["plots/confusion_matrix.png", "plots/gradient_norms.png",
                                     "tables/confusion_matrix.csv"]
    ),
    # Bidirectional tagging networks: a line of gradient norms per direction.
    "tagging/japanese_ner": (tagging, "entity_f1", ["tables/per_entity_f1.csv",
                                                    "plots/per_entity_f1.png",
                                                    "plots/gradient_norms.png"]),
    "tagging/basic_motions_segmentation": (tagging, "entity_f1", ["tables/per_entity_f1.csv",
                                                                  "plots/per_entity_f1.png",
                                                                  "plots/gradient_norms.png"]),
}


@pytest.mark.parametrize("case", CASES)
def test_pipeline_records_exports_and_reports(case, workdir, recorded_runs, capsys):
    from mlflow.tracking import MlflowClient

    task, dataset = case.split("/")
    module, metric, task_artifacts = CASES[case]
    report = module.run(["--dataset", dataset, *TINY])

    (run,) = recorded_runs()
    assert run.info.status == "FINISHED"
    assert run.info.run_name == f"{dataset}-peephole_lstm"
    params = run.data.params
    assert params["epochs"] == "1" and params["units"] == "4" and params["random_state"] == "0"
    assert params["cell"] == "peephole_lstm"
    for file_name, digest in datasets.dataset_info(dataset)["sha256"].items():
        assert params[f"dataset_sha256.{file_name}"] == digest
    assert np.isfinite(run.data.metrics[f"test_{metric}"])
    baselines = [name for name in report.metrics if name != "seqkit"]
    assert baselines and all(f"{b}_test_{metric}" in run.data.metrics for b in baselines)
    client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    assert len(client.get_metric_history(run.info.run_id, "loss")) == 1
    artifacts = artifact_paths(client, run.info.run_id)
    for expected in ("dataset.json", "plots/learning_curves.png", "model/saved_model.pb",
                     "estimator.pkl", "results.json", *task_artifacts):
        assert expected in artifacts

    export = workdir / "outputs" / task / dataset
    assert report.export_dir == export / "model"
    assert (export / "model" / "saved_model.pb").is_file()
    assert json.loads((export / "results.json").read_text())["metrics"] == report.metrics
    out = capsys.readouterr().out
    assert f"Exported model (SavedModel): {export / 'model'}" in out
    assert run.data.tags["mlflow.note.content"] == report.summary()
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.tags["mlflow.note.content"] == module.__doc__
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert f"mlflow ui --backend-store-uri sqlite:///{workdir / 'mlflow.db'}" in out


def test_exported_classifier_serves_raw_sequences_like_the_estimator(workdir):
    import pickle

    from seqkit.export import load_saved_model

    classification.run(["--dataset", "basic_motions", *TINY])
    export = workdir / "outputs" / "classification" / "basic_motions"
    model = pickle.loads((export / "estimator.pkl").read_bytes())
    _, _, X_test, _ = datasets.load_classification("basic_motions")
    serve = load_saved_model(export / "model", signature="predict_proba")
    served = serve(sequences=np.stack(X_test[:5]))["probabilities"]
    np.testing.assert_allclose(served, model.predict_proba(X_test[:5]), rtol=1e-4, atol=1e-6)


def test_rerun_replaces_the_previous_export(workdir):
    forecasting.run(["--dataset", "sunspots", *TINY])
    forecasting.run(["--dataset", "sunspots", *TINY, "--seed", "1"])
    folder = workdir / "outputs" / "forecasting"
    assert sorted(p.name for p in folder.iterdir()) == ["sunspots"]
    results = json.loads((folder / "sunspots" / "results.json").read_text())
    assert "random_state=1" in results["model"]


def test_main_job_runs_the_pipelines_and_prints_the_result_table(workdir, capsys):
    assert main_job.main(["--only", "classification/basic_motions", "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    table = out.split("=== Results on the test splits")[1].splitlines()
    line = next(line for line in table if line.startswith("classification"))
    assert "basic_motions" in line and "accuracy" in line and "= 1.0" in line
    assert str(workdir / "outputs" / "classification" / "basic_motions" / "model") in out
    assert "Browse every run: mlflow ui --backend-store-uri sqlite:///" in out


def test_forecast_intervals_of_a_series_never_negative_stay_at_or_above_zero(workdir, capsys):
    forecasting.run(["--dataset", "sunspots", *TINY, "--coverage", "0.95"])
    table = pd.read_csv(workdir / "outputs" / "forecasting" / "sunspots" / "tables" /
                        "forecasts.csv")
    assert (table["seqkit_lower"] >= 0).all()
    assert "no training value is negative: the interval's lower bounds are clipped at 0" in \
        capsys.readouterr().out


def test_the_main_job_prints_progress_tables_and_paths_and_no_log_noise(tmp_path):
    """In a fresh process, as ``make demo`` runs it: no TensorFlow, absl or MLflow lines."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("MLFLOW_", "TF_CPP"))}
    result = subprocess.run(
        [sys.executable, "-m", "pipelines", "--only", "tagging/japanese_ner", "--epochs", "3"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = (result.stdout + result.stderr).splitlines()
    noise = [line for line in lines if NOISE.search(line)]
    assert noise == [], noise
    assert result.stderr == ""
    assert any(re.match(r"\[tagging/japanese_ner +\d+\.\ds\] fitting", line) for line in lines)
    assert any(line.startswith("seqkit ") for line in lines)  # a table row
    assert any(line.startswith("Browse every run: mlflow ui") for line in lines)


# What TensorFlow's runtime, absl, Keras and MLflow print when nobody asks them.
NOISE = re.compile(r"^[IWEF]\d{4} |absl|oneDNN|cpu_feature_guard|retracing|WARNING:tensorflow|"
                   r"INFO mlflow|Validating input example|UserWarning|FutureWarning|"
                   r"warnings\.warn")
