"""Fixtures of the pipeline tests: a working directory and its MLflow store in tmp_path."""

import pytest


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """tmp_path as the working directory, with MLflow's default store (./mlflow.db) there."""
    monkeypatch.chdir(tmp_path)
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def recorded_runs(workdir):
    """A function returning every run recorded in ``workdir/mlflow.db`` (none if no store)."""

    def runs():
        from mlflow.tracking import MlflowClient

        if not (workdir / "mlflow.db").exists():
            return []
        client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
        return client.search_runs([e.experiment_id for e in client.search_experiments()])

    return runs
