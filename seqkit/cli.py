"""The ``seqkit`` command: export a fitted model, serve it, score a file with it.

::

    seqkit export RUN_OR_PATH DEST     # a SavedModel that runs without seqkit
    seqkit serve MODEL [--port 5000]   # an MLflow scoring server on 127.0.0.1
    seqkit predict MODEL INPUT [--output OUT]   # batch predictions for a data file

``RUN_OR_PATH`` is a file written by an estimator's ``save``, a pickled
estimator or Pipeline (such as the ``estimator.pkl`` the pipelines log), or an
MLflow run (its id, ``runs:/<id>`` for the run's ``estimator.pkl``, or
``runs:/<id>/<artifact>``). Reading it unpickles it, which runs code from it:
name only files and runs you trust. ``MODEL`` is a folder written by ``seqkit
export``, an MLflow model folder, or an MLflow model URI (``runs:/...``,
``models:/...``). The server listens on 127.0.0.1 unless ``--host`` says
otherwise and answers request bodies over ``--max-request-bytes`` (16 MiB by
default) with status 413, unread.

``seqkit predict`` reads ``INPUT`` (a local file or a URI, as the pipelines
read data: a long table of series for a forecaster, a long table or ``.ts``
file of sequences for a classifier or numeric tagger, CoNLL for a token
tagger; a label column is ignored; a table's feature columns are read by the
names the model was fit on, when it was fit on named columns, and otherwise by
position) in chunks of ``--chunk-rows`` and writes
the predictions (see :mod:`seqkit.predicting`) to ``OUT`` (``.csv`` or
``.parquet``; CoNLL for a token tagger), or to stdout. A progress bar shows on
stderr when it is a terminal.

Errors in what you ask for print one line and exit with status 1 (2 for
wrong arguments), without a traceback.
"""

import argparse
import contextlib
import os
import pickle
import re
import signal
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from seqkit.exceptions import CommandError, SeqkitError
from seqkit.serving.app import DEFAULT_MAX_REQUEST_BYTES, MAX_REQUEST_BYTES_ENV

ESTIMATOR_ARTIFACT = "estimator.pkl"
"""The artifact of a run that ``seqkit export runs:/<id>`` reads."""

_RUN_ID = re.compile(r"[0-9a-f]{32}")
_URI = re.compile(r"[a-z][a-z0-9+.-]*:/")
_ZIP_MAGIC = b"PK\x03\x04"
MLMODEL = "MLmodel"
_STOP_TIMEOUT = 10  # seconds the server has to stop before it is killed


# ----------------------------------------------------------------------- export


def _run_artifact(source):
    """The ``runs:/`` URI of a run's model file, or None if ``source`` names no run."""
    if _RUN_ID.fullmatch(source):
        return f"runs:/{source}/{ESTIMATOR_ARTIFACT}"
    match = re.fullmatch(r"runs:/([^/]+)/?(.*)", source)
    if match is None:
        return None
    return f"runs:/{match[1]}/{match[2] or ESTIMATOR_ARTIFACT}"


def _download(uri, tracking_uri, dest=None):
    import mlflow
    from mlflow.exceptions import MlflowException

    from seqkit.tracking import check_tracking_store

    store = check_tracking_store(tracking_uri)
    try:
        return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, tracking_uri=store,
                                                        dst_path=dest))
    except (MlflowException, OSError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CommandError(f"Cannot download {uri}: {reason}") from None


def _read_model_file(path):
    """The estimator or Pipeline stored at ``path`` (an estimator archive or a pickle)."""
    from seqkit.estimators._base import BaseSequenceEstimator

    try:
        with open(path, "rb") as file:
            if file.read(4) == _ZIP_MAGIC:  # a pickle may hold zips, so not is_zipfile
                return BaseSequenceEstimator.load(path)
            file.seek(0)
            return pickle.load(file)
    except (OSError, EOFError, KeyError, ValueError, TypeError, AttributeError, ImportError,
            pickle.UnpicklingError, zipfile.BadZipFile) as err:
        raise CommandError(
            f"Cannot read a fitted model from {path}: {type(err).__name__}: {err}. It must be "
            "a file written by an estimator's save(), or a pickled estimator or Pipeline."
        ) from None


def load_fitted_model(source, tracking_uri=None):
    """Read a fitted estimator or Pipeline from a file or an MLflow run.

    Parameters
    ----------
    source : str
        A file (estimator archive or pickle), a run id, or a ``runs:/`` URI.
    tracking_uri : str or None
        Where runs are looked up (see :func:`seqkit.tracking.resolve_tracking_uri`).

    Returns
    -------
    estimator or Pipeline
    """
    if Path(source).is_file():
        return _read_model_file(Path(source))
    uri = _run_artifact(source)
    if uri is None:
        raise CommandError(
            f"{source} is neither a file nor an MLflow run (a run id or a runs:/ URI)."
        )
    return _read_model_file(_download(uri, tracking_uri))


def _export(args):
    from sklearn.exceptions import NotFittedError

    from seqkit._quiet import quiet_tensorflow
    from seqkit.export import export_saved_model, read_manifest

    quiet_tensorflow()

    dest = Path(args.dest)
    if dest.exists() and not args.force and not (dest.is_dir() and not any(dest.iterdir())):
        raise CommandError(
            f"{args.dest} exists: `seqkit export` replaces a folder only when given --force "
            "(the old export stays until the new one is complete)."
        )
    model = load_fitted_model(args.source, args.tracking_uri)
    try:
        export_saved_model(model, args.dest)
    except NotFittedError as err:
        raise CommandError(f"{args.source} holds a model that is not fitted: {err}") from None
    manifest = read_manifest(args.dest)
    print(f"Exported a {manifest['kind']} to {args.dest}")
    print(f"  signatures: {', '.join(manifest['signatures'])}")
    print(f"  serve it:   seqkit serve {args.dest}")
    return 0


# ----------------------------------------------------------------------- serve


def _no_model(model):
    """The error for a ``MODEL`` that names no model."""
    from seqkit.export import MANIFEST

    if Path(model).exists():
        return CommandError(f"{model} is neither a seqkit export (no {MANIFEST}) nor an MLflow "
                            f"model (no {MLMODEL}).")
    return CommandError(f"No model at {model}: give a folder written by `seqkit export`, an "
                        "MLflow model folder, or a runs:/ or models:/ URI.")


def _temporary_folder(stack, command):
    return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"seqkit-{command}-")))


def _mlflow_model(model, stack, tracking_uri):
    """An MLflow model folder for ``model``: a seqkit export is wrapped in one, a model URI
    downloaded."""
    from seqkit.export import MANIFEST, save_mlflow_model

    path = Path(model)
    if (path / MLMODEL).is_file():
        return path
    if (path / MANIFEST).is_file():
        return save_mlflow_model(path, _temporary_folder(stack, "serve") / "model")
    if not path.exists() and _URI.match(model):
        return _download(model, tracking_uri, _temporary_folder(stack, "serve"))
    raise _no_model(model)


def _export_folder(model, stack, tracking_uri):
    """The seqkit export of ``model``: the folder itself, or the SavedModel artifact of an
    MLflow model folder or of a model URI (downloaded into a temporary folder)."""
    import yaml

    from seqkit.export import ARTIFACT, MANIFEST

    path = Path(model)
    if (path / MANIFEST).is_file():
        return path
    if not path.exists() and _URI.match(model):
        path = _download(model, tracking_uri, _temporary_folder(stack, "predict"))
    if not (path / MLMODEL).is_file():
        raise _no_model(model)
    try:
        flavor = yaml.safe_load((path / MLMODEL).read_text(encoding="utf-8"))
        export = path / flavor["flavors"]["python_function"]["artifacts"][ARTIFACT]["path"]
    except (OSError, yaml.YAMLError, TypeError, KeyError) as err:
        raise CommandError(f"{model} is an MLflow model without a seqkit export (artifact "
                           f"{ARTIFACT!r}; {type(err).__name__}: {err}): log models with "
                           "seqkit.export.log_model.") from None
    return export


def server_command(model, *, host="127.0.0.1", port=5000, workers=1,
                   max_request_bytes=DEFAULT_MAX_REQUEST_BYTES):
    """The command that serves a local MLflow model folder: MLflow's scoring server under
    uvicorn, behind :class:`seqkit.serving.app.RequestBodyLimit`.

    Parameters
    ----------
    model : str or path-like
        An MLflow model folder.
    host : str, default "127.0.0.1"
    port : int, default 5000
    workers : int, default 1
    max_request_bytes : int, default 16 MiB
        Larger request bodies are answered with status 413, unread.

    Returns
    -------
    argv : list of str
    env : dict of str to str
        This process's environment with MLflow's serving settings for ``model``.
    """
    from mlflow.pyfunc.scoring_server import get_cmd

    _, env = get_cmd(str(Path(model).resolve()), port, host, None, workers)
    env[MAX_REQUEST_BYTES_ENV] = str(max_request_bytes)
    argv = [sys.executable, "-m", "uvicorn", "--factory", "--host", host, "--port", str(port),
            "--workers", str(workers), "seqkit.serving.app:create_app"]
    return argv, env


def start_server(model, *, output=None, **options):
    """Start :func:`server_command` in a session of its own; returns the ``Popen``.

    ``output`` (a file, or ``None`` for this process's) receives the server's
    stdout and stderr; ``options`` are those of :func:`server_command`.
    """
    argv, env = server_command(model, **options)
    return subprocess.Popen(argv, env=env, stdout=output, stderr=output, start_new_session=True)


def stop_server(process):
    """Stop a server's whole process group: terminate, then kill after a grace period."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _serve(args):
    with contextlib.ExitStack() as stack:
        model = _mlflow_model(args.model, stack, args.tracking_uri)
        print(f"Serving {args.model} on http://{args.host}:{args.port} (Ctrl-C stops it)",
              flush=True)
        process = start_server(model, host=args.host, port=args.port, workers=args.workers,
                               max_request_bytes=args.max_request_bytes)
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            return process.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            signal.signal(signal.SIGTERM, previous)
            stop_server(process)


# ----------------------------------------------------------------------- predict


def _predict(args):
    if not sys.stderr.isatty():  # progress bars, MLflow's downloads' too, on a terminal only
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    from seqkit.predicting import ReadOptions, predict_file

    options = ReadOptions(id_column=args.id_column, time_column=args.time_column,
                          target=args.target, label_column=args.label_column, freq=args.freq,
                          fill=args.fill, chunk_rows=args.chunk_rows)
    try:
        with contextlib.ExitStack() as stack:
            export = _export_folder(args.model, stack, args.tracking_uri)
            count, item = predict_file(export, args.input, args.output, options,
                                       progress=sys.stderr.isatty())
    except BrokenPipeError:
        # The pipe's reader stopped early (`| head`): nothing to tell it; quietly, as Python's
        # documentation of SIGPIPE advises, so that exiting does not fail on stdout again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as err:  # a full disk or temporary folder, a lost network file
        raise CommandError(f"Could not score {args.input} into "
                           f"{args.output or 'stdout'}: {err}") from None
    if args.output is not None:
        if count == 1:
            item = {"sequences": "sequence", "sentences": "sentence"}.get(item, item)
        print(f"Wrote the predictions for {count} {item} to {args.output}")
    return 0


# ----------------------------------------------------------------------- main


def _port(text):
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"must be an int in [1, 65535]. Got {text!r}")
    return port


def _positive_int(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be an int >= 1. Got {text!r}")
    return int(text)


def _frequency(text):
    from pandas.tseries.frequencies import to_offset

    try:
        to_offset(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a pandas offset alias such as D, h, MS or W-SAT. Got {text!r}") from None
    return text


def build_parser():
    """The ``argparse`` parser of the ``seqkit`` command."""
    parser = argparse.ArgumentParser(
        prog="seqkit",
        description="Export fitted seqkit models, serve them, and score data files with them.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    export = commands.add_parser(
        "export", help="export a fitted model as a SavedModel that runs without seqkit",
        description="Export a fitted model as a TensorFlow SavedModel with serving_default, "
        "predict_proba and step signatures. Reading RUN_OR_PATH unpickles it: use only files "
        "and runs you trust.",
    )
    export.add_argument("source", metavar="RUN_OR_PATH",
                        help="an estimator file (estimator.save() or a pickle), a run id, "
                             "runs:/<id> (its estimator.pkl) or runs:/<id>/<artifact>")
    export.add_argument("dest", metavar="DEST",
                        help="the SavedModel folder to write (must not exist, unless --force)")
    export.add_argument("--force", action="store_true",
                        help="replace DEST if it holds a seqkit export")
    export.add_argument("--tracking-uri", help="MLflow tracking URI for runs (default: "
                                               "$MLFLOW_TRACKING_URI, else ./mlflow.db)")
    export.set_defaults(run=_export)
    serve = commands.add_parser(
        "serve", help="serve a model over HTTP with MLflow's scoring server",
        description="Serve a model with MLflow's scoring server, in this environment, behind "
        "a request size limit: POST {\"inputs\": ...} to /invocations; add \"params\": "
        "{\"signature\": \"predict_proba\"} for probabilities.",
    )
    _model_argument(serve)
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=_port, default=5000, help="default 5000")
    serve.add_argument("--workers", type=_positive_int, default=1,
                       help="server processes (default 1)")
    serve.add_argument("--max-request-bytes", type=_positive_int,
                       default=DEFAULT_MAX_REQUEST_BYTES,
                       help="larger request bodies get status 413, unread (default 16 MiB)")
    serve.add_argument("--tracking-uri", help="MLflow tracking URI for runs:/ and models:/ URIs")
    serve.set_defaults(run=_serve)
    _add_predict(commands)
    return parser


def _model_argument(parser):
    """MODEL, as serve and predict take it."""
    parser.add_argument("model", metavar="MODEL",
                        help="a folder written by `seqkit export`, an MLflow model folder, or "
                             "runs:/..., models:/NAME/VERSION or models:/NAME@ALIAS")


def _add_predict(commands):
    predict = commands.add_parser(
        "predict", help="score a data file with a model, in chunks, into CSV, Parquet or CoNLL",
        description="Score INPUT with MODEL chunk by chunk (bounded memory). Forecasters give "
        "a long table unique_id, ds, y_pred of the dates after each series (and y_pred_q<level> "
        "per level of a quantile forecaster); classifiers id, label and proba_<class> per "
        "class; taggers CoNLL (token, predicted tag) for tokens, else id, step, label. A label "
        "column in INPUT is ignored. Feature columns are matched by name when the model was "
        "fit on named columns (the pipelines' models and estimators fit on DataFrames), "
        "otherwise by position.",
    )
    _model_argument(predict)
    predict.add_argument("input", metavar="INPUT",
                         help="a data file or URI: .csv or .parquet long table, .ts, or CoNLL "
                              "(.conll, .iob, .bio, .txt) for a token tagger")
    predict.add_argument("--output", "-o", metavar="OUT",
                         help=".csv or .parquet (.conll, .iob, .bio or .txt for a token "
                              "tagger), written only if all is scored (default: stdout, as "
                              "CSV or CoNLL)")
    predict.add_argument("--id-column", default="unique_id",
                         help="series or sequence id column (default unique_id)")
    predict.add_argument("--time-column", default="ds", help="time column (default ds)")
    predict.add_argument("--target", default="y",
                         help="forecasters: the series' value column (default y)")
    predict.add_argument("--label-column", default="label",
                         help="a label column to ignore, not a feature (default label)")
    predict.add_argument("--freq", type=_frequency,
                         help="forecasters: the pandas frequency of the dates, e.g. D or MS "
                              "(default: inferred)")
    # seqkit.io.series.FILLS, written out: importing it loads pandas before any command runs.
    predict.add_argument("--fill", choices=("interpolate", "ffill", "zero"),
                         help="forecasters: fill missing values and steps linearly in time, "
                              "with the value before, or with 0 (default: refuse them), as "
                              "the pipelines' --fill")
    predict.add_argument("--chunk-rows", type=_positive_int, default=100_000,
                         help="table rows (.ts cases, CoNLL sentences) read at a time "
                              "(default 100000)")
    predict.add_argument("--tracking-uri",
                         help="MLflow tracking URI for runs:/ and models:/ URIs")
    predict.set_defaults(run=_predict)


def main(argv=None):
    """Run the ``seqkit`` command; returns the exit status.

    Parameters
    ----------
    argv : list of str or None
        The arguments; ``None`` reads ``sys.argv``.
    """
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except SeqkitError as err:
        print(f"seqkit {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
