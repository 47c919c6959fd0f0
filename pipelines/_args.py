"""The command-line options the pipelines share, and how they become estimator parameters.

A pipeline module builds its parser with :func:`base_parser` (and adds its
own options); the main job (``python -m pipelines``) takes only
:func:`add_run_options`. Options are never abbreviated: ``--data`` is not
``--dataset``.
"""

import argparse
from pathlib import Path, PurePosixPath

from seqkit import datasets


def positive_int(text):
    """argparse type: an int >= 1; ``""`` (an MLflow Project's unset parameter) is None."""
    if text == "":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an int >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an int >= 1, got {value}")
    return value


def optional_text(text):
    """argparse type: a string, where ``""`` (an MLflow Project's unset parameter) is None."""
    return text or None


def output_folder(text):
    """argparse type: a folder to write into (made when needed), refused when it or a folder
    above it is a file."""
    path = Path(text)
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                raise argparse.ArgumentTypeError(
                    f"must be a folder, but {str(part)!r} is a file; got {text!r}")
            break
    return text


def model_name(text):
    """argparse type: a name the MLflow model registry takes (not blank, no '/' or ':', not a
    relative path such as '..'), or None for ``""`` (an MLflow Project's unset parameter)."""
    if not text:
        return None
    if not text.strip() or any(c in text for c in "/:") or text.strip(".") == "":
        raise argparse.ArgumentTypeError(
            "must be a name the MLflow model registry takes: not blank, without '/' or ':', "
            f"not '.' or '..'; got {text!r}")
    return text


def data_name(args):
    """The name of the data a run works on: the bundled set, or the stem of the ``--data`` file.

    ``s3://bucket/sales_2024.parquet`` -> ``"sales_2024"``; it names the
    output folder and the run.
    """
    if args.data is None:
        return args.dataset
    name = PurePosixPath(args.data.split("?", 1)[0].rstrip("/")).name
    for suffix in (".gz", ".csv", ".parquet", ".pq", ".ts", ".conll", ".iob", ".bio", ".txt"):
        name = name.removesuffix(suffix)
    return name or "data"


def base_parser(task, description, *, default_dataset):
    """The options every pipeline takes.

    Estimator settings default to ``None``, meaning "the pipeline's setting for
    the chosen bundled data set" (see each pipeline's ``SETTINGS``), or the
    estimator's default on the user's own data (``--data``).

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

    parser = argparse.ArgumentParser(prog=f"python -m pipelines.{task}", description=description,
                                     allow_abbrev=False)
    data = parser.add_argument_group("data (a bundled set, or your own files)")
    bundled = datasets.list_datasets(task)
    data.add_argument("--dataset", type=optional_text, metavar="{" + ",".join(bundled) + "}",
                      help=f"bundled data set (default: {default_dataset}, unless --data is given)")
    data.add_argument("--data", type=optional_text, metavar="PATH_OR_URI",
                      help="your training data: a local path, file://, https:// or any fsspec URI "
                           "whose package is installed (s3://, gs://)")
    data.add_argument("--test-data", type=optional_text, metavar="PATH_OR_URI",
                      help="your test data, in the format of --data (default: a split of --data)")
    parser.set_defaults(default_dataset=default_dataset, bundled=bundled)
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
    parser.add_argument("--register-model", type=model_name, metavar="NAME",
                        help="register the run's model as a new version of NAME in the MLflow "
                             "model registry")
    return parser


def parse(parser, argv):
    """Parse ``argv``; settle ``--dataset`` against ``--data`` (exits with 2 if both are given)."""
    args = parser.parse_args(argv)
    if args.dataset is not None and args.dataset not in args.bundled:
        parser.error(f"argument --dataset: invalid choice: {args.dataset!r} (choose from "
                     f"{', '.join(args.bundled)}; your own file goes to --data)")
    if args.data is not None and args.dataset is not None:
        parser.error("give either --dataset (a bundled set) or --data (your file), not both")
    if args.data is None:
        if args.test_data is not None:
            parser.error("--test-data needs --data: the bundled sets have their own test split")
        args.dataset = args.dataset or args.default_dataset
    del args.default_dataset, args.bundled
    return args


def add_column_options(parser, *, time_column=True, label_column=False, id_help):
    """Add ``--id-column``, ``--time-column`` and ``--label-column`` (named after the long-table
    convention ``unique_id``, ``ds``, ``label``)."""
    columns = parser.add_argument_group("columns of a long table (CSV or Parquet)")
    columns.add_argument("--id-column", default="unique_id", help=id_help)
    if time_column:
        columns.add_argument("--time-column", default="ds",
                             help="time stamps or step numbers (default: %(default)s)")
    if label_column:
        columns.add_argument("--label-column", default="label",
                             help="the label column (default: %(default)s)")
    return columns


def add_run_options(parser):
    """Add ``--seed``, ``--output-dir`` and ``--tracking-uri``, which the main job shares."""
    parser.add_argument("--seed", type=int, default=0,
                        help="random_state of the estimator (default: %(default)s)")
    parser.add_argument("--output-dir", type=output_folder, default="outputs",
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
