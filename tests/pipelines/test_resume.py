"""A pipeline killed or interrupted mid-fit resumes, in the same MLflow run or one linked to it.

Real processes (``python -m pipelines.forecasting``), a real SQLite store in
tmp_path, real signals: SIGKILL leaves the run RUNNING, Ctrl-C (SIGINT) and SIGTERM mark
it FAILED; the same command then resumes the fit from its last checkpoint. The process
that is stopped runs the pipeline's command line with its fit held after the first
checkpoint (:mod:`tests.helpers.held_fit`), so that the signal lands in the fit.
"""

import fcntl
import hashlib
import json
import os
import signal
import time
from types import SimpleNamespace

import pandas as pd
import pytest

from pipelines import forecasting
from pipelines._resume import RESUMED_TAG, FitCheckpoints
from pipelines.examples import write_examples
from seqkit import training
from seqkit.exceptions import InvalidParameterError
from seqkit.tracking import RESUMES_TAG
from tests.helpers.processes import finished, python_env, started

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

EPOCHS = 4
ARGV = ["--dataset", "sunspots", "--epochs", str(EPOCHS), "--units", "4"]
COMMAND = ["-m", "pipelines.forecasting", *ARGV]


def _folders(workdir, name="sunspots"):
    task = workdir / "outputs" / "forecasting"
    return task / name, task / f"{name}.checkpoints"


def _stop_after_first_checkpoint(workdir, signal_number, argv=ARGV, name="sunspots"):
    """Run the pipeline with ``argv``; once its fit has checkpointed an epoch, send it
    ``signal_number`` while the fit is held at the start of the next epoch.

    Returns the exit code, the output and the checkpoint's state once the process ended.
    """
    state_file = _folders(workdir, name)[1] / "fit" / "state.json"
    held = workdir / "held"
    command = ["-m", "tests.helpers.held_fit", state_file, held, "pipelines.forecasting", *argv]
    with started((command, python_env())) as (process,):
        deadline = time.monotonic() + 600
        while not held.exists():
            assert process.poll() is None, finished(process)[1]
            assert time.monotonic() < deadline, "no checkpoint within 10 minutes"
            time.sleep(0.05)
        process.send_signal(signal_number)
        code, output = finished(process)
    state = training.checkpoint_state(state_file.parent)
    assert state["epochs"] == int(held.read_text()) and not state["finished"], output
    return code, output, state


def _client(workdir):
    from mlflow.tracking import MlflowClient

    return MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")


def _epochs_logged(client, run_id):
    return [(m.step, m.value) for m in client.get_metric_history(run_id, "loss")]


def _check_complete(workdir, client, run_id, state):
    """The run is FINISHED with every epoch's loss, the first ones those of the checkpoint;
    the output is in place and nothing else is left beside it."""
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags[RESUMED_TAG] == str(state["epochs"])
    logged = _epochs_logged(client, run_id)
    assert [step for step, _ in logged] == list(range(EPOCHS))
    assert [value for _, value in logged[:state["epochs"]]] == pytest.approx(
        state["history"]["loss"])
    output, _ = _folders(workdir)
    assert (output / "model" / "saved_model.pb").is_file()
    assert json.loads((output / "results.json").read_text())["dataset"] == "sunspots"
    assert [p.name for p in output.parent.iterdir()] == ["sunspots"]


@pytest.mark.slow
def test_a_killed_run_reads_running_and_the_same_command_finishes_it(workdir):
    code, output, state = _stop_after_first_checkpoint(workdir, signal.SIGKILL)
    assert code == -signal.SIGKILL, output
    assert 1 <= state["epochs"] < EPOCHS and not state["finished"]
    client = _client(workdir)
    (killed,) = client.search_runs([client.get_experiment_by_name("seqkit-forecasting")
                                    .experiment_id])
    assert killed.info.status == "RUNNING"
    assert _epochs_logged(client, killed.info.run_id) == []
    task = _folders(workdir)[0].parent
    assert any(p.name.startswith(".sunspots.partial-") for p in task.iterdir())  # its stage

    with started((COMMAND, python_env())) as (process,):
        code, output = finished(process)
    assert code == 0, output
    assert "resuming an interrupted run after epoch" in output
    (resumed,) = client.search_runs([killed.info.experiment_id])
    assert resumed.info.run_id == killed.info.run_id  # the same run, continued
    assert RESUMES_TAG not in resumed.data.tags
    _check_complete(workdir, client, resumed.info.run_id, state)


@pytest.mark.slow
@pytest.mark.parametrize("signum, exit_code, error", [
    (signal.SIGINT, 130, "KeyboardInterrupt: Ctrl-C (SIGINT)"),
    (signal.SIGTERM, 143, "Terminated: SIGTERM"),
], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_stays_failed_and_the_run_that_resumes_it_links_to_it(
        workdir, capsys, signum, exit_code, error):
    code, output, state = _stop_after_first_checkpoint(workdir, signum)
    assert code == exit_code, output
    assert "the same command resumes it" in output
    client = _client(workdir)
    (interrupted,) = client.search_runs([client.get_experiment_by_name("seqkit-forecasting")
                                         .experiment_id])
    assert interrupted.info.status == "FAILED"
    assert interrupted.data.tags["error"].startswith(error)

    # Other options would overwrite the unfinished fit: refused before any run starts.
    assert forecasting.main([*ARGV, "--units", "5"]) == 1
    error = capsys.readouterr().err
    assert f"{_folders(workdir)[1]} holds the unfinished fit of a run with other options " \
           "(--units 4 then, 5 now)" in error
    assert training.checkpoint_state(_folders(workdir)[1] / "fit") == state
    assert len(client.search_runs([interrupted.info.experiment_id])) == 1

    assert forecasting.main(ARGV) == 0
    runs = {run.info.run_id: run for run in client.search_runs([interrupted.info.experiment_id])}
    assert client.get_run(interrupted.info.run_id).info.status == "FAILED"  # its record kept
    (resumed,) = [run for run_id, run in runs.items() if run_id != interrupted.info.run_id]
    assert resumed.data.tags[RESUMES_TAG] == interrupted.info.run_id
    _check_complete(workdir, client, resumed.info.run_id, state)


@pytest.mark.slow
def test_the_command_refuses_to_resume_on_a_changed_data_file(workdir, capsys):
    write_examples(workdir)
    argv = ["--data", "co2_panel.csv", "--horizon", "8", "--epochs", str(EPOCHS),
            "--units", "4"]
    code, output, state = _stop_after_first_checkpoint(workdir, signal.SIGKILL, argv,
                                                       "co2_panel")
    assert code == -signal.SIGKILL, output
    panel = workdir / "co2_panel.csv"
    before = hashlib.sha256(panel.read_bytes()).hexdigest()
    table = pd.read_csv(panel)
    table.loc[0, "y"] += 1.0
    table.to_csv(panel, index=False)

    assert forecasting.main(argv) == 1
    error = capsys.readouterr().err
    checkpoints = _folders(workdir, "co2_panel")[1]
    assert f"{checkpoints} holds the unfinished fit of a run on other data: --data " \
           f"co2_panel.csv has changed since (SHA-256 {before[:12]}... then" in error
    assert training.checkpoint_state(checkpoints / "fit") == state  # kept for a resume
    client = _client(workdir)
    (killed,) = client.search_runs([client.get_experiment_by_name("seqkit-forecasting")
                                    .experiment_id])
    assert killed.info.status == "RUNNING"  # no run started beside it


def test_a_second_run_into_the_same_output_folder_is_refused(workdir, recorded_runs, capsys):
    _, checkpoints = _folders(workdir)
    checkpoints.mkdir(parents=True)
    lock = os.open(checkpoints, os.O_RDONLY)  # held, as a run under way holds it
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert forecasting.main(ARGV) == 1
    finally:
        os.close(lock)
    error = capsys.readouterr().err
    assert f"error: Another run of this pipeline is writing to {checkpoints.parent}" in error
    assert "give another --output-dir" in error
    assert recorded_runs() == []
    assert [p.name for p in checkpoints.parent.iterdir()] == ["sunspots.checkpoints"]


def test_a_recorded_run_is_resumed_tagged_and_named_in_the_progress_line(tmp_path):
    final, options = tmp_path / "forecasting" / "sunspots", {"units": 4, "verbose": 0}
    interrupted = SimpleNamespace(run_id="abc", experiment_id="1", tracking_uri="sqlite://")
    FitCheckpoints(final, options).folder.mkdir(parents=True)
    FitCheckpoints(final, options).record(interrupted)

    with FitCheckpoints.opened(final, {**options, "verbose": 2}) as checkpoints:
        assert checkpoints.resumes == "abc" and checkpoints.resumed_from_epoch == 0
        assert checkpoints.tags() == {RESUMED_TAG: 0}
        assert checkpoints.resuming(interrupted) == (
            "resuming an interrupted run after epoch 0, continuing MLflow run abc")
        assert checkpoints.resuming(SimpleNamespace(run_id="new")) == (
            "resuming an interrupted run after epoch 0, in a new MLflow run linked to run abc")
    assert not checkpoints.folder.exists()  # a success leaves nothing to resume

    with FitCheckpoints.opened(final, options) as fresh:
        assert fresh.resumes is None and fresh.tags() == {} and fresh.resuming(interrupted) is None


def test_a_run_on_a_changed_data_file_is_refused_before_it_starts(tmp_path):
    final, options = tmp_path / "forecasting" / "sales", {"units": 4}
    data = {"data": ("sales.csv", "a" * 64), "test_data": ("sales.csv", "a" * 64)}
    FitCheckpoints(final, options).folder.mkdir(parents=True)
    FitCheckpoints(final, options, data).record(SimpleNamespace(
        run_id="abc", experiment_id="1", tracking_uri="sqlite://"))

    changed = {**data, "data": ("sales.csv", "b" * 64)}
    with pytest.raises(InvalidParameterError) as refused:
        with FitCheckpoints.opened(final, options, changed):
            pass
    assert str(refused.value) == (
        f"{final}.checkpoints holds the unfinished fit of a run on other data: --data "
        "sales.csv has changed since (SHA-256 aaaaaaaaaaaa... then, bbbbbbbbbbbb... now), and "
        "a run resumes only its own. Restore that file to resume, or delete that folder to "
        "start afresh.")
    assert (final.parent / "sales.checkpoints" / "run.json").is_file()  # kept

    with FitCheckpoints.opened(final, options, data) as checkpoints:  # the same data resumes
        assert checkpoints.resumes == "abc"
