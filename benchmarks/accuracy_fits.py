"""The accuracy suite's fits: one estimator (a seqkit default or a baseline) fit on one data
set, and its test predictions.

:func:`run` is what ``benchmarks/accuracy.py`` hands to each of its worker processes (or
runs itself, with ``--jobs 1``). A worker that shares the cores with others runs
TensorFlow on one thread: at these data sizes two processes of one thread each fit 1.1 to
1.7 times as many fits a minute as one process on two threads (see the README's accuracy
section), so the suite gives each core a fit of its own rather than each fit both cores.
"""

import functools
import sys
import time

import numpy as np
import pandas as pd
from accuracy_baselines import (
    classification_baselines,
    forecast_panel,
    forecasting_baselines,
    tagging_baselines,
)
from accuracy_data import (
    load_bundled_classification,
    load_japanese_ner,
    load_panel,
    load_pos,
    load_ucr,
    load_watch_segmentation,
    split_panel,
)
from sklearn.base import clone

from seqkit._quiet import quiet_tensorflow

SEQKIT = "seqkit"
"""The name of seqkit's default estimator among the estimators of a data set."""
POS_QUICK_SENTENCES = 2000
"""Part-of-speech sentences of the quick suite (of about 20,000)."""
BUNDLED_CLASSIFICATION = ("japanese_vowels", "basic_motions")
"""The classification sets read from ``data/`` rather than the UCR package."""


def say(task, text):
    """One progress line on standard error, ``[task] text``."""
    print(f"[{task}] {text}", file=sys.stderr, flush=True)


@functools.lru_cache(maxsize=2)
def load(task, name, quick):
    """The data of one set: ``(X_train, y_train, X_test, y_test)`` for classification and
    tagging; ``(panel, train, test)`` for forecasting (``name`` ends in ``_short`` for the
    panel's short cut). The two latest sets a process loaded are kept."""
    if task == "classification":
        if name in BUNDLED_CLASSIFICATION:
            return load_bundled_classification(name)
        return load_ucr(name)
    if task == "forecasting":
        panel = load_panel(name.removesuffix("_short"), short=name.endswith("_short"))
        return (panel, *split_panel(panel.data, panel.horizon))
    if name == "part_of_speech":
        return load_pos(limit=POS_QUICK_SENTENCES if quick else None)
    if name == "japanese_ner":
        return load_japanese_ner()
    return load_watch_segmentation()


def tagging_kind(name):
    """The kind of steps of a tagging set: ``"numeric"`` or ``"tokens"``."""
    return "numeric" if name == "watch_segmentation" else "tokens"


def baseline_names(task, name):
    """The baselines a set of ``task`` is compared with, in table order."""
    if task == "classification":
        return list(classification_baselines())
    if task == "forecasting":
        return list(forecasting_baselines(season_length=1))
    return list(tagging_baselines(tagging_kind(name)))


def _series(train, freq):
    """The training part of a panel as ``{unique_id: pandas.Series}`` indexed by ``ds``."""
    return {unique_id: pd.Series(part["y"].to_numpy(), index=pd.DatetimeIndex(
        part["ds"], freq=freq)) for unique_id, part in train.groupby("unique_id", sort=False)}


def _seqkit_forecasts(panel, train, seed):
    from seqkit import SequenceForecaster

    series = _series(train, panel.freq)
    model = SequenceForecaster(horizon=panel.horizon, season_length=panel.season_length,
                               random_state=seed).fit(list(series.values()))
    parts = [pd.DataFrame({"unique_id": unique_id, "ds": forecast.index,
                           "y_pred": np.asarray(forecast, float).reshape(-1)})
             for unique_id, forecast in zip(series, model.predict())]
    return pd.concat(parts, ignore_index=True)


def _predictions(task, name, what, seed, quick):
    if task == "forecasting":
        panel, train, _ = load(task, name, quick)
        if what == SEQKIT:
            return _seqkit_forecasts(panel, train, seed)
        forecaster = forecasting_baselines(panel.season_length)[what]
        return forecast_panel(forecaster, train, panel.horizon, panel.freq)
    X_train, y_train, X_test, _ = load(task, name, quick)
    if what == SEQKIT:
        from seqkit import SequenceClassifier, SequenceTagger

        kind = SequenceClassifier if task == "classification" else SequenceTagger
        estimator = kind(random_state=seed)
    elif task == "classification":
        estimator = clone(classification_baselines()[what])
    else:
        estimator = clone(tagging_baselines(tagging_kind(name))[what])
    return estimator.fit(X_train, y_train).predict(X_test)


@functools.cache
def one_tensorflow_thread():
    """Run this process's TensorFlow on one thread (once, before its first operation)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def run(task, name, what, seed, quick, one_thread):
    """Fit ``what`` (:data:`SEQKIT` or a baseline's name) on set ``name`` of ``task`` and
    predict its test part, printing one progress line with the time the fit took.

    Parameters
    ----------
    task : {"classification", "forecasting", "tagging"}
    name : str
        A set of the task (``accuracy.SETS``).
    what : str
        :data:`SEQKIT`, or one of :func:`baseline_names`.
    seed : int or None
        seqkit's ``random_state``; None for a baseline.
    quick : bool
        The quick suite's data (2,000 part-of-speech sentences).
    one_thread : bool
        Run TensorFlow on one thread in this process (a worker that shares the cores).

    Returns
    -------
    list or ndarray or pandas.DataFrame
        The test predictions: a label per sequence, tags per sequence, or a forecast
        frame with columns ``unique_id, ds, y_pred``.
    """
    quiet_tensorflow()
    if one_thread:
        one_tensorflow_thread()
    load(task, name, quick)
    start = time.perf_counter()
    predictions = _predictions(task, name, what, seed, quick)
    label = f"{what} seed {seed}" if what == SEQKIT else what
    say(task, f"{name} {label}: {time.perf_counter() - start:.0f} s")
    return predictions
