"""The pipelines' job: what a run records when its fit diverges (the error's message and
exit code are in ``tests/test_bad_input.py``), and when Ctrl-C reaches it where Python
cannot raise it."""

import math
import signal
import sys

import keras
import pytest

from pipelines import forecasting
from pipelines._job import entry_points
from pipelines._report import Report
from seqkit import training
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


class _Finalized:
    """Ctrl-C while Python runs this object's finalizer: the ``KeyboardInterrupt`` is raised
    inside ``__del__``, where it cannot propagate (as in the finalizers of TensorFlow's
    functions, which run whenever one is freed)."""

    def __del__(self):
        signal.raise_signal(signal.SIGINT)


class _CtrlCInAFinalizer(keras.callbacks.Callback):
    """At the end of the first epoch of the second fit (the forecaster's final network, the
    one that checkpoints), Ctrl-C lands in a finalizer."""

    def __init__(self):
        super().__init__()
        self.fits = 0

    def on_train_begin(self, logs=None):
        self.fits += 1

    def on_epoch_end(self, epoch, logs=None):
        if self.fits == 2 and epoch == 0:
            _Finalized()  # freed at once


def _fit_interrupted_in_a_finalizer(args, job, data):
    from seqkit.estimators import SequenceForecaster

    estimator = SequenceForecaster(lookback=8, horizon=2, units=4, epochs=3,
                                   early_stopping=False, random_state=0)
    with training.watching(_CtrlCInAFinalizer()):
        job.fit(estimator, data.train.y)
    return Report("forecasting", data.name, {"seqkit": {"mase": 1.0}}, "mase", False)


@pytest.fixture
def python_sigint_handler():
    """Python's own SIGINT handler during the test, as in a terminal's foreground job, also
    when the tests run where SIGINT is ignored (a shell's background job)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_ctrl_c_that_a_finalizer_swallowed_still_stops_the_fit_and_fails_the_run(
        workdir, recorded_runs, monkeypatch, capsys, python_sigint_handler):
    swallowed = []
    monkeypatch.setattr(sys, "unraisablehook", lambda raised: swallowed.append(raised.exc_type))
    _, main = entry_points("forecasting", forecasting.build_parser, forecasting.load,
                           _fit_interrupted_in_a_finalizer)
    assert main(["--dataset", "sunspots"]) == 130
    assert swallowed == [KeyboardInterrupt]  # Python dropped the first one
    assert "interrupted" in capsys.readouterr().err
    (run,) = recorded_runs()
    assert run.info.status == "FAILED"
    assert run.data.tags["error"].startswith("KeyboardInterrupt")
    # The fit stopped in the epoch after the Ctrl-C; its checkpoint stays, to be resumed.
    state = training.checkpoint_state(
        workdir / "outputs" / "forecasting" / "sunspots.checkpoints" / "fit")
    assert state["epochs"] == 1 and not state["finished"]
    assert not (workdir / "outputs" / "forecasting" / "sunspots").exists()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
