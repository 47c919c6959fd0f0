"""What the three pipelines share: options, the tracked run, the staged export, the summary.

A pipeline module defines a parser (from :func:`base_parser`) and a body
``body(args, job) -> Report`` that loads, fits, evaluates and logs through the
:class:`Job` it is given; :func:`execute` runs the body inside an MLflow run and
a staging folder, and :func:`cli` turns errors into a message and an exit code.
"""

import argparse
import dataclasses
import json
import pickle
import sys
import time
from pathlib import Path

from matplotlib.figure import Figure
from sklearn.pipeline import Pipeline

from pipelines import _plots
from seqkit import datasets, tracking
from seqkit._files import staged_directory
from seqkit.exceptions import SeqkitError


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
                             "(default: %(default)s)")
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
    """

    def __init__(self, task, dataset, stage):
        self.task, self.dataset, self.stage = task, dataset, Path(stage)
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
        model.fit(*data)
        epochs = len(next(iter(estimator.history_.values())))
        self.progress(f"fitted in {time.perf_counter() - start:.1f}s ({epochs} epochs)")
        tracking.log_history(estimator.history_)
        self.figure(_plots.learning_curves(estimator.history_), "learning_curves")
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
        """Plot ``||dLoss/dh_t||`` over the time steps of the estimator's network.

        Parameters
        ----------
        estimator : fitted seqkit estimator
        x, y : arrays
            A batch of the network's inputs and targets.
        """
        from seqkit import training

        if estimator.bidirectional:
            self.progress("gradient norms over time: skipped (they need a forward-only network, "
                          "and this one is bidirectional)")
            return
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


def execute(task, args, body):
    """Run ``body(args, job)`` in an MLflow run and a staging folder, then print the summary.

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
    with tracking.tracked_run(
        args.experiment, f"{args.dataset}-{args.cell}",
        tags={"task": task, "dataset": args.dataset}, tracking_uri=args.tracking_uri,
    ) as run:
        tracking.log_dataset(args.dataset)
        with staged_directory(final) as stage:
            report = body(args, Job(task, args.dataset, stage))
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
