"""``mlflow run mlflow_projects/seqkit`` for real: a sub-process, offline (env manager local)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

PROJECT = Path(__file__).resolve().parents[2] / "mlflow_projects" / "seqkit"


def mlflow_run(tmp_path, *args):
    """Run ``mlflow run`` from tmp_path with its store in tmp_path; return the result and runs."""
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'store.db'}"
    env = {name: value for name, value in os.environ.items() if not name.startswith("MLFLOW_")}
    env["MLFLOW_TRACKING_URI"] = uri
    # The entry points call `python`: make it this interpreter.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        [sys.executable, "-m", "mlflow", "run", str(PROJECT), *args, "--env-manager", "local"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )
    client = MlflowClient(uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    return result, runs


def test_mlflow_run_records_in_the_callers_store_and_exports_in_its_folder(tmp_path):
    result, runs = mlflow_run(
        tmp_path, "-e", "forecasting", "-P", "dataset=sunspots", "-P", "epochs=1",
        "-P", "units=4",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = runs
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "sunspots-peephole_lstm"
    assert run.data.params["epochs"] == "1" and run.data.params["lookback"] == "44"
    assert run.data.params["dataset_sha256.sunspots.csv"].startswith("f67889b1")
    assert "test_mase" in run.data.metrics and "ets_test_mase" in run.data.metrics
    export = tmp_path / "outputs" / "forecasting" / "sunspots"
    assert (export / "model" / "saved_model.pb").is_file()
    assert not (PROJECT / "outputs").exists()
