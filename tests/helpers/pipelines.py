"""Running the pipelines as a user does: tiny settings, ``mlflow run``, a run's artifacts."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

TINY = ["--epochs", "1", "--units", "4"]
"""Pipeline options that keep a test run short."""

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


def artifact_paths(client, run_id, path=None):
    """Every artifact path of run ``run_id``, folders walked."""
    paths = []
    for item in client.list_artifacts(run_id, path):
        paths += artifact_paths(client, run_id, item.path) if item.is_dir else [item.path]
    return paths


def diverging_fit(args, job, data):
    """A pipeline body whose fit overflows: targets near 1e20, unscaled, squared (1e40 is
    past float32's range)."""
    from seqkit.estimators import SequenceForecaster

    series = np.full(40, 1e20) + np.arange(40.0)
    job.fit(SequenceForecaster(lookback=4, horizon=1, scaling=None, loss="mse", units=4,
                               epochs=3, early_stopping=False, random_state=0), series)
    pytest.fail("a diverged fit must raise")
