"""Record runs in MLflow: parameters, data set checksums, metrics, plots, tables and models.

The only seqkit module that imports ``mlflow`` (inside functions, so seqkit
works without it until a run is tracked).

Where runs go, in order: the ``tracking_uri`` argument, the
``MLFLOW_TRACKING_URI`` environment variable (a team's tracking server, or the
store ``mlflow run`` passes down), else an SQLite file ``mlflow.db`` in the
working directory. :func:`tracked_run` checks that the store answers before
anything runs, and marks a run ``FAILED``, with the error, whenever its block
raises (``KeyboardInterrupt`` included).

Examples
--------
>>> with tracked_run("forecasting", "sunspots", params=est.get_params()) as run:
...     est.fit(y_train)
...     log_history(est.history_)
...     log_metrics({"test_mase": 0.71})
>>> print(ui_command(run.tracking_uri))
mlflow ui --backend-store-uri sqlite:////home/me/mlflow.db
"""

import contextlib
import logging
import os
import time
import traceback
import typing
from pathlib import Path

from seqkit.exceptions import TrackingError

__all__ = [
    "DEFAULT_DATABASE",
    "PIPELINE_RUN_TAG",
    "PROJECT_RUN_TAG",
    "RESUMES_TAG",
    "TrackedRun",
    "TrackingError",
    "check_tracking_store",
    "describe_run",
    "log_artifact",
    "log_dataset",
    "log_history",
    "log_input",
    "log_metrics",
    "log_params",
    "mark_run",
    "nested_run",
    "resolve_tracking_uri",
    "set_tags",
    "tracked_run",
    "ui_command",
]

DEFAULT_DATABASE = "mlflow.db"
"""File name of the embedded SQLite store, created in the working directory."""

# How long the up-front check may wait for a remote server: one try, this many seconds.
_PROBE_TIMEOUT = 10
# MLflow caps tag values; the full traceback goes to an artifact instead.
_MAX_TAG_LENGTH = 5000
# Loggers that describe the SQLite schema migrations on first use, at INFO level.
_CHATTY_LOGGERS = ("alembic", "mlflow.store.db.utils")


class TrackedRun(typing.NamedTuple):
    """Where a run is recorded: its ids and the tracking URI."""

    run_id: str
    experiment_id: str
    tracking_uri: str


def resolve_tracking_uri(tracking_uri=None):
    """Return the tracking URI to use.

    Parameters
    ----------
    tracking_uri : str or None, default=None
        Used as given when set.

    Returns
    -------
    str
        ``tracking_uri``, else ``$MLFLOW_TRACKING_URI``, else
        ``sqlite:///<working directory>/mlflow.db`` (an absolute path, so the
        same store is found from any sub-process).
    """
    if tracking_uri:
        return str(tracking_uri)
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    return f"sqlite:///{Path.cwd() / DEFAULT_DATABASE}"


def _origin(tracking_uri):
    if tracking_uri:
        return "the tracking_uri argument"
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return "the MLFLOW_TRACKING_URI environment variable"
    return "the default local store"


@contextlib.contextmanager
def _quick_http_requests():
    """Make MLflow's HTTP client try once with a short timeout, then restore the settings."""
    settings = {
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": str(_PROBE_TIMEOUT),
    }
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def check_tracking_store(tracking_uri=None):
    """Check that the tracking store answers; create the SQLite store if it is new.

    Parameters
    ----------
    tracking_uri : str or None, default=None
        As in :func:`resolve_tracking_uri`.

    Returns
    -------
    str
        The resolved tracking URI.

    Raises
    ------
    TrackingError
        If the store cannot be reached (server down, wrong host, a database
        file in a folder that does not exist or cannot be written), naming the
        URI, where it came from and the cause.
    """
    from mlflow.tracking import MlflowClient

    uri = resolve_tracking_uri(tracking_uri)
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        with _quick_http_requests():
            MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TrackingError(
            f"Cannot reach the MLflow tracking store {uri!r} (from {_origin(tracking_uri)}): "
            f"{reason[:500]}. Start the tracking server or fix the URI; with neither a "
            "tracking URI nor MLFLOW_TRACKING_URI set, runs go to ./mlflow.db."
        ) from exc
    return uri


def ui_command(tracking_uri):
    """The shell command that browses ``tracking_uri``'s runs in the MLflow UI.

    Parameters
    ----------
    tracking_uri : str

    Returns
    -------
    str
        ``mlflow ui --backend-store-uri <uri>`` for a database store, or an
        invitation to open the server's address for a remote one.
    """
    if tracking_uri.startswith(("http://", "https://")):
        return f"open {tracking_uri} in a browser"
    return f"mlflow ui --backend-store-uri {tracking_uri}"


RESUMES_TAG = "seqkit.resumes_run_id"
"""Tag of a run that carries on the work of an earlier run it could not continue."""

PROJECT_RUN_TAG = "seqkit.project_run_id"
"""Tag of a pipeline's run naming the ``mlflow run`` run (in the Default experiment) that
started it."""

PIPELINE_RUN_TAG = "seqkit.pipeline_run_id"
"""Tag of an ``mlflow run`` run in the Default experiment naming the pipeline's own run."""

_DEFAULT_EXPERIMENT_ID = "0"
_NOTE_TAG = "mlflow.note.content"
# The MLflow UI opens an experiment of this kind on its runs (not on a GenAI overview).
_EXPERIMENT_KIND_TAG, _TRAINED_MODELS = "mlflow.experimentKind", "custom_model_development"


def _continuable(client, run_id, experiment_id):
    """Whether the run ``run_id`` can be continued: in the store, not deleted, in the
    experiment ``experiment_id``, and never ended (its process was killed)."""
    from mlflow.exceptions import MlflowException

    try:
        info = client.get_run(run_id).info
    except MlflowException:  # not in this store
        return False
    return (info.lifecycle_stage == "active" and info.experiment_id == experiment_id
            and info.status == "RUNNING")


@contextlib.contextmanager
def tracked_run(experiment, run_name=None, *, params=None, tags=None, tracking_uri=None,
                resumes=None, description=None):
    """Start an MLflow run; finish it, or mark it ``FAILED`` with the error and re-raise.

    Inside ``mlflow run`` (``MLFLOW_RUN_ID`` set), the run created by MLflow
    is resumed and ``experiment`` is ignored, unless MLflow created that run
    in the Default experiment (``mlflow run`` without ``--experiment-name``):
    then the work goes to a new run in ``experiment``, tagged
    :data:`PROJECT_RUN_TAG` with the project's run, which gets the tag
    :data:`PIPELINE_RUN_TAG` and a note pointing to it.

    With ``resumes``, the id of the run of an interrupted job that this one
    takes up, that run is continued (same id; its status goes back to
    ``RUNNING``) if the store holds it, undeleted, in this experiment, it
    was never ended, as when its process was killed, and it holds none of
    ``params`` with another value (MLflow cannot change a param; such a run
    is ended ``KILLED``). Otherwise (it failed or was interrupted and is
    marked so, was deleted, lives in another store or experiment, or
    ``mlflow run`` gave a run) a new run starts with the tag
    :data:`RESUMES_TAG` naming it.

    Parameters
    ----------
    experiment : str
        Experiment name, created if missing.
    run_name : str or None, default=None
    params : dict or None, default=None
        Logged with :func:`log_params` when the run starts.
    tags : dict or None, default=None
    tracking_uri : str or None, default=None
        As in :func:`resolve_tracking_uri`.
    resumes : str or None, default=None
        A run id, see above.
    description : str or None, default=None
        The experiment's description (Markdown, shown on its page in the
        MLflow UI). The experiment is also marked as one of trained models
        (tag ``mlflow.experimentKind``), so that the UI opens it on its runs.

    Yields
    ------
    TrackedRun

    Raises
    ------
    TrackingError
        Before the block runs, if the store cannot be reached.
    """
    import mlflow

    uri = check_tracking_store(tracking_uri)
    mlflow.set_tracking_uri(uri)
    client = mlflow.tracking.MlflowClient()
    run_id = os.environ.pop("MLFLOW_RUN_ID", None)
    project_run = None
    if run_id and client.get_run(run_id).info.experiment_id == _DEFAULT_EXPERIMENT_ID:
        project_run, run_id = run_id, None
        tags = {**(tags or {}), PROJECT_RUN_TAG: project_run}
    if not run_id:
        experiment_id = mlflow.set_experiment(experiment).experiment_id
        _describe_experiment(client, experiment_id, description)
        if resumes and _continuable(client, resumes, experiment_id):
            if _contradicted(client, resumes, params):
                # MLflow cannot change a param: a new run, linked by RESUMES_TAG, keeps the
                # record true, and the interrupted one ends as what it was.
                client.set_terminated(resumes, "KILLED")
            else:
                run_id = resumes
    if resumes and run_id != resumes:
        tags = {**(tags or {}), RESUMES_TAG: resumes}
    active = mlflow.start_run(run_id=run_id, run_name=run_name, tags=_strings(tags))
    if project_run:
        client.set_tag(project_run, PIPELINE_RUN_TAG, active.info.run_id)
        client.set_tag(project_run, _NOTE_TAG,
                       f"This project run's pipeline recorded its work in run "
                       f"{active.info.run_id} of the experiment {experiment!r}.")
    try:
        if params:
            log_params(params)
        yield TrackedRun(active.info.run_id, active.info.experiment_id, uri)
    except BaseException as exc:
        _record_failure(exc)
        mlflow.end_run(status="FAILED")
        raise
    mlflow.end_run(status="FINISHED")


def _contradicted(client, run_id, params):
    """Whether the run ``run_id`` holds one of ``params`` with another value."""
    held = client.get_run(run_id).data.params
    return any(held.get(str(key), str(value)) != str(value)
               for key, value in (params or {}).items())


def _describe_experiment(client, experiment_id, description):
    tags = client.get_experiment(experiment_id).tags
    wanted = {_EXPERIMENT_KIND_TAG: _TRAINED_MODELS, _NOTE_TAG: description}
    for key, value in wanted.items():
        if value is not None and tags.get(key) != value:
            client.set_experiment_tag(experiment_id, key, value)


@contextlib.contextmanager
def nested_run(run_name, *, tags=None, stopped=()):
    """Start a run nested in the active one (a trial of a search, say), and end it.

    It ends ``FINISHED`` when the block ends; ``KILLED`` when the block
    raises one of the exception types ``stopped`` (a pruned trial, say);
    else ``FAILED``, with the error attached as :func:`tracked_run` does.
    The error is re-raised either way.

    Parameters
    ----------
    run_name : str
    tags : dict or None
    stopped : tuple of exception types

    Yields
    ------
    TrackedRun
    """
    import mlflow

    active = mlflow.start_run(run_name=run_name, nested=True, tags=_strings(tags))
    try:
        yield TrackedRun(active.info.run_id, active.info.experiment_id,
                         mlflow.get_tracking_uri())
    except stopped:
        mlflow.end_run(status="KILLED")
        raise
    except BaseException as exc:
        _record_failure(exc)
        mlflow.end_run(status="FAILED")
        raise
    mlflow.end_run(status="FINISHED")


def nested_runs(parent_run_id, tag, value):
    """The ids of the runs nested in ``parent_run_id`` whose tag ``tag`` is ``value``.

    Parameters
    ----------
    parent_run_id : str
    tag : str
    value : object
        Compared as a string, as MLflow stores tags.

    Returns
    -------
    list of str
        Empty where the store does not hold ``parent_run_id``.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    client = mlflow.tracking.MlflowClient()
    try:
        parent = client.get_run(parent_run_id)
    except MlflowException:
        return []
    runs = client.search_runs(
        [parent.info.experiment_id],
        f"tags.mlflow.parentRunId = '{parent_run_id}' and tags.`{tag}` = '{value}'",
    )
    return [run.info.run_id for run in runs]


def mark_run(run_id, status, tags=None):
    """End a run that is not the active one, e.g. one left ``RUNNING`` by a killed process.

    Parameters
    ----------
    run_id : str
    status : {"FINISHED", "FAILED", "KILLED"}
    tags : dict or None
        Set on it first.
    """
    import mlflow

    client = mlflow.tracking.MlflowClient()
    for key, value in _strings(tags or {}).items():
        client.set_tag(run_id, key, value)
    client.set_terminated(run_id, status)


def _strings(tags):
    """Tag values as strings, as MLflow stores them: its REST store refuses other values
    when it creates a run (``TypeError`` in ``RunTag.to_proto``), a local store does not."""
    return None if tags is None else {key: str(value) for key, value in tags.items()}


def set_tags(tags):
    """Set tags (name -> value, as strings) on the active run."""
    import mlflow

    mlflow.set_tags(_strings(tags))


def describe_run(text):
    """Set the active run's description (a line shown on its page in the MLflow UI)."""
    import mlflow

    mlflow.set_tag(_NOTE_TAG, text)


def _record_failure(exc):
    """Attach the error to the active run: an ``error`` tag and ``error.txt``."""
    import mlflow

    message = f"{type(exc).__name__}: {exc}"
    # The original error matters more than a failure to describe it (the store
    # may be the thing that broke), so a failure here is only logged.
    try:
        mlflow.set_tag("error", message[:_MAX_TAG_LENGTH])
        mlflow.log_text("".join(traceback.format_exception(exc)), "error.txt")
    except Exception as logging_error:
        logging.getLogger(__name__).warning(
            "Could not record the error in the MLflow run: %s", logging_error
        )


def _client_and_run_id():
    import mlflow

    run = mlflow.active_run()
    if run is None:
        raise TrackingError("No MLflow run is active: call this inside `with tracked_run(...)`.")
    return mlflow.tracking.MlflowClient(), run.info.run_id


def log_params(params):
    """Log parameters to the active run, as strings.

    Parameters already on the run (as ``mlflow run`` logs its ``-P``
    values) are kept: MLflow refuses to change a parameter.

    Parameters
    ----------
    params : dict
        Name -> value; ``None`` is logged as ``"None"``.
    """
    from mlflow.entities import Param

    client, run_id = _client_and_run_id()
    existing = client.get_run(run_id).data.params
    new = [Param(str(k), str(v)) for k, v in params.items() if str(k) not in existing]
    if new:
        client.log_batch(run_id, params=new)


def log_metrics(metrics, *, step=None):
    """Log final metrics (name -> number) to the active run."""
    import mlflow

    mlflow.log_metrics({name: float(value) for name, value in metrics.items()}, step=step)


def log_history(history):
    """Log per-epoch metrics, step = epoch index (0-based).

    Parameters
    ----------
    history : dict of str to list of float
        E.g. an estimator's ``history_``: ``{"loss": [...], "val_loss": [...]}``.
    """
    from mlflow.entities import Metric

    client, run_id = _client_and_run_id()
    now = int(time.time() * 1000)
    metrics = [
        Metric(name, float(value), now, epoch)
        for name, values in history.items()
        for epoch, value in enumerate(values)
    ]
    # log_batch takes at most 1000 metrics per call.
    for start in range(0, len(metrics), 1000):
        client.log_batch(run_id, metrics=metrics[start : start + 1000])


def log_dataset(name):
    """Log a bundled data set's name and file checksums as parameters, and its card.

    Parameters ``dataset`` and ``dataset_sha256.<file>`` for each file; the
    whole :func:`seqkit.datasets.dataset_info` entry as ``dataset.json``.

    Parameters
    ----------
    name : str
        A name from :func:`seqkit.datasets.list_datasets`.
    """
    import mlflow

    from seqkit.datasets import dataset_info

    info = dataset_info(name)
    log_params(
        {"dataset": name, **{f"dataset_sha256.{f}": digest for f, digest in info["sha256"].items()}}
    )
    mlflow.log_dict(info, "dataset.json")


def log_input(frame, *, source, name, context, tags=None, targets=None):
    """Log a data table as an MLflow dataset input of the active run.

    The run page's Datasets section then shows it with its source, schema,
    MLflow's digest (computed from at most the first 10,000 rows) and the
    tags, where the caller puts what MLflow's digest cannot tell: the SHA-256
    of the whole file and the row and series counts.

    Parameters
    ----------
    frame : pandas.DataFrame
        The data as read, one row per row of the file (long form).
    source : str
        Where it was read from: a path or URI, as the user gave it. A local
        path is recorded as its absolute path, which a run read from another
        folder still finds.
    name : str
    context : {"training", "evaluation"} or str
    tags : dict of str to str or None
        Added to the ``mlflow.data.context`` tag.
    targets : str or None
        The target or label column of ``frame``, if it has one.
    """
    import warnings

    import mlflow
    import mlflow.data

    with warnings.catch_warnings():
        # MLflow warns that the source's type is inferred from the URI (what we want), and
        # that integer columns cannot hold missing values (a schema of data, not of a model).
        warnings.simplefilter("ignore")
        dataset = mlflow.data.from_pandas(frame, source=_located(source), name=name,
                                          targets=targets)
        mlflow.log_input(dataset, context=context,
                         tags={key: str(value) for key, value in (tags or {}).items()})


def _located(source):
    """Where ``source``'s bytes are, as MLflow's dataset sources take it: a local path
    absolute, with ``~`` expanded as the readers expand it; a URI (``https://...``) as
    given. Of an fsspec chain (``simplecache::https://...``), which MLflow cannot resolve,
    its last link."""
    from fsspec.core import split_protocol  # here, as mlflow: 0.1 s of import otherwise

    target = source.rsplit("::", 1)[-1]
    if split_protocol(target)[0] is not None:
        return target
    return os.path.abspath(os.path.expanduser(target))


def log_artifact(path, artifact_path=None):
    """Copy a file, or a folder's files, into the active run's artifacts.

    Parameters
    ----------
    path : str or path-like
        A file (e.g. a saved plot or CSV table) or a folder (e.g. a SavedModel).
    artifact_path : str or None, default=None
        The artifact folder to put it in; ``None`` is the run's root. A folder
        keeps its name: ``log_artifact("out/model", "export")`` gives
        ``export/model/...``.
    """
    import mlflow

    path = Path(path)
    if path.is_dir():
        target = path.name if artifact_path is None else f"{artifact_path}/{path.name}"
        mlflow.log_artifacts(str(path), target)
    else:
        mlflow.log_artifact(str(path), artifact_path)
