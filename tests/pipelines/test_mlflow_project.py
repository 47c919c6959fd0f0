"""``mlflow run mlflow_projects/seqkit`` for real: a sub-process, offline (env manager local)."""

import pandas as pd
import pytest

from seqkit import datasets
from seqkit.tracking import PIPELINE_RUN_TAG, PROJECT_RUN_TAG
from tests.helpers.pipelines import PROJECT, mlflow_run

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def test_mlflow_run_on_a_users_file_lands_in_the_seqkit_experiment(tmp_path):
    from mlflow.tracking import MlflowClient

    y = datasets.load_series("airline")
    pd.DataFrame({"ds": y.index, "y": y.to_numpy()}).to_csv(tmp_path / "airline.csv", index=False)

    result, runs = mlflow_run(
        tmp_path, "-e", "forecasting", "-P", "data=airline.csv", "-P", "horizon=12",
        "-P", "epochs=1", "-P", "units=4",
    )

    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{tmp_path / 'store.db'}")
    names = {e.experiment_id: e.name for e in client.search_experiments()}
    by_experiment = {names[run.info.experiment_id]: run for run in runs}
    assert set(by_experiment) == {"Default", "seqkit-forecasting"}
    project, pipeline = by_experiment["Default"], by_experiment["seqkit-forecasting"]
    assert project.data.tags[PIPELINE_RUN_TAG] == pipeline.info.run_id
    assert pipeline.data.tags[PROJECT_RUN_TAG] == project.info.run_id
    assert pipeline.info.status == "FINISHED" and pipeline.info.run_name == "airline-peephole_lstm"
    assert pipeline.data.params["data"] == "airline.csv"
    assert pipeline.data.params["epochs"] == "1" and pipeline.data.params["horizon"] == "12"
    assert "test_mase" in pipeline.data.metrics and "ets_test_mase" in pipeline.data.metrics
    export = tmp_path / "outputs" / "forecasting" / "airline"
    assert (export / "model" / "saved_model.pb").is_file()
    assert not (PROJECT / "outputs").exists()


def test_mlflow_run_with_an_experiment_name_records_one_run_there(tmp_path):
    result, runs = mlflow_run(
        tmp_path, "-e", "forecasting", "-P", "dataset=sunspots", "-P", "epochs=1",
        "-P", "units=4", "--experiment-name", "mine",
    )

    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = runs
    assert run.info.status == "FINISHED" and PROJECT_RUN_TAG not in run.data.tags
    assert run.data.params["lookback"] == "44"
    assert run.data.params["dataset_sha256.sunspots.csv"].startswith("f67889b1")
