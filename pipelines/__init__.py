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

import os

from seqkit._quiet import quiet_tensorflow

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
quiet_tensorflow()
