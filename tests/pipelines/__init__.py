"""Tests of the pipelines/ package and the MLflow project."""
