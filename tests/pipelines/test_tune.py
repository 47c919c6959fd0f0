"""The hyper-parameter search: a parent run and a nested run per trial, pruning, resuming."""

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from pipelines import _search, tune
from seqkit import tracking
from seqkit.estimators import SequenceForecaster
from seqkit.exceptions import InvalidParameterError
from tests.helpers.exports import SUBPROCESS_ENV
from tests.helpers.pipelines import TINY, mlflow_run

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SPACE = json.dumps({"units": [2, 4], "learning_rate": {"low": 0.001, "high": 0.01, "log": True}})


def _monthly_csv(folder, steps=60):
    t = np.arange(steps)
    values = 10 + np.sin(2 * np.pi * t / 12) + 0.1 * np.random.default_rng(0).normal(size=steps)
    pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2015-01-01", periods=steps, freq="MS"),
                  "y": values}).to_csv(folder / "s.csv", index=False)


def _forecasting_argv(trials, *more):
    return ["forecasting", "--data", "s.csv", "--horizon", "3", *TINY, "--trials", str(trials),
            "--folds", "2", "--space", SPACE, *more]


def _parent_and_trials(runs):
    (parent,) = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    trials = sorted((run for run in runs if run.data.tags.get("mlflow.parentRunId")),
                    key=lambda run: int(run.data.tags["seqkit.trial"]))
    return parent, trials


def test_a_forecasting_search_records_a_parent_run_a_nested_run_per_trial_and_the_best_model(
        workdir, recorded_runs):
    _monthly_csv(workdir)
    study = tune.run(_forecasting_argv(3, "--register-model", "tuned"))
    parent, trials = _parent_and_trials(recorded_runs())
    assert parent.info.status == "FINISHED" and parent.info.run_name == "tune-forecasting-s"
    assert len(trials) == 3 and len(study.trials) == 3
    for run, trial in zip(trials, study.trials):
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert run.info.status == "FINISHED" and run.data.tags["seqkit.trial_state"] == "COMPLETE"
        assert run.data.params == {name: str(value) for name, value in trial.params.items()}
        assert run.data.metrics["backtest_mase"] == pytest.approx(trial.value)
    best = study.best_trial
    assert parent.data.params["best.units"] == str(best.params["units"])
    assert parent.data.metrics["best_backtest_mase"] == pytest.approx(best.value)
    assert parent.data.params["units"] == str(best.params["units"])  # the best model's fit
    assert parent.data.params["search.trials"] == "3"
    client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    (version,) = client.search_model_versions("name='tuned'")
    assert version.run_id == parent.info.run_id
    folder = workdir / "outputs" / "tune" / "forecasting" / "s"
    assert (folder / "optuna.db").is_file() and (folder / "best" / "model").is_dir()


@pytest.mark.usefixtures("tracking")
def test_pruned_trials_are_marked_so_and_their_runs_killed(tmp_path):
    """A pruner that stops every trial at its first epoch: each trial's run ends KILLED."""
    study = _search.open_study(tmp_path / "search", "minimize", 0, {},
                               pruner=optuna.pruners.ThresholdPruner(upper=-1.0))
    space = _search.read_space('{"units": [2, 3]}', SequenceForecaster())
    series = np.sin(np.arange(40) / 3)

    def evaluate(params):
        SequenceForecaster(lookback=4, epochs=3, random_state=0, **params).fit(series)
        pytest.fail("the trial must be pruned")

    with tracking.tracked_run("seqkit-tests", "search") as parent:
        _search.run_trials(study, space, evaluate, metric="mase", trials=2, progress=print)
    assert [trial.state.name for trial in study.trials] == ["PRUNED", "PRUNED"]
    runs = MlflowClient().search_runs([parent.experiment_id],
                                      f"tags.mlflow.parentRunId = '{parent.run_id}'")
    assert sorted(run.info.status for run in runs) == ["KILLED", "KILLED"]
    assert {run.data.tags["seqkit.trial_state"] for run in runs} == {"PRUNED"}
    assert all(trial.intermediate_values == {0: trial.intermediate_values[0]}
               for trial in study.trials)


def test_a_classification_search_scores_by_cross_validation(workdir, recorded_runs):
    rng = np.random.default_rng(0)
    lines = ["@problemName x", "@univariate true", "@classLabel true a b", "@data"]
    for i in range(16):
        label = "ab"[i % 2]
        values = rng.normal(1 if label == "a" else -1, 0.3, size=5)
        lines.append(",".join(f"{v:.3f}" for v in values) + f":{label}")
    (workdir / "q.ts").write_text("\n".join(lines) + "\n")
    study = tune.run(["classification", "--data", "q.ts", *TINY, "--trials", "2", "--folds",
                      "2", "--space", '{"units": [2, 4]}'])
    parent, trials = _parent_and_trials(recorded_runs())
    assert parent.info.status == "FINISHED" and len(trials) == 2
    assert all(0 <= run.data.metrics["cv_accuracy"] <= 1 for run in trials)
    assert parent.data.metrics["best_cv_accuracy"] == study.best_value


def _trial_states(path):
    if not path.exists():
        return []
    try:
        with sqlite3.connect(path) as db:
            return [state for (state,) in db.execute("SELECT state FROM trials")]
    except sqlite3.Error:
        return []


@pytest.mark.slow  # starts a process that imports TensorFlow, and kills it
def test_a_killed_search_resumes_from_its_study_in_the_same_parent_run(workdir, recorded_runs):
    _monthly_csv(workdir)
    argv = _forecasting_argv(3, "--epochs", "3")
    env = {name: value for name, value in SUBPROCESS_ENV.items()
           if not name.startswith("MLFLOW_")}
    env["PYTHONPATH"] = str(Path(tune.__file__).resolve().parents[1])
    process = subprocess.Popen([sys.executable, "-m", "pipelines.tune", *argv], cwd=workdir,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    database = workdir / "outputs" / "tune" / "forecasting" / "s" / "optuna.db"
    deadline = time.monotonic() + 240
    while "COMPLETE" not in _trial_states(database) and time.monotonic() < deadline:
        assert process.poll() is None, "the search ended before it was killed"
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    (killed,) = [run for run in recorded_runs() if "mlflow.parentRunId" not in run.data.tags]
    assert killed.info.status == "RUNNING"
    done = _trial_states(database).count("COMPLETE")

    study = tune.run(argv)
    parent, trials = _parent_and_trials(recorded_runs())
    assert parent.info.run_id == killed.info.run_id and parent.info.status == "FINISHED"
    states = [trial.state.name for trial in study.trials]
    assert states.count("COMPLETE") + states.count("PRUNED") == 3
    assert done >= 1 and set(states) <= {"COMPLETE", "PRUNED", "FAIL"}
    assert "RUNNING" not in {run.info.status for run in trials}
    for trial in study.trials:
        runs = [run for run in trials if run.data.tags["seqkit.trial"] == str(trial.number)]
        if trial.state.name == "FAIL":  # cut short by the kill (before its run started: none)
            assert {(run.info.status, run.data.tags["seqkit.trial_state"]) for run in runs} <= {
                ("KILLED", "FAIL")}
        else:
            assert len(runs) == 1


@pytest.mark.parametrize("new_run", [False, True], ids=["continued", "new_run"])
def test_trials_a_kill_cut_short_fail_with_their_runs_wherever_the_kill_landed(tracking,
                                                                               new_run):
    client = MlflowClient(tracking)
    experiment = client.get_experiment_by_name("seqkit-tests").experiment_id
    parent, other, resumed = (client.create_run(experiment).info.run_id for _ in range(3))
    # The search continued in its killed run, or (another --trials) in a new one.
    parents = (resumed, parent) if new_run else (parent,)

    def trial_run(parent_id, number, **tags):
        return client.create_run(experiment, tags={"mlflow.parentRunId": parent_id,
                                                   _search.TRIAL_TAG: str(number), **tags})

    study = optuna.create_study()
    finished = study.ask()
    study.tell(finished, 1.0)
    finished_run = trial_run(parent, finished.number, **{_search.STATE_TAG: "COMPLETE"})
    client.set_terminated(finished_run.info.run_id, "FINISHED")
    started, ended, unstarted = study.ask(), study.ask(), study.ask()
    started_run = trial_run(parent, started.number)  # killed before its id was stored
    ended_run = trial_run(parent, ended.number, **{_search.STATE_TAG: "COMPLETE"})
    client.set_terminated(ended_run.info.run_id, "FINISHED")  # killed before its score was
    another_search = trial_run(other, started.number)

    _search.fail_interrupted(study, *parents)

    assert [trial.state.name for trial in study.trials] == ["COMPLETE", "FAIL", "FAIL", "FAIL"]
    assert unstarted.number == 3
    for run in (started_run, ended_run):
        run = client.get_run(run.info.run_id)
        assert run.info.status == "KILLED" and run.data.tags[_search.STATE_TAG] == "FAIL"
    assert client.get_run(finished_run.info.run_id).info.status == "FINISHED"
    assert client.get_run(another_search.info.run_id).info.status == "RUNNING"


@pytest.mark.slow  # mlflow run starts processes
def test_the_mlflow_project_runs_a_search(tmp_path):
    _monthly_csv(tmp_path)
    result, runs = mlflow_run(tmp_path, "-e", "tune", "-P", "task=forecasting", "-P", "data=s.csv",
                              "-P", "horizon=3", "-P", "trials=2", "-P", "folds=2", "-P",
                              "epochs=1", "-P", "units=4", "-P", f"space={SPACE}")
    assert result.returncode == 0, result.stderr[-3000:]
    searches = [run for run in runs if run.data.tags.get("seqkit.search") == "optuna"]
    assert [run.info.status for run in searches] == ["FINISHED"]
    trials = [run for run in runs
              if run.data.tags.get("mlflow.parentRunId") == searches[0].info.run_id]
    assert len(trials) == 2


@pytest.mark.slow
def test_a_tagging_search_scores_token_accuracy_by_cross_validation(workdir, recorded_runs):
    names = {"Ada": "B-PER", "Alan": "B-PER", "Paris": "B-LOC", "Rome": "B-LOC"}
    rng = np.random.default_rng(0)
    lines = []
    for _ in range(24):
        first, second = rng.choice(list(names), 2, replace=False)
        lines += [f"{first} {names[first]}", "saw O", f"{second} {names[second]}", ""]
    (workdir / "t.conll").write_text("\n".join(lines) + "\n")
    study = tune.run(["tagging", "--data", "t.conll", *TINY, "--trials", "2", "--folds", "2",
                      "--space", '{"units": [2, 4]}'])
    parent, trials = _parent_and_trials(recorded_runs())
    assert parent.info.status == "FINISHED" and len(trials) == 2
    assert parent.data.metrics["best_cv_token_accuracy"] == study.best_value


def test_a_space_is_checked_value_by_value_with_the_other_searched_parameters():
    # early_stopping needs validation_fraction > 0: a space that can pair them is valid,
    # one where every trial of validation_fraction 0 would fail is not.
    estimator = SequenceForecaster(early_stopping=True)
    paired = _search.read_space(
        '{"early_stopping": [false, true], "validation_fraction": [0.0, 0.2]}', estimator)
    assert paired["validation_fraction"].choices == (0.0, 0.2)
    with pytest.raises(InvalidParameterError,
                       match=r"--space gives 'validation_fraction' a value SequenceForecaster "
                             r"refuses: The 'early_stopping' parameter"):
        _search.read_space('{"validation_fraction": [0.0, 0.2]}', estimator)
