"""Writing an export: from a fitted model to its description, its graph and a SavedModel folder."""

import contextlib
import dataclasses
import json
import os
from pathlib import Path

from seqkit import _files
from seqkit.exceptions import ExportError, InputTypeError
from seqkit.export.manifest import MANIFEST, make_manifest, spec_dict


def check_path(path, owner):
    """Refuse a ``path`` argument of ``owner`` that is not a path, before any work is done."""
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise InputTypeError(f"The 'path' argument of {owner} must be a path (a non-empty str "
                             f"or os.PathLike). Got {path!r} instead.")


def serving_spec(model, owner="export_saved_model"):
    """The :class:`~seqkit.export.spec.ServingSpec` of an estimator, or of a Pipeline of a
    :class:`~seqkit.preprocessing.SequenceScaler` then a classifier or numeric tagger (the
    scaling joins the description). ``owner`` names the function in messages.

    Raises
    ------
    InputTypeError
        For any other model.
    sklearn.exceptions.NotFittedError
        If the estimator or the scaler is not fitted.
    """
    from sklearn.pipeline import Pipeline
    from sklearn.utils.validation import check_is_fitted

    from seqkit._feature_names import feature_names_of
    from seqkit.preprocessing import SequenceScaler

    steps = list(model.named_steps.values()) if isinstance(model, Pipeline) else [model]
    scaler = steps[0] if len(steps) == 2 else None
    estimator = steps[-1]
    if (len(steps) > 2 or not callable(getattr(estimator, "serving_spec", None))
            or (len(steps) == 2 and not isinstance(scaler, SequenceScaler))):
        got = ([type(step).__name__ for step in steps] if isinstance(model, Pipeline)
               else f"{type(model).__name__} {model!r}" if isinstance(model, (str, os.PathLike))
               else type(model).__name__)
        raise InputTypeError(
            f"The 'model' argument of {owner} must be a fitted seqkit estimator, or a "
            f"Pipeline of a SequenceScaler then a SequenceClassifier or SequenceTagger. Got {got}."
        )
    spec = estimator.serving_spec()
    if scaler is None:
        return spec
    if spec.kind == "forecaster" or spec.tokens:
        raise InputTypeError(
            "A SequenceScaler can only precede a classifier or a numeric tagger in an export: "
            f"it scales numeric sequences. Got it before {type(estimator).__name__}."
        )
    check_is_fitted(scaler)
    return dataclasses.replace(spec, scaling=(scaler.mean_, scaler.scale_),
                               feature_names=feature_names_of(scaler) or spec.feature_names)


def build_graph(spec):
    """The :class:`~seqkit.export.graph.Graph` of ``spec``'s kind.

    The graph modules import TensorFlow, so they are imported here, when a
    graph is built: ``import seqkit.export`` stays light for the command line.
    """
    from seqkit.export.forecaster import ForecasterGraph
    from seqkit.export.labels import ClassifierGraph, TaggerGraph

    graphs = {"classifier": ClassifierGraph, "tagger": TaggerGraph,
              "forecaster": ForecasterGraph}
    return graphs[spec.kind](spec)


@contextlib.contextmanager
def staged_directory(final):
    """Yield an empty folder next to ``final`` that replaces ``final`` if the block succeeds.

    An interrupted or failed block leaves ``final`` as it was (a previous
    export stays intact); the staging folder is removed either way.

    Parameters
    ----------
    final : path-like
        Where the folder ends up. An existing one is replaced only if it is
        empty or a seqkit export.
    """
    final = Path(final)
    if final.exists() and not (final.is_dir() and (not any(final.iterdir())
                                                   or (final / MANIFEST).is_file())):
        raise ExportError(
            f"{final} exists and is not a seqkit export; refusing to replace it. "
            "Choose a new folder, or remove it first."
        )
    with _files.staged_directory(final) as stage:
        yield stage


def export_saved_model(model, path):
    """Export a fitted estimator as a TensorFlow SavedModel that runs without seqkit.

    Parameters
    ----------
    model : fitted estimator or Pipeline
        A :class:`~seqkit.estimators.SequenceClassifier`,
        :class:`~seqkit.estimators.SequenceTagger` or
        :class:`~seqkit.estimators.SequenceForecaster`; or a ``Pipeline`` of a
        :class:`~seqkit.preprocessing.SequenceScaler` then a classifier or
        numeric tagger (the scaling goes into the graph).
    path : path-like
        The folder to write. It is written next to its place and then moved
        there, so an interrupted export leaves a previous one intact.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    InputTypeError
        For anything but the models above.
    sklearn.exceptions.NotFittedError
        If the model is not fitted.
    ExportError
        If ``path`` exists and is neither empty nor a seqkit export.

    Notes
    -----
    The signatures and the padding conventions are described in
    :mod:`seqkit.export`.
    """
    return write_export(model, path, "export_saved_model")


def write_export(model, path, owner):
    """:func:`export_saved_model`, refusing a bad ``model`` or ``path`` in ``owner``'s name."""
    check_path(path, owner)
    write(build_graph(serving_spec(model, owner)), path)
    return Path(path)


def write(graph, path):
    """Write the SavedModel and the manifest of ``graph`` to ``path`` (staged).

    The signatures are traced inside :func:`seqkit.cells.shape_agnostic_inference`:
    seqkit's recurrent layers run in them as uncompiled graph loops, which
    take any batch and length, rather than as the fast path's XLA loop, which
    compiles a program for every new ``(batch, length)`` shape. Requests come
    in every shape, so the compile was the cost: on a stream of 60 requests of
    batch 1-8 and length 5-300, the PeepholeLSTM classifier answered at p50
    155-158 ms on the XLA loop, against 4-5 ms for Keras' LSTM; on the graph
    loop at 3.1-3.5 ms against 3.7-4.2 for Keras' LSTM, and ElmanRNN at 1.6
    against 3.1-3.3 for SimpleRNN (``benchmarks/serving.py``, load average
    2-3.5 from other work). The numbers are the same to float rounding
    (``tests/export/test_parity.py``, ``tests/export/test_mixed_shapes.py``).
    Length and batch buckets that bound the compiles were measured and not
    kept yet: each bucket compiles in 155-250 ms (batches 1-8 in powers of 2 by
    lengths 8-512: 28 buckets, 5.3 s), and without a warm-up when the server
    loads the model each first request of a bucket pays it. Warm, the XLA loop
    answers long requests 3-4x faster than the graph loop (batch 8, 256
    steps: 1.6 against 7.2 ms), so buckets warmed at load are the next step.
    """
    import keras
    import tensorflow as tf

    from seqkit.cells import shape_agnostic_inference

    archive = keras.export.ExportArchive()
    archive.track(graph.network)
    for resource in graph.resources:
        archive.track(resource)
    signatures = {}
    with shape_agnostic_inference():
        for name, (function, specs) in graph.endpoints().items():
            traced = archive.add_endpoint(name, function, specs).get_concrete_function(*specs)
            signatures[name] = {
                "inputs": {spec.name: spec_dict(spec) for spec in tf.nest.flatten(specs)},
                "outputs": {key: spec_dict(out)
                            for key, out in traced.structured_outputs.items()},
            }
        manifest = make_manifest(graph.manifest(), signatures)
        with staged_directory(path) as stage:
            archive.write_out(str(stage), verbose=False)
            (stage / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n",
                                          encoding="utf-8")
