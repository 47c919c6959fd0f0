"""What the three pipelines share: options, the tracked run, the staged export, the summary.

A pipeline module defines a parser (from :func:`base_parser`) and a body
``body(args, job) -> Report`` that loads, fits, evaluates and logs through the
:class:`Job` it is given; :func:`execute` runs the body inside an MLflow run and
a staging folder, and :func:`cli` turns errors into a message and an exit code.

A killed or interrupted run resumes: the fit checkpoints every epoch into
``OUTPUT_DIR/<task>/<dataset>.checkpoints/`` (see :class:`FitCheckpoints`), and
the same command started again takes the fit up from its last completed epoch
and continues the same MLflow run, or links a new one to it.
"""

import argparse
import contextlib
import dataclasses
import json
import math
import os
import pickle
import shutil
import sys
import time
from pathlib import Path

from matplotlib.figure import Figure
from sklearn.pipeline import Pipeline

from pipelines import _plots
from seqkit import datasets, tracking, training
from seqkit._files import remove_staging_leftovers, staged_directory, staged_file
from seqkit.exceptions import InvalidParameterError, SeqkitError, TrainingDivergedError

try:
    import fcntl
except ImportError:  # Windows: no lock; do not start the same pipeline twice at once there
    fcntl = None

RESUMED_TAG = "seqkit.resumed_from_epoch"
"""Tag of a run that resumed an interrupted fit: the epochs that fit had completed."""


def positive_int(text):
    """argparse type: an int >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an int >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an int >= 1, got {value}")
    return value


def base_parser(task, description, *, default_dataset):
    """The options every pipeline takes.

    Estimator settings default to ``None``, meaning "the pipeline's setting for
    the chosen data set"; see each pipeline's ``SETTINGS``.

    Parameters
    ----------
    task : {"forecasting", "classification", "tagging"}
    description : str
        First line of ``--help``.
    default_dataset : str

    Returns
    -------
    argparse.ArgumentParser
    """
    from seqkit.networks import CELL_NAMES

    parser = argparse.ArgumentParser(prog=f"python -m pipelines.{task}", description=description)
    parser.add_argument("--dataset", choices=datasets.list_datasets(task), default=default_dataset,
                        help="bundled data set (default: %(default)s)")
    parser.add_argument("--cell", choices=CELL_NAMES, default="peephole_lstm",
                        help="recurrent cell (default: %(default)s)")
    parser.add_argument("--units", type=positive_int,
                        help="recurrent units (default: per data set)")
    parser.add_argument("--epochs", type=positive_int,
                        help="most training epochs (default: per data set)")
    add_run_options(parser)
    parser.add_argument("--experiment", default=f"seqkit-{task}",
                        help="MLflow experiment name (default: %(default)s)")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=0,
                        help="Keras progress: 0 none (default), 1 a bar per epoch, 2 a line "
                             "per epoch")
    return parser


def add_run_options(parser):
    """Add ``--seed``, ``--output-dir`` and ``--tracking-uri``, which the main job shares."""
    parser.add_argument("--seed", type=int, default=0,
                        help="random_state of the estimator (default: %(default)s)")
    parser.add_argument("--output-dir", default="outputs",
                        help="the model and report go to OUTPUT_DIR/<task>/<dataset>/ "
                             "(default: %(default)s); until the run ends, the fit "
                             "checkpoints every epoch to OUTPUT_DIR/<task>/<dataset>.checkpoints/"
                             ", and if the run is killed or interrupted, the same command "
                             "resumes it from there (delete that folder to start afresh)")
    parser.add_argument("--tracking-uri",
                        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else "
                             "sqlite:///<working directory>/mlflow.db)")


def estimator_params(args, settings):
    """The estimator's parameters: the data set's settings, then the options given."""
    given = {"cell": args.cell, "units": args.units, "epochs": args.epochs,
             "random_state": args.seed, "verbose": args.verbose}
    return {**settings, **{name: value for name, value in given.items() if value is not None}}


@dataclasses.dataclass
class Report:
    """What a pipeline run measured and where it left its results.

    Attributes
    ----------
    task, dataset : str
    metrics : dict of str to dict of str to float
        Model name -> metric name -> value; the seqkit estimator first, then
        the baselines.
    primary : str
        The metric the targets speak of.
    higher_is_better : bool
    export_dir : pathlib.Path or None
        The exported SavedModel (set once the export is in place).
    run : seqkit.tracking.TrackedRun or None
    seconds : float
    """

    task: str
    dataset: str
    metrics: dict
    primary: str
    higher_is_better: bool
    export_dir: Path = None
    run: tracking.TrackedRun = None
    seconds: float = 0.0

    @property
    def model(self):
        """The name of the seqkit estimator's row."""
        return next(iter(self.metrics))

    def best_baseline(self):
        """``(name, value)`` of the best baseline on the primary metric."""
        baselines = {name: row[self.primary] for name, row in self.metrics.items()
                     if name != self.model}
        pick = max if self.higher_is_better else min
        name = pick(baselines, key=baselines.get)
        return name, baselines[name]


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
    """

    def __init__(self, task, dataset, stage, checkpoint_dir=None):
        self.task, self.dataset, self.stage = task, dataset, Path(stage)
        self.checkpoint_dir = checkpoint_dir
        self._start = time.perf_counter()

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
        which is what is logged and pickled.

        Raises
        ------
        TrainingDivergedError
            After logging the history, when the loss became NaN or inf: the
            run fails and nothing is exported.
        """
        estimator = final_estimator(model)
        params = estimator.get_params()
        tracking.log_params(params)
        if isinstance(model, Pipeline):
            tracking.log_params({"preprocessing": " -> ".join(map(repr, model[:-1]))})
        self.progress(
            f"fitting {type(estimator).__name__} ({params['cell']}, {params['units']} units, "
            f"at most {params['epochs']} epochs)"
        )
        start = time.perf_counter()
        estimator.set_params(checkpoint_dir=self.checkpoint_dir or params["checkpoint_dir"])
        try:
            model.fit(*data)
        finally:
            estimator.set_params(checkpoint_dir=params["checkpoint_dir"])
        epochs = len(next(iter(estimator.history_.values())))
        self.progress(f"fitted in {time.perf_counter() - start:.1f}s ({epochs} epochs)")
        tracking.log_history(estimator.history_)
        self.figure(_plots.learning_curves(estimator.history_), "learning_curves")
        diverged = [epoch for epoch, loss in enumerate(estimator.history_.get("loss", []), 1)
                    if not math.isfinite(loss)]
        if diverged:
            raise TrainingDivergedError(
                f"The fit of {type(estimator).__name__} diverged: its loss became NaN or inf "
                f"in epoch {diverged[0]}. Nothing is exported. Check the data for extreme "
                "values, or use a lower learning rate or stronger scaling."
            )
        return model

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
        """Save a DataFrame as ``tables/<name>.csv`` in the output and the run."""
        self._artifact("tables", f"{name}.csv", frame.to_csv)

    def gradient_norms(self, estimator, x, y):
        """Plot ``||dLoss/dh_t||`` over the time steps of the estimator's network (both
        directions of a bidirectional one).

        Parameters
        ----------
        estimator : fitted seqkit estimator
        x, y : arrays
            A batch of the network's inputs and targets.
        """
        from seqkit import training

        norms = training.gradient_norms_over_time(estimator.model_, x, y)
        figure = Figure(figsize=(6, 3.5), layout="constrained")
        training.plot_gradient_norms(norms, ax=figure.subplots())
        self.figure(figure, "gradient_norms")

    def finish(self, model, report):
        """Log the metrics, export the model, pickle it, write ``results.json``.

        Parameters
        ----------
        model : seqkit estimator, or scikit-learn Pipeline ending in one
            Fitted. Exported with :func:`seqkit.export.export_saved_model`
            to ``model/`` (a SavedModel that serves raw inputs without
            seqkit) and logged as the run's MLflow model
            (:func:`seqkit.export.log_model`); the scikit-learn object is
            pickled to ``estimator.pkl``.
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
        self.progress("exporting the model")
        saved_model = export.export_saved_model(model, self.stage / "model")
        tracking.log_artifact(saved_model)
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


# Options that do not change what a run computes: a run resumed with others is the same run.
_NOT_COMPARED = ("output_dir", "tracking_uri", "experiment", "verbose")


class FitCheckpoints:
    """The checkpoints of a pipeline's fit and the MLflow run they belong to.

    They live in ``OUTPUT_DIR/<task>/<dataset>.checkpoints/``, beside the
    output folder (which is replaced as a whole at the end of a run):
    ``fit/``, the estimator's ``checkpoint_dir``, and ``run.json``, the
    run's id, store and options. While a run is under way it holds a lock on
    the folder, so a second run of the same pipeline into the same folder is
    refused instead of mixing the two.

    Use :meth:`opened`, which yields one and, when the block ends, deletes the
    folder after success and after a failure with nothing to resume, and
    keeps it otherwise (the next run resumes it); a killed process keeps it.

    Attributes
    ----------
    folder : pathlib.Path
    fit_dir : pathlib.Path
        The estimator's ``checkpoint_dir``.
    resumes : str or None
        The id of the run of the interrupted job, if there is one to resume.
    resumed_from_epoch : int or None
        The epochs its fit had completed (0 if it was killed before its first).
    """

    def __init__(self, final, options):
        final = Path(final)
        self.folder = final.with_name(f"{final.name}.checkpoints")
        self.fit_dir = self.folder / "fit"
        self.options = json.loads(json.dumps(
            {k: v for k, v in options.items() if k not in _NOT_COMPARED}, default=str))
        self.resumes = self.resumed_from_epoch = None
        self._record = self.folder / "run.json"
        self._lock = None

    @classmethod
    @contextlib.contextmanager
    def opened(cls, final, options):
        """Lock and read the checkpoints of the output folder ``final``; tidy up at the end.

        Parameters
        ----------
        final : path-like
            ``OUTPUT_DIR/<task>/<dataset>``.
        options : dict
            The run's options (``vars(args)``); those that change what the run
            computes must equal the interrupted run's for it to be resumed.

        Yields
        ------
        FitCheckpoints

        Raises
        ------
        InvalidParameterError
            If another run holds the folder, or an unfinished fit there was
            started with other options (the folder is left as it is).
        """
        checkpoints = cls(final, options)
        created = [folder for folder in checkpoints.folder.parents if not folder.exists()]
        checkpoints.folder.mkdir(parents=True, exist_ok=True)
        try:
            checkpoints._acquire()
            remove_staging_leftovers(final)  # of killed runs: none can be under way now
            checkpoints._read()
            succeeded = False
            try:
                yield checkpoints
                succeeded = True
            finally:
                checkpoints._tidy(succeeded, created)
        finally:
            if checkpoints._lock is not None:
                os.close(checkpoints._lock)

    def _acquire(self):
        if fcntl is None:
            return
        self._lock = os.open(self.folder, os.O_RDONLY)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InvalidParameterError(
                f"Another run of this pipeline is writing to {self.folder.parent} (it holds "
                f"{self.folder}). Wait for it to end, or give another --output-dir."
            ) from None

    def _read(self):
        if not self._record.is_file():  # a fresh start, or killed before recording its run
            shutil.rmtree(self.fit_dir, ignore_errors=True)
            return
        record = json.loads(self._record.read_text())
        changed = [
            f"--{name.replace('_', '-')} {record['options'].get(name)} then, "
            f"{self.options.get(name)} now"
            for name in sorted(set(record["options"]) | set(self.options))
            if record["options"].get(name) != self.options.get(name)
        ]
        if changed:
            raise InvalidParameterError(
                f"{self.folder} holds the unfinished fit of a run with other options "
                f"({'; '.join(changed)}), and a run resumes only its own. Run the command with "
                "the same options to resume it, or delete that folder to start afresh."
            )
        state = training.checkpoint_state(self.fit_dir)
        self.resumes = record["run_id"]
        self.resumed_from_epoch = 0 if state is None else state["epochs"]

    def record(self, run):
        """Write down ``run`` (a :class:`seqkit.tracking.TrackedRun`) as the run to resume."""
        record = {"run_id": run.run_id, "experiment_id": run.experiment_id,
                  "tracking_uri": run.tracking_uri, "options": self.options}
        with staged_file(self._record) as partial:
            partial.write_text(json.dumps(record, indent=2) + "\n")

    def _tidy(self, succeeded, created):
        if not succeeded and training.checkpoint_state(self.fit_dir) is not None:
            print(f"The fit's checkpoints stay in {self.folder}: the same command resumes it.",
                  file=sys.stderr)
            return
        shutil.rmtree(self.folder, ignore_errors=True)
        for folder in created:  # deepest first; only those left empty
            with contextlib.suppress(OSError):
                folder.rmdir()


def execute(task, args, body):
    """Run ``body(args, job)`` in an MLflow run and a staging folder, then print the summary.

    A run of the same task, data set and options that was killed or
    interrupted is resumed (see :class:`FitCheckpoints`): its fit continues
    from its last completed epoch, in the same MLflow run if that run was
    never ended (the process was killed) and is still in the store and
    experiment, else in a new run tagged ``seqkit.resumes_run_id``. Either
    way the run is tagged ``seqkit.resumed_from_epoch``.

    Parameters
    ----------
    task : str
    args : argparse.Namespace
        From :func:`base_parser` (and the pipeline's own options).
    body : callable
        ``body(args, job) -> Report``.

    Returns
    -------
    Report
    """
    start = time.perf_counter()
    final = Path(args.output_dir).resolve() / task / args.dataset
    tags = {"task": task, "dataset": args.dataset}
    with FitCheckpoints.opened(final, vars(args)) as checkpoints:
        if checkpoints.resumes:
            tags[RESUMED_TAG] = checkpoints.resumed_from_epoch
        with tracking.tracked_run(
            args.experiment, f"{args.dataset}-{args.cell}", tags=tags,
            tracking_uri=args.tracking_uri, resumes=checkpoints.resumes,
        ) as run:
            checkpoints.record(run)
            tracking.log_dataset(args.dataset)
            with staged_directory(final) as stage:
                job = Job(task, args.dataset, stage, checkpoints.fit_dir)
                if checkpoints.resumes:
                    where = (f"continuing MLflow run {run.run_id}"
                             if run.run_id == checkpoints.resumes else
                             f"in a new MLflow run linked to run {checkpoints.resumes}")
                    job.progress(f"resuming an interrupted run after epoch "
                                 f"{checkpoints.resumed_from_epoch}, {where}")
                report = body(args, job)
    report.run, report.export_dir = run, final / "model"
    report.seconds = time.perf_counter() - start
    print_report(report)
    return report


def format_table(header, rows):
    """Rows of cells as an aligned text table (numbers right-aligned, 4 decimals)."""
    cells = [[_cell(value) for value in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    numeric = [all(isinstance(row[i], float) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.rjust(w) if num else cell.ljust(w)
                  for cell, w, num in zip(row, widths, numeric)).rstrip()
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value):
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def print_report(report):
    """Print a pipeline's result table, its export and how to browse the run."""
    metrics = list(next(iter(report.metrics.values())))
    rows = [[name, *(float(row[m]) for m in metrics)] for name, row in report.metrics.items()]
    print(f"\n{report.task} on {report.dataset} (test split), {report.seconds:.0f}s")
    print(format_table(["model", *metrics], rows))
    print(f"\nExported model (SavedModel): {report.export_dir}")
    browse = tracking.ui_command(report.run.tracking_uri)
    print(f"MLflow run {report.run.run_id}; browse with: {browse}")


def cli(run, argv=None):
    """Call ``run(argv)``; turn seqkit errors into a message on stderr and exit code 1.

    ``argparse`` exits with 2 on bad options; Ctrl-C exits with 130.

    Returns
    -------
    int
        The exit code.
    """
    try:
        run(argv)
    except SeqkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


def entry_points(task, build_parser, body):
    """A pipeline module's ``run`` and ``main`` functions.

    Parameters
    ----------
    task : str
    build_parser : callable
        Returns the pipeline's ``argparse.ArgumentParser``.
    body : callable
        ``body(args, job) -> Report``, see :func:`execute`.

    Returns
    -------
    run : callable
        ``run(argv=None) -> Report``: parse ``argv``, run, print the summary.
    main : callable
        ``main(argv=None) -> int``: ``run`` behind :func:`cli`, for the command line.
    """

    def run(argv=None):
        return execute(task, build_parser().parse_args(argv), body)

    def main(argv=None):
        return cli(run, argv)

    run.__doc__ = f"Run the {task} pipeline with the options ``argv``; return its Report."
    main.__doc__ = f"Command-line entry point of the {task} pipeline; return the exit code."
    return run, main
