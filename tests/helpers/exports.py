"""Fitted models shared by the export, serving and command-line tests, with their requests.

:func:`fitted` fits each model once per test session; :func:`requests` gives
test data as the estimator takes it and as an export takes it, and
:func:`expected` what an export must answer.
"""

import functools
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.pipeline import make_pipeline

from seqkit import export
from seqkit.preprocessing import SequenceScaler
from tests.estimators.data import (
    fast_classifier,
    fast_forecaster,
    fast_tagger,
    monthly_series,
    ragged_classification,
    tagging_tokens,
)

FEATURES = ["f0", "f1"]
"""The column names the classifier is fit on."""

SUBPROCESS_ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
BLOCK_SEQKIT = 'import sys\nsys.modules["seqkit"] = None\nsys.modules["keras"] = None\n'
"""Prepended to subprocess scripts: importing seqkit or keras there fails."""


def _covariates(rows, seed):
    return np.random.default_rng(seed).normal(size=(rows, 2)).astype(np.float32).astype(float)


@functools.cache
def fitted(name):
    """A fitted model, once per test session (fits take seconds)."""
    if name == "classifier":  # a Pipeline: the scaling goes into the graph; stacked LSTMs
        X, y = ragged_classification()  # that stream (no convolutional branch); fit on named
        X = [pd.DataFrame(x, columns=FEATURES) for x in X]  # columns, which the export lists
        return make_pipeline(SequenceScaler(), fast_classifier(num_layers=2, conv_branch=False)
                             ).fit(X, y)
    if name == "tagger":  # tokens: the vocabulary goes into the graph
        return fast_tagger(cell="elman").fit(*tagging_tokens())
    if name == "crf_tagger":  # the CRF decodes in the graph (IOB2 tags: crf="auto" puts it on)
        return fast_tagger(cell="elman", crf=True).fit(*tagging_tokens())
    if name == "bidirectional_tagger":  # numeric input, no streaming signature
        X, _ = ragged_classification()
        y = [np.where(x[:, 0] > 0, "pos", "neg") for x in X]
        return fast_tagger(cell="gru", bidirectional=True).fit(X, y)
    series = monthly_series()
    if name == "forecaster":  # window scaling, covariates
        return fast_forecaster(cell="lstm").fit(series, X=_covariates(len(series), 0))
    if name == "streaming_forecaster":  # standard scaling: has a step signature
        return fast_forecaster(scaling="standard", cell="gru").fit(series)
    if name == "quantile_forecaster":  # predict_quantiles of the levels 0.1, 0.5 and 0.9
        return fast_forecaster(cell="gru", loss="quantile").fit(series)
    raise KeyError(name)


def _pad(sequences, value, dtype):
    """Sequences of different lengths as one array, padded at the end with ``value``."""
    steps = max(len(s) for s in sequences)
    shape = np.shape(sequences[0])[1:]
    padded = np.full((len(sequences), steps, *shape), value, dtype=dtype)
    for row, sequence in zip(padded, sequences):
        row[: len(sequence)] = sequence
    return padded


def pad_numeric(sequences):
    return _pad(sequences, np.nan, np.float32)


def pad_tokens(sequences):
    return _pad(sequences, "", object).astype(str)


TOKEN_TAGGERS = ("tagger", "crf_tagger")


def export_inputs(name, raw):
    """The inputs of model ``name``'s export for ``raw`` (as its estimator takes it), padded."""
    if name in TOKEN_TAGGERS:
        return {"tokens": pad_tokens(raw)}
    if name in ("classifier", "bidirectional_tagger"):
        return {"sequences": pad_numeric(raw)}
    histories, covariates = raw
    inputs = {"history": pad_numeric([h[:, None] for h in histories])}
    if covariates is not None:
        inputs["covariates"] = pad_numeric(covariates)
    return inputs


@functools.cache
def requests(name):
    """``(raw, inputs)``: test data as the estimator takes it, and as the export takes it."""
    if name in TOKEN_TAGGERS:
        raw = [["Ada", "visited", "London"], ["Grace", "met", "an", "unknown", "Turing"],
               ["Paris"]]
    elif name in ("classifier", "bidirectional_tagger"):
        X, _ = ragged_classification(n=7, seed=1)
        raw = [x.astype(np.float32) for x in X]
    else:
        values = monthly_series(n=50, seed=3).to_numpy().astype(np.float32).astype(float)
        histories = [values[:40], values[9:30], values[20:]]
        covariates = None if name in ("streaming_forecaster", "quantile_forecaster") else [
            _covariates(len(h) + 3, i + 1) for i, h in enumerate(histories)]
        raw = (histories, covariates)
    return raw, export_inputs(name, raw)


def predictions(name, raw):
    """``{signature: {output: array}}``: the estimator's answers for ``raw``, as an export
    of model ``name`` must give them."""
    model = fitted(name)
    if name == "classifier":
        return {"serving_default": {"labels": model.predict(raw).astype(str)},
                "predict_proba": {"probabilities": model.predict_proba(raw)}}
    if name in (*TOKEN_TAGGERS, "bidirectional_tagger"):
        labels = [np.asarray(row).astype(str) for row in model.predict(raw)]
        lengths = np.array([len(row) for row in labels], dtype=np.int32)
        probabilities = model.predict_proba(raw)
        return {"serving_default": {"labels": _pad(labels, "", object).astype(str),
                                    "lengths": lengths},
                "predict_proba": {"probabilities": _pad(probabilities, 0.0, float),
                                  "lengths": lengths}}
    histories, covariates = raw
    forecasts = model.predict(y=histories, X=covariates)
    answers = {"serving_default": {"forecasts": np.stack(forecasts)[..., None]}}
    if name == "quantile_forecaster":
        quantiles = model.predict_quantiles(y=histories, X=covariates)
        answers["predict_quantiles"] = {"quantiles": np.stack(quantiles)[:, :, None, :]}
    return answers


@functools.cache
def expected(name):
    """``{signature: {output: array}}`` that the export must give for :func:`requests`."""
    return predictions(name, requests(name)[0])


def assert_outputs_equal(got, want, what):
    """Strings and ints exactly, floats to 1e-5."""
    assert set(got) == set(want), f"{what}: outputs {sorted(got)}, expected {sorted(want)}"
    for key, value in want.items():
        if value.dtype.kind in "fc":
            np.testing.assert_allclose(got[key], value, atol=1e-5, rtol=1e-5,
                                       err_msg=f"{what}: {key}")
        else:
            np.testing.assert_array_equal(np.asarray(got[key]), value, err_msg=f"{what}: {key}")


def fake_export(folder, **manifest):
    folder.mkdir()
    manifest = {"format": "seqkit-export", "format_version": export.FORMAT_VERSION,
                "seqkit_version": "0.1.0", "signatures": {"serving_default": {}}, **manifest}
    (folder / export.MANIFEST).write_text(json.dumps(manifest))
    return folder


@functools.cache
def exported(name, folder):
    """Export :func:`fitted` ``name`` into ``folder`` (once per folder)."""
    return export.export_saved_model(fitted(name), Path(folder) / name)
