"""End-to-end pipelines on the bundled data: forecasting, classification and tagging.

Each pipeline loads a data set, splits it, fits a seqkit estimator, scores it
against baselines on the same test split, records everything in MLflow
(:mod:`seqkit.tracking`), exports the model and prints a summary table::

    python -m pipelines.forecasting --dataset sunspots --cell peephole_lstm
    python -m pipelines.classification --dataset japanese_vowels
    python -m pipelines.tagging --dataset japanese_ner
    python -m pipelines          # all of them, the main job

The pipelines are applications, not library code: importing this package
keeps TensorFlow, absl and MLflow from logging below their warnings (and
TensorFlow's C++ runtime below its fatal errors) and MLflow's artifact
progress bars off, unless ``TF_CPP_MIN_LOG_LEVEL``, ``MLFLOW_LOGGING_LEVEL``
or ``MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR`` is set: the output is the
progress, the tables and the paths.
"""

import contextlib
import logging
import os
import sys

_QUIET_TF = "TF_CPP_MIN_LOG_LEVEL" not in os.environ
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")


@contextlib.contextmanager
def _stderr_closed():
    """File descriptor 2 points to the null device: what C++ code prints there is dropped
    (TensorFlow's runtime prints its start-up notes before any log level applies)."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


if _QUIET_TF and "tensorflow" not in sys.modules:
    with _stderr_closed():
        import tensorflow  # noqa: F401

for _name in ("tensorflow", "absl"):
    logging.getLogger(_name).setLevel(logging.ERROR)
