"""End-to-end pipelines on the bundled data: forecasting, classification and tagging.

Each pipeline loads a data set, splits it, fits a seqkit estimator, scores it
against baselines on the same test split, records everything in MLflow
(:mod:`seqkit.tracking`), exports the model and prints a summary table::

    python -m pipelines.forecasting --dataset sunspots --cell peephole_lstm
    python -m pipelines.classification --dataset japanese_vowels
    python -m pipelines.tagging --dataset japanese_ner
    python -m pipelines          # all of them, the main job

The pipelines are applications, not library code: importing this package
quietens TensorFlow's C++ logging and MLflow's artifact progress bars, unless
``TF_CPP_MIN_LOG_LEVEL`` or ``MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR`` is set.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
