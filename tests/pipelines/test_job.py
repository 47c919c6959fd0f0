"""The pipelines' job: what a run records when its fit diverges (the error's message and
exit code are in ``tests/test_bad_input.py``)."""

import math

import pytest

from pipelines import forecasting
from pipelines._job import entry_points
from seqkit.exceptions import TrainingDivergedError
from tests.helpers.pipelines import diverging_fit

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_a_diverged_fit_logs_its_history_and_fails_the_run(workdir, recorded_runs):
    from mlflow.tracking import MlflowClient

    run, _ = entry_points("forecasting", forecasting.build_parser, forecasting.load,
                          diverging_fit)
    with pytest.raises(TrainingDivergedError, match="in epoch 1,"):
        run(["--dataset", "sunspots"])
    (recorded,) = recorded_runs()
    assert recorded.info.status == "FAILED"
    client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    (loss,) = client.get_metric_history(recorded.info.run_id, "loss")
    # NaN, or inf, which MLflow stores as the largest float
    assert loss.step == 0 and (math.isnan(loss.value) or abs(loss.value) >= 1.7e308)
    artifacts = [item.path for item in client.list_artifacts(recorded.info.run_id, "plots")]
    assert artifacts == ["plots/learning_curves.png"]
    assert not (workdir / "outputs" / "forecasting" / "sunspots").exists()
    assert not (workdir / "outputs" / "forecasting" / "sunspots.checkpoints").exists()
