"""``mlflow run mlflow_projects/seqkit`` for real: a sub-process, offline (env manager local)."""

import pytest

from tests.helpers.pipelines import PROJECT, mlflow_run

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


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
