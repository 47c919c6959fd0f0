"""The running pipeline: its tracked run, its fit, figures and artifacts, its entry points.

A pipeline module defines a parser (from :func:`pipelines._args.base_parser`),
a loader ``load(args) -> Data`` (a :class:`pipelines._data.Data`, read and
checked before anything is written) and a body ``body(args, job, data) ->
Report`` (a :class:`pipelines._report.Report`) that fits, evaluates and logs
through the :class:`Job` it is given; :func:`execute` runs the body inside an
MLflow run and a staging folder, resuming a killed or interrupted run (see
:mod:`pipelines._resume`), and :func:`cli` turns errors into a message and an
exit code. :func:`entry_points` makes a pipeline module's ``run`` and ``main``.
"""

import contextlib
import dataclasses
import json
import pickle
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
from sklearn.pipeline import Pipeline

from pipelines import _interrupts, _plots
from pipelines._args import parse
from pipelines._data import log_lineage
from pipelines._progress import EpochProgress, InitialWeights
from pipelines._report import print_report
from pipelines._resume import FitCheckpoints
from seqkit import tracking, training
from seqkit._files import staged_directory
from seqkit.exceptions import SeqkitError, TrainingDivergedError


class Job:
    """The running pipeline's side of the tracked run and the staging folder.

    Parameters
    ----------
    task, dataset : str
    stage : pathlib.Path
        The folder that becomes ``OUTPUT_DIR/<task>/<dataset>`` on success.
    checkpoint_dir : pathlib.Path or None
        Where :meth:`fit` checkpoints the estimator (its ``checkpoint_dir``
        while it fits), so that a killed run resumes.
    register_model : str or None
        Register the logged model as a new version of this name in the MLflow
        model registry.
    """

    def __init__(self, task, dataset, stage, checkpoint_dir=None, register_model=None):
        self.task, self.dataset, self.stage = task, dataset, Path(stage)
        self.checkpoint_dir = checkpoint_dir
        self.register_model = register_model
        self._start = time.perf_counter()
        self._initial = None

    def progress(self, message):
        """Print a progress line with the time since the pipeline started."""
        elapsed = time.perf_counter() - self._start
        print(f"[{self.task}/{self.dataset} {elapsed:6.1f}s] {message}", flush=True)

    def fit(self, model, *data):
        """Log the parameters, fit ``model`` on ``data``, log its per-epoch history.

        Parameters
        ----------
        model : seqkit estimator, or scikit-learn Pipeline ending in one
            The estimator's ``get_params()`` are logged as they are, and the
            steps before it as the parameter ``preprocessing``.
        *data
            The arguments of ``fit``.

        Notes
        -----
        The estimator fits with the job's ``checkpoint_dir`` (a checkpoint
        there is resumed) and gets its own ``checkpoint_dir`` back afterwards,
        which is what is logged and pickled. A fit longer than 10 seconds
        prints a progress line every 10 seconds; the warnings it raises are
        printed as ``note:`` lines.

        Raises
        ------
        TrainingDivergedError
            From :func:`seqkit.training.fit`, when the loss or the weights
            became NaN or inf, after logging the history up to then: the run
            fails and nothing is exported.
        """
        estimator = final_estimator(model)
        params = estimator.get_params()
        tracking.log_params(params)
        if isinstance(model, Pipeline):
            tracking.log_params({"preprocessing": " -> ".join(map(repr, model[:-1]))})
        budget = ("an automatic budget" if params["epochs"] == "auto"
                  else f"at most {params['epochs']} epochs")
        self.progress(
            f"fitting {type(estimator).__name__} ({params['cell']}, {params['units']} units, "
            f"{budget})"
        )
        start = time.perf_counter()
        estimator.set_params(checkpoint_dir=self.checkpoint_dir or params["checkpoint_dir"])
        try:
            self._initial = InitialWeights()
            with (training.watching(EpochProgress(self.progress), self._initial),
                  self.notes()):
                model.fit(*data)
        except TrainingDivergedError as exc:
            if exc.history:
                self._log_history(exc.history)
            raise
        finally:
            estimator.set_params(checkpoint_dir=params["checkpoint_dir"])
        epochs = len(next(iter(estimator.history_.values())))
        self.progress(f"fitted in {time.perf_counter() - start:.1f}s ({epochs} epochs; "
                      f"{estimator.budget_.describe()})")
        tracking.log_params({f"fit_{name}": value for name, value in
                             dataclasses.asdict(estimator.budget_).items()})
        self._log_history(estimator.history_)
        return model

    @contextlib.contextmanager
    def notes(self):
        """Print the warnings raised inside the block as ``note:`` lines of the log."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default", UserWarning)
            yield
        for warning in caught:
            self.progress(f"note: {warning.message}")

    def _log_history(self, history):
        """Log a fit's per-epoch ``history`` as metrics and as the learning curves."""
        tracking.log_history(history)
        self.figure(_plots.learning_curves(history, title=self.dataset), "learning_curves")

    def baseline(self, name, fit, *data):
        """Fit a baseline with ``fit(*data)``, printing progress; return what ``fit`` returns."""
        self.progress(f"baseline: {name}")
        return fit(*data)

    def _artifact(self, folder, name, write):
        """``write(path)`` a file into ``folder`` (``None``: the top) of the output; log it now."""
        path = self.stage / (folder or "") / name
        path.parent.mkdir(exist_ok=True)
        write(path)
        tracking.log_artifact(path, folder)

    def figure(self, figure, name):
        """Save a matplotlib figure as ``plots/<name>.png`` in the output and the run."""
        self._artifact("plots", f"{name}.png", lambda path: figure.savefig(path, dpi=100))

    def table(self, frame, name):
        """Save a DataFrame as ``tables/<name>.csv`` in the output and the run; its index
        (labels, windows) as the first column, unless it only numbers the rows."""
        numbers_rows = frame.index.equals(pd.RangeIndex(len(frame))) and frame.index.name is None
        self._artifact("tables", f"{name}.csv",
                       lambda path: frame.to_csv(path, index=not numbers_rows))

    def gradient_norms(self, estimator, x, y):
        """Plot ``||dLoss/dh_t||`` over the time steps of the estimator's network (both
        directions of a bidirectional one), with the weights it started from and those it
        ended with, side by side: a gradient that vanishes over the steps shows as a falling
        line.

        Parameters
        ----------
        estimator : fitted seqkit estimator
        x, y : arrays
            A batch of the network's inputs and targets.
        """
        model = estimator.model_
        trained = model.get_weights()
        panels = {"after training": training.gradient_norms_over_time(model, x, y)}
        if self._initial is not None and self._initial.weights is not None:
            model.set_weights(self._initial.weights)
            try:
                panels = {"at initialisation": training.gradient_norms_over_time(model, x, y),
                          **panels}
            finally:
                model.set_weights(trained)
        self.figure(_plots.gradient_norms(panels, title=self.dataset), "gradient_norms")

    def finish(self, model, report):
        """Log the metrics, export the model, pickle it, write ``results.json``.

        Parameters
        ----------
        model : seqkit estimator, or scikit-learn Pipeline ending in one
            Fitted. Exported with :func:`seqkit.export.export_saved_model`
            to ``model/`` (a SavedModel that serves raw inputs without
            seqkit) and logged as the run's MLflow model
            (:func:`seqkit.export.log_model`), registered if the job was
            asked to; the scikit-learn object is pickled to ``estimator.pkl``.
        report : Report

        Returns
        -------
        Report
        """
        from seqkit import export

        tracking.log_metrics({
            _metric_key(name, report.model, metric): value
            for name, row in report.metrics.items() for metric, value in row.items()
        })
        tracking.describe_run(report.summary())
        self.progress("exporting the model")
        saved_model = export.export_saved_model(model, self.stage / "model")
        tracking.log_artifact(saved_model)
        if self.register_model:
            info = export.log_model(saved_model, name="model",
                                    registered_model_name=self.register_model)
            self.progress(f"registered as models:/{self.register_model}/"
                          f"{info.registered_model_version}")
        else:
            export.log_model(saved_model, name="model")
        self._artifact(None, "estimator.pkl", lambda path: path.write_bytes(pickle.dumps(model)))
        results = {
            "task": report.task, "dataset": report.dataset, "metrics": report.metrics,
            "model": repr(model),
        }
        self._artifact(None, "results.json",
                       lambda path: path.write_text(json.dumps(results, indent=2) + "\n"))
        return report


def final_estimator(model):
    """The seqkit estimator of ``model`` (itself, or a Pipeline's last step)."""
    return model[-1] if isinstance(model, Pipeline) else model


def _metric_key(model, estimator_row, metric):
    """MLflow metric name: ``test_<metric>`` for the estimator, ``<model>_test_<metric>`` else."""
    return f"test_{metric}" if model == estimator_row else f"{model}_test_{metric}"


def execute(task, args, data, body, description=None):
    """Run ``body(args, job, data)`` in an MLflow run and a staging folder, then print the
    summary.

    A run of the same task, data set and options that was killed or
    interrupted is resumed (see :class:`pipelines._resume.FitCheckpoints`):
    its fit continues from its last completed epoch, in the same MLflow run if
    that run was never ended (the process was killed) and is still in the
    store and experiment, else in a new run tagged ``seqkit.resumes_run_id``.
    Either way the run is tagged ``seqkit.resumed_from_epoch``. A Ctrl-C or
    SIGTERM under :func:`cli` fails the run, even one that Python swallowed
    (see :mod:`pipelines._interrupts`).

    Parameters
    ----------
    task : str
    args : argparse.Namespace
        From :func:`pipelines._args.base_parser` (and the pipeline's own options).
    data : pipelines._data.Data
        From the pipeline's ``load(args)``: logged as the run's dataset inputs.
    body : callable
        ``body(args, job, data) -> Report``.
    description : str or None
        The experiment's description in the MLflow UI.

    Returns
    -------
    Report
    """
    start = time.perf_counter()
    final = Path(args.output_dir).resolve() / task / data.name
    files = {option: (part.info.uri, part.info.sha256)
             for option, part in (("data", data.train), ("test_data", data.test))}
    with FitCheckpoints.opened(final, vars(args), files) as checkpoints:
        with tracking.tracked_run(
            args.experiment, f"{data.name}-{args.cell}",
            tags={"task": task, "dataset": data.name, **checkpoints.tags()},
            tracking_uri=args.tracking_uri, resumes=checkpoints.resumes,
            description=description,
        ) as run:
            checkpoints.record(run)
            if args.data is None:
                tracking.log_dataset(args.dataset)
            log_lineage(data)
            with staged_directory(final) as stage:
                job = Job(task, data.name, stage, checkpoints.fit_dir, args.register_model)
                if resuming := checkpoints.resuming(run):
                    job.progress(resuming)
                with _interrupts.checked():
                    report = body(args, job, data)
    report.run, report.export_dir = run, final / "model"
    report.seconds = time.perf_counter() - start
    print_report(report)
    return report


def cli(run, argv=None):
    """Call ``run(argv)``; turn seqkit errors into a message on stderr and exit code 1.

    ``argparse`` exits with 2 on bad options; Ctrl-C exits with 130, even one
    that Python swallowed, and SIGTERM with 143, its run failed as Ctrl-C
    fails it (see :mod:`pipelines._interrupts`).

    Returns
    -------
    int
        The exit code.
    """
    try:
        with _interrupts.kept():
            run(argv)
            _interrupts.check()
    except SeqkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as interrupt:
        return _interrupts.report(interrupt)
    return 0


def entry_points(task, build_parser, load, body, description=None):
    """A pipeline module's ``run`` and ``main`` functions.

    Parameters
    ----------
    task : str
    build_parser : callable
        Returns the pipeline's ``argparse.ArgumentParser``.
    load : callable
        ``load(args) -> Data``: reads and checks the data before any run or
        folder exists.
    body : callable
        ``body(args, job, data) -> Report``, see :func:`execute`.
    description : str or None
        The experiment's description in the MLflow UI (the pipeline module's
        docstring, say).

    Returns
    -------
    run : callable
        ``run(argv=None) -> Report``: parse ``argv``, run, print the summary.
    main : callable
        ``main(argv=None) -> int``: ``run`` behind :func:`cli`, for the command line.
    """

    def run(argv=None):
        args = parse(build_parser(), argv)
        return execute(task, args, load(args), body, description)

    def main(argv=None):
        return cli(run, argv)

    run.__doc__ = f"Run the {task} pipeline with the options ``argv``; return its Report."
    main.__doc__ = f"Command-line entry point of the {task} pipeline; return the exit code."
    return run, main
