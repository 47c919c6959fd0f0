"""The command-line options the pipelines share, and how they become estimator parameters.

A pipeline module builds its parser with :func:`base_parser` (and adds its
own options); the main job (``python -m pipelines``) takes only
:func:`add_run_options`.
"""

import argparse

from seqkit import datasets


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
