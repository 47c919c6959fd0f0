"""The pipelines' job: what a run records when its fit diverges (the error's message and
exit code are in ``tests/test_bad_input.py``), and when Ctrl-C or SIGTERM reaches it where
Python cannot raise it."""

import math
import signal
import sys

import keras
import pytest

from pipelines import forecasting
from pipelines._interrupts import Terminated
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
    """A signal while Python runs this object's finalizer: the ``KeyboardInterrupt`` it
    raises is raised inside ``__del__``, where it cannot propagate (as in the finalizers of
    TensorFlow's functions, which run whenever one is freed)."""

    def __init__(self, signum):
        self.signum = signum

    def __del__(self):
        signal.raise_signal(self.signum)


class _SignalInAFinalizer(keras.callbacks.Callback):
    """At the end of the first epoch of the second fit (the forecaster's final network, the
    one that checkpoints), the signal ``signum`` lands in a finalizer."""

    def __init__(self, signum):
        super().__init__()
        self.signum, self.fits = signum, 0

    def on_train_begin(self, logs=None):
        self.fits += 1

    def on_epoch_end(self, epoch, logs=None):
        if self.fits == 2 and epoch == 0:
            _Finalized(self.signum)  # freed at once


def _fit_signalled_in_a_finalizer(signum):
    def body(args, job, data):
        from seqkit.estimators import SequenceForecaster

        estimator = SequenceForecaster(lookback=8, horizon=2, units=4, epochs=3,
                                       early_stopping=False, random_state=0)
        with training.watching(_SignalInAFinalizer(signum)):
            job.fit(estimator, data.train.y)
        return Report("forecasting", data.name, {"seqkit": {"mase": 1.0}}, "mase", False)

    return body


@pytest.fixture
def default_signal_handlers():
    """Python's own handling of SIGINT and SIGTERM during the test, as in a terminal's
    foreground job, also when the tests run where SIGINT is ignored (a shell's background
    job)."""
    defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    previous = {signum: signal.signal(signum, handler) for signum, handler in defaults.items()}
    yield defaults
    for signum, handler in previous.items():
        signal.signal(signum, handler)


@pytest.mark.parametrize("signum, code, said, error", [
    (signal.SIGINT, 130, "interrupted", KeyboardInterrupt),
    (signal.SIGTERM, 143, "terminated (SIGTERM)", Terminated),
], ids=["ctrl-c", "sigterm"])
def test_a_signal_that_a_finalizer_swallowed_still_stops_the_fit_and_fails_the_run(
        workdir, recorded_runs, monkeypatch, capsys, default_signal_handlers,
        signum, code, said, error):
    swallowed = []
    monkeypatch.setattr(sys, "unraisablehook", lambda raised: swallowed.append(raised.exc_type))
    _, main = entry_points("forecasting", forecasting.build_parser, forecasting.load,
                           _fit_signalled_in_a_finalizer(signum))
    assert main(["--dataset", "sunspots"]) == code
    assert swallowed == [error]  # Python dropped the first one
    assert said in capsys.readouterr().err.splitlines()
    (run,) = recorded_runs()
    assert run.info.status == "FAILED"
    assert run.data.tags["error"].startswith(f"{error.__name__}: ")
    # The fit stopped in the epoch after the signal; its checkpoint stays, to be resumed.
    state = training.checkpoint_state(
        workdir / "outputs" / "forecasting" / "sunspots.checkpoints" / "fit")
    assert state["epochs"] == 1 and not state["finished"]
    assert not (workdir / "outputs" / "forecasting" / "sunspots").exists()
    assert all(signal.getsignal(signum) is handler
               for signum, handler in default_signal_handlers.items())
