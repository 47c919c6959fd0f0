"""seqkit.tracking against a real MLflow SQLite store in tmp_path."""

import json
import socket
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

from seqkit import tracking

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:mlflow.*")


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A fresh SQLite tracking URI in tmp_path; the working directory moves there too."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    return f"sqlite:///{tmp_path / 'runs.db'}"


def _client(uri):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _artifacts(client, run_id, path=None):
    return sorted(item.path for item in client.list_artifacts(run_id, path))


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_resolve_tracking_uri_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking.resolve_tracking_uri() == f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///elsewhere.db")
    assert tracking.resolve_tracking_uri() == "sqlite:///elsewhere.db"
    assert tracking.resolve_tracking_uri("http://server:5000") == "http://server:5000"


def test_a_finished_run_records_params_metrics_history_and_artifacts(store, tmp_path):
    params = {"units": 8, "cell": "elman", "global_clipnorm": None}
    with tracking.tracked_run("exp", "demo", params=params, tracking_uri=store) as run:
        tracking.log_dataset("sunspots")
        tracking.log_history({"loss": [3.0, 2.0, 1.5], "val_loss": [3.5, 2.5, 2.0]})
        tracking.log_metrics({"test_mase": 0.75})
        figure = Figure()
        figure.subplots().plot([1, 2, 3])
        figure.savefig(tmp_path / "curve.png")
        tracking.log_artifact(tmp_path / "curve.png", "plots")
        (tmp_path / "export").mkdir()
        pd.DataFrame({"f1": [0.5]}, index=["PSN"]).to_csv(tmp_path / "export" / "f1.csv")
        tracking.log_artifact(tmp_path / "export")

    client = _client(store)
    recorded = client.get_run(run.run_id)
    assert recorded.info.status == "FINISHED"
    assert recorded.info.run_name == "demo"
    assert client.get_experiment(run.experiment_id).name == "exp"
    assert recorded.data.params["units"] == "8"
    assert recorded.data.params["global_clipnorm"] == "None"
    assert recorded.data.params["dataset"] == "sunspots"
    assert recorded.data.params["dataset_sha256.sunspots.csv"].startswith("f67889b1")
    assert recorded.data.metrics["test_mase"] == 0.75
    history = client.get_metric_history(run.run_id, "val_loss")
    assert [(m.step, m.value) for m in history] == [(0, 3.5), (1, 2.5), (2, 2.0)]
    assert _artifacts(client, run.run_id) == ["dataset.json", "export", "plots"]
    assert _artifacts(client, run.run_id, "plots") == ["plots/curve.png"]
    table = client.download_artifacts(run.run_id, "export/f1.csv")
    assert pd.read_csv(table, index_col=0).loc["PSN", "f1"] == 0.5


def test_a_failing_block_leaves_the_run_failed_with_the_error(store):
    with pytest.raises(ZeroDivisionError):
        with tracking.tracked_run("exp", "broken", tracking_uri=store) as run:
            tracking.log_metrics({"partial": 1.0})
            raise ZeroDivisionError("division by zero")
    client = _client(store)
    recorded = client.get_run(run.run_id)
    assert recorded.info.status == "FAILED"
    assert recorded.data.tags["error"] == "ZeroDivisionError: division by zero"
    assert "error.txt" in _artifacts(client, run.run_id)


def test_keyboard_interrupt_also_fails_the_run(store):
    with pytest.raises(KeyboardInterrupt):
        with tracking.tracked_run("exp", "stopped", tracking_uri=store) as run:
            raise KeyboardInterrupt
    assert _client(store).get_run(run.run_id).info.status == "FAILED"


def test_default_store_is_mlflow_db_in_the_working_directory(store, tmp_path):
    with tracking.tracked_run("exp") as run:
        pass
    assert run.tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert (tmp_path / "mlflow.db").is_file()
    assert tracking.ui_command(run.tracking_uri) == (
        f"mlflow ui --backend-store-uri sqlite:///{tmp_path / 'mlflow.db'}"
    )


def test_params_already_on_the_run_are_kept(store):
    with tracking.tracked_run("exp", params={"epochs": "03"}, tracking_uri=store) as run:
        tracking.log_params({"epochs": 3, "units": 4})
    params = _client(store).get_run(run.run_id).data.params
    assert params == {"epochs": "03", "units": "4"}


def test_logging_outside_a_run_is_a_clear_error(store):
    with pytest.raises(tracking.TrackingError, match="No MLflow run is active"):
        tracking.log_params({"a": 1})


def test_unreachable_server_is_a_clear_error_before_any_run(store, monkeypatch):
    uri = f"http://127.0.0.1:{_free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    entered = []
    expected = "Cannot reach the MLflow tracking store"
    with pytest.raises(tracking.TrackingError, match=expected) as err:
        with tracking.tracked_run("exp"):
            entered.append(True)
    assert uri in str(err.value)
    assert "MLFLOW_TRACKING_URI environment variable" in str(err.value)
    assert not entered


def test_sqlite_store_that_cannot_be_created_is_a_clear_error(tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    uri = f"sqlite:///{tmp_path / 'a_file' / 'mlflow.db'}"
    with pytest.raises(tracking.TrackingError, match="the tracking_uri argument"):
        tracking.check_tracking_store(uri)


def _end(status):
    return lambda client, run_id: client.set_terminated(run_id, status)


@pytest.mark.parametrize("earlier, experiment, continued", [
    (None, "exp", True),  # never ended: its process was killed
    (_end("FAILED"), "exp", False),  # ended with its error, which stays on record
    (lambda client, run_id: client.delete_run(run_id), "exp", False),
    (None, "other", False),
])
def test_a_resuming_run_continues_an_open_run_or_links_to_the_one_it_resumes(
        earlier, experiment, continued, store):
    client = _client(store)
    open_run = client.create_run(client.create_experiment("exp")).info.run_id
    if earlier:
        earlier(client, open_run)
    with tracking.tracked_run(experiment, tags={"step": "2"}, tracking_uri=store,
                              resumes=open_run) as run:
        tracking.log_metrics({"loss": 1.0})
    recorded = client.get_run(run.run_id)
    assert recorded.info.status == "FINISHED"
    assert recorded.data.tags["step"] == "2"
    assert (run.run_id == open_run) is continued
    assert recorded.data.tags.get(tracking.RESUMES_TAG) == (None if continued else open_run)
    assert client.get_experiment(recorded.info.experiment_id).name == experiment


@pytest.mark.parametrize("trials, continued", [("3", True), ("4", False)])
def test_an_open_run_holding_a_param_with_another_value_is_ended_and_linked_to(
        trials, continued, store):
    # A search killed at --trials 3 and run again with --trials 4: MLflow cannot change the
    # param, and the continued run kept saying 3 (and its first best parameters).
    client = _client(store)
    killed = client.create_run(client.create_experiment("exp")).info.run_id
    client.log_param(killed, "search.trials", "3")
    with tracking.tracked_run("exp", tracking_uri=store, resumes=killed,
                              params={"search.trials": int(trials), "search.folds": 2}) as run:
        pass
    recorded = client.get_run(run.run_id)
    assert (run.run_id == killed) is continued
    assert recorded.data.params == {"search.trials": trials, "search.folds": "2"}
    assert recorded.data.tags.get(tracking.RESUMES_TAG) == (None if continued else killed)
    assert client.get_run(killed).info.status == ("FINISHED" if continued else "KILLED")


def test_a_run_of_another_store_is_linked_to(store):
    with tracking.tracked_run("exp", tracking_uri=store, resumes="0" * 32) as run:
        pass
    assert _client(store).get_run(run.run_id).data.tags[tracking.RESUMES_TAG] == "0" * 32



def test_a_dataset_input_records_where_its_bytes_are(store, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    cases = {
        "panel.csv": tmp_path / "panel.csv",
        "data/../panel.csv": tmp_path / "panel.csv",
        "~/panel.csv": tmp_path / "home" / "panel.csv",
        "https://example.org/panel.csv": "https://example.org/panel.csv",
        "simplecache::https://example.org/panel.csv": "https://example.org/panel.csv",
        "simplecache::panel.csv": tmp_path / "panel.csv",
    }
    with tracking.tracked_run("exp", "lineage", tracking_uri=store) as run:
        for i, given in enumerate(cases):
            tracking.log_input(pd.DataFrame({"y": [1.0, 2.0]}), source=given,
                               name=f"panel-{i}", context="training")
    inputs = _client(store).get_run(run.run_id).inputs.dataset_inputs
    recorded = {item.dataset.name: json.loads(item.dataset.source) for item in inputs}
    assert recorded == {f"panel-{i}": {"uri" if isinstance(where, Path) else "url": str(where)}
                        for i, where in enumerate(cases.values())}
