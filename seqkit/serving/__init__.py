"""Serving exported models: the MLflow pyfunc model and the scoring app.

``serving_model.py`` is the pyfunc model MLflow copies into every model that
:func:`seqkit.export.log_model` logs ("models from code"): it imports only
TensorFlow, NumPy, pandas and MLflow, never seqkit, so it is loaded by path,
not imported from here. :mod:`seqkit.serving.app` is the scoring app that
``seqkit serve`` runs, behind a request body limit.
"""
