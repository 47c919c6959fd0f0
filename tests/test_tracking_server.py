"""Tracking beyond one machine: a pipeline records its run on a real ``mlflow server``.

The server keeps runs in SQLite and artifacts in a folder of its own, as a
team's server keeps them in PostgreSQL and a bucket; the client reaches it only
over HTTP, through ``MLFLOW_TRACKING_URI``.
"""

import contextlib
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from seqkit import datasets
from tests.helpers.exports import SUBPROCESS_ENV
from tests.helpers.pipelines import TINY, artifact_paths
from tests.helpers.servers import SERVER_START_TIMEOUT, free_port, http, stop_group

pytestmark = pytest.mark.slow  # starts a server and trains a model in a subprocess

PIPELINE_TIMEOUT = 600  # seconds; a one-epoch run, but TensorFlow imports slowly on a busy machine


@pytest.fixture
def tracking_server(tmp_path):
    """``mlflow server`` on a free loopback port: runs in SQLite, artifacts proxied to a folder.

    Yields ``(url, artifact folder)``; stops the server's process group after
    and checks nothing of it survives.
    """
    home = tmp_path / "server"
    home.mkdir()
    artifacts = home / "artifacts"
    port = free_port()
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{home / 'server.db'}",
        "--serve-artifacts", "--artifacts-destination", str(artifacts),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]
    url = f"http://127.0.0.1:{port}"
    with open(home / "server.log", "wb") as log:
        # cwd: anything the server writes by default lands in its own folder, not the client's.
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=home,
                                   env=SUBPROCESS_ENV, start_new_session=True)
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while not _healthy(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"mlflow server did not start ({process.poll()}):\n"
                                + (home / "server.log").read_text()[-3000:])
                time.sleep(0.5)
            yield url, artifacts
        finally:
            survivors = stop_group(process)
    assert not survivors, f"mlflow server processes still running: {survivors}"
    assert not _healthy(url)


def _healthy(url):
    with contextlib.suppress(OSError):
        return http(url + "/health")[0] == 200
    return False


@pytest.fixture
def reader(tracking_server, tmp_path, monkeypatch):
    """An ``MlflowClient`` of the server, which is also this process's tracking URI.

    The URI must be global as well: listing a run's artifacts looks up its
    logged models through a client of the global tracking URI (MLflow 3.17).
    The working directory moves to ``tmp_path``, where nothing may appear.
    """
    import mlflow

    url, _ = tracking_server
    monkeypatch.chdir(tmp_path)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(url)
    yield MlflowClient(tracking_uri=url)
    mlflow.set_tracking_uri(previous)


def test_a_pipeline_records_its_run_on_a_tracking_server(tracking_server, reader, tmp_path):
    url, artifact_root = tracking_server
    client_dir = tmp_path / "client"
    client_dir.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.classification", "--dataset", "basic_motions", *TINY,
         "--experiment", "team"],
        cwd=client_dir, capture_output=True, text=True, timeout=PIPELINE_TIMEOUT,
        env={**{k: v for k, v in SUBPROCESS_ENV.items() if not k.startswith("MLFLOW_")},
             "MLFLOW_TRACKING_URI": url},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"open {url} in a browser" in result.stdout

    client = reader
    (run,) = client.search_runs([client.get_experiment_by_name("team").experiment_id])
    assert run.info.status == "FINISHED"
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")
    params = run.data.params
    assert (params["cell"], params["units"], params["epochs"]) == ("peephole_lstm", "4", "1")
    assert params["random_state"] == "0"
    for file_name, digest in datasets.dataset_info("basic_motions")["sha256"].items():
        assert params[f"dataset_sha256.{file_name}"] == digest
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    # The accuracy logged is that of the confusion matrix logged beside it.
    matrix = pd.read_csv(client.download_artifacts(run.info.run_id, "tables/confusion_matrix.csv",
                                                   str(downloads)), index_col=0).to_numpy()
    _, _, _, y_test = datasets.load_classification("basic_motions")
    assert matrix.sum() == len(y_test)
    assert run.data.metrics["test_accuracy"] == pytest.approx(np.trace(matrix) / len(y_test))
    assert len(client.get_metric_history(run.info.run_id, "loss")) == 1

    listed = artifact_paths(client, run.info.run_id)
    for expected in ("dataset.json", "plots/learning_curves.png",
                     "plots/confusion_matrix.png", "model/saved_model.pb", "results.json"):
        assert expected in listed
    plot = Path(client.download_artifacts(run.info.run_id, "plots/learning_curves.png",
                                          str(downloads)))
    stored = artifact_root / run.info.experiment_id / run.info.run_id / "artifacts"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot.read_bytes() == (stored / "plots" / "learning_curves.png").read_bytes()

    # The logged MLflow model went to the server too, and nothing of the run stayed local.
    (model,) = client.search_logged_models([run.info.experiment_id])
    assert model.source_run_id == run.info.run_id
    assert list(artifact_root.glob(f"{run.info.experiment_id}/models/*/artifacts/MLmodel"))
    assert sorted(p.name for p in client_dir.iterdir()) == ["outputs"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["client", "downloads", "server"]


def test_a_search_records_its_trials_on_a_tracking_server(tracking_server, reader, tmp_path):
    # MLflow's REST store refuses a tag that is not a string when it creates a run, and
    # each trial's run is created with its number as a tag (a local store takes ints).
    from pipelines import tune

    url, _ = tracking_server
    steps = np.arange(48)
    pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2015-01-01", periods=48, freq="MS"),
                  "y": 10 + np.sin(2 * np.pi * steps / 12)}).to_csv(tmp_path / "s.csv",
                                                                     index=False)
    tune.run(["forecasting", "--data", "s.csv", "--horizon", "3", *TINY, "--trials", "2",
              "--folds", "2", "--space", '{"units": [2, 4]}', "--tracking-uri", url,
              "--experiment", "team-search"])
    runs = reader.search_runs([reader.get_experiment_by_name("team-search").experiment_id])
    trials = sorted(run.data.tags["seqkit.trial"] for run in runs
                    if "mlflow.parentRunId" in run.data.tags)
    assert trials == ["0", "1"]
    assert {run.info.status for run in runs} == {"FINISHED"}
