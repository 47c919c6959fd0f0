"""Shared test setup: quiet TensorFlow, fixed seeds; a working directory with its MLflow
store."""

import os
import random
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fixed_seeds():
    """Seed Python, NumPy and (when a test has loaded it) Keras before every test."""
    random.seed(0)
    np.random.seed(0)
    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed(0)


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


@pytest.fixture
def tracking(tmp_path, monkeypatch):
    """MLflow pointed at a store in ``tmp_path`` (the previous URI restored after).

    The working directory moves there too: a SQLite store's default artifact
    root is ``./mlruns``.
    """
    import mlflow

    monkeypatch.chdir(tmp_path)
    previous = mlflow.get_tracking_uri()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    # MLflow remembers the last experiment set in this process, which an earlier test's
    # store may have held; name one in this store.
    mlflow.set_experiment("seqkit-tests")
    yield uri
    mlflow.set_tracking_uri(previous)


@pytest.fixture(scope="session")
def exports(tmp_path_factory):
    """``exports(name)``: the folder of the export of :func:`tests.helpers.exports.fitted`
    ``name``, written once per test session."""
    from tests.helpers.exports import exported

    folder = tmp_path_factory.mktemp("exports")
    return lambda name: exported(name, str(folder))


def pytest_collection_modifyitems(items):
    """The README walk first: one test of about 9 minutes on 2 cores, which run last left
    the other worker with nothing to do. The Makefile keeps this order for xdist
    (``--no-loadscope-reorder``; xdist's own order sends the files of most tests first)."""
    items.sort(key=lambda item: item.path.name != "test_readme.py")
