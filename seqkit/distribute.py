"""Training on several machines with TensorFlow's own distribution.

TensorFlow tells each process of a cluster who it is through the ``TF_CONFIG``
environment variable: the addresses of all workers and this process's place
among them. Every worker runs the same script; :func:`strategy_from_environment`
reads ``TF_CONFIG`` and returns a ``tf.distribute.MultiWorkerMirroredStrategy``
when it names more than one worker, and TensorFlow's default (one-process)
strategy otherwise, so one script serves a laptop and a cluster.

A network built and compiled under :func:`distributed` is mirrored on every
worker; :func:`seqkit.training.fit` then runs each step on all workers, every
worker on its share of the batch, and averages their gradients before every
update, so the weights stay identical everywhere. Estimators work the same way:
their ``fit`` builds, compiles and trains inside the ``with`` block.

``batch_size`` is global: a step consumes ``batch_size`` samples in all,
``batch_size / n_workers`` on each worker. Training on ``n`` workers with batch
size ``B`` therefore computes the same updates as one process with batch size
``B``, up to rounding (see ``docs/cluster.md`` for what was measured).

Examples
--------
The same script on every machine, each started with its own ``TF_CONFIG``::

    from seqkit import distribute, networks, training

    strategy = distribute.strategy_from_environment()  # first, before any TF op
    with distribute.distributed(strategy):
        model = networks.build_many_to_one(3, 1, units=32, output_activation=None)
        training.compile_model(model, loss="mse")
        training.fit(model, x, y, batch_size=64, seed=0)
    if distribute.is_chief(strategy):
        model.save("model.keras")
"""

import contextlib
import json
import os

import tensorflow as tf

from seqkit.exceptions import InvalidParameterError


def _cluster_size():
    """The number of workers (``chief`` and ``worker`` tasks) ``TF_CONFIG`` names, after
    checking that this task is one of them, as a multi-worker strategy needs."""
    try:
        config = json.loads(os.environ.get("TF_CONFIG") or "{}")
        cluster, task = config.get("cluster", {}), config.get("task", {})
        others = sorted(set(cluster) - {"chief", "worker"})
        size = sum(len(cluster.get(job, [])) for job in ("chief", "worker"))
        kind, index = task.get("type"), task.get("index", 0)
    except (ValueError, AttributeError, TypeError):
        raise InvalidParameterError(
            "The TF_CONFIG environment variable must be JSON of the form "
            '{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", '
            f'"index": 0}}}}. Got {os.environ["TF_CONFIG"]!r}.'
        ) from None
    # Else each machine of a cluster would train alone, as if no cluster had been named.
    if sum(len(tasks) for tasks in cluster.values()) <= 1:
        return size
    if others:
        raise InvalidParameterError(
            f"The TF_CONFIG environment variable must name chief and worker tasks only: "
            f"seqkit trains with a MultiWorkerMirroredStrategy, which has no {others} tasks "
            f"(parameter servers, evaluators). Got {os.environ['TF_CONFIG']!r}.")
    if not (kind in ("chief", "worker") and isinstance(index, int)
            and 0 <= index < len(cluster.get(kind, []))):
        raise InvalidParameterError(
            f"The TF_CONFIG environment variable's task must be one of its cluster's tasks: a "
            f"type of 'chief' or 'worker' and an index into that list. Got the task {task!r} "
            f"for the cluster {cluster!r}.")
    return size


def strategy_from_environment():
    """The distribution strategy ``TF_CONFIG`` asks for.

    Call it at the start of the program, before any TensorFlow operation runs
    (building a network, fitting, even ``tf.constant``): a multi-worker
    strategy configures TensorFlow's runtime for collective communication,
    which is only possible before that runtime starts. Importing seqkit,
    Keras or TensorFlow is fine.

    Returns
    -------
    tf.distribute.Strategy
        A ``tf.distribute.MultiWorkerMirroredStrategy`` when ``TF_CONFIG``
        names more than one worker (its creation waits until every worker has
        started); otherwise ``tf.distribute.get_strategy()``, TensorFlow's
        default strategy, under which training runs as in a single process.

    Raises
    ------
    InvalidParameterError
        If ``TF_CONFIG`` is not valid JSON, names tasks other than ``chief``
        and ``worker`` (a parameter-server cluster), or gives a task that is
        not one of its cluster's.
    RuntimeError
        If TensorFlow's runtime had already started.
    """
    if _cluster_size() <= 1:
        return tf.distribute.get_strategy()
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as err:
        raise RuntimeError(
            "A MultiWorkerMirroredStrategy must be created at the start of the program, "
            "before any TensorFlow operation runs: call "
            f"seqkit.distribute.strategy_from_environment() first. TensorFlow says: {err}."
        ) from None


@contextlib.contextmanager
def distributed(strategy=None):
    """Build, compile and train under ``strategy``.

    Networks built and compiled inside the ``with`` block keep their weights
    on every replica of the strategy; :func:`seqkit.training.fit` (and so an
    estimator's ``fit``) trains them on all replicas, wherever it is called.

    Parameters
    ----------
    strategy : tf.distribute.Strategy or None
        None: :func:`strategy_from_environment`, which must then be the first
        TensorFlow work of the program.

    Yields
    ------
    tf.distribute.Strategy
        The strategy in use.

    Examples
    --------
    >>> with distributed() as strategy:
    ...     strategy.num_replicas_in_sync
    1
    """
    strategy = strategy_from_environment() if strategy is None else strategy
    with strategy.scope():
        yield strategy


def is_chief(strategy=None):
    """Whether this process should write the files of a distributed run.

    Every worker holds the same weights after training; let one of them, the
    chief, save models, exports and reports (:func:`seqkit.training.fit` does
    so with its checkpoints).

    Parameters
    ----------
    strategy : tf.distribute.Strategy or None
        None: the strategy of the current scope.

    Returns
    -------
    bool
        True on the chief worker (the ``chief`` task, else worker 0) and
        whenever training runs in one process.
    """
    strategy = tf.distribute.get_strategy() if strategy is None else strategy
    return bool(strategy.extended.should_checkpoint)
