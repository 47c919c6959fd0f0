"""Batch scoring: the logged pyfunc model scores a Spark DataFrame through ``spark_udf``.

A local Spark session (one core, bound to the loopback interface, no UI, no
downloaded jars) runs the model the way a cluster's executors would.
"""

import sys

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from seqkit import datasets, export
from seqkit.estimators import SequenceClassifier

pytestmark = pytest.mark.slow  # starts a JVM and Python workers that import TensorFlow


@pytest.fixture
def tracking(tmp_path, monkeypatch):
    """MLflow pointed at a SQLite store in ``tmp_path``, with an experiment of its own."""
    monkeypatch.chdir(tmp_path)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_experiment("seqkit-spark")
    yield
    mlflow.set_tracking_uri(previous)


@pytest.fixture
def spark(monkeypatch):
    """A local Spark session on one core; stopped after, its JVM too."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)  # workers run this interpreter
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    session = (
        SparkSession.builder.master("local[1]").appName("seqkit-tests")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    gateway = SparkContext._gateway
    try:
        yield session
    finally:
        session.stop()
        # The JVM exits when the gateway's standard input closes.
        gateway.shutdown()
        gateway.proc.stdin.close()
        gateway.proc.wait(60)
        SparkContext._gateway = SparkContext._jvm = None


@pytest.fixture(scope="module")
def vowels():
    """A classifier fit on 60 JapaneseVowels sequences, and 15 test sequences (14-29 steps)."""
    X_train, y_train, X_test, _ = datasets.load_classification("japanese_vowels")
    model = SequenceClassifier(units=8, epochs=3, random_state=0).fit(X_train[:60], y_train[:60])
    return model, X_test[:15]


def test_spark_udf_scores_a_table_of_sequences_like_the_estimator(tracking, spark, vowels):
    model, sequences = vowels
    assert len({len(x) for x in sequences}) > 1  # the lengths vary within each batch
    with mlflow.start_run():
        uri = export.log_model(model, table=True).model_uri

    rows = [(i, x.astype(float).tolist()) for i, x in enumerate(sequences)]
    frame = spark.createDataFrame(rows, "id long, sequences array<array<double>>")
    labels = mlflow.pyfunc.spark_udf(spark, uri, result_type="string", env_manager="local")
    probabilities = mlflow.pyfunc.spark_udf(spark, uri, result_type="array<float>",
                                            env_manager="local",
                                            params={"signature": "predict_proba"})
    scored = (frame.withColumn("label", labels("sequences"))
              .withColumn("probabilities", probabilities("sequences"))
              .orderBy("id").collect())

    assert [row.label for row in scored] == model.predict(sequences).tolist()
    np.testing.assert_allclose([row.probabilities for row in scored],
                               model.predict_proba(sequences), atol=1e-5)


def test_a_table_model_takes_pandas_rows_and_refuses_malformed_ones(tracking, vowels):
    model, sequences = vowels
    with mlflow.start_run():
        uri = export.log_model(model, table=True).model_uri
    pyfunc = mlflow.pyfunc.load_model(uri)
    table = pd.DataFrame({"sequences": [x.astype(float).tolist() for x in sequences[:4]]})
    assert pyfunc.predict(table).tolist() == model.predict(sequences[:4]).tolist()

    narrow = pd.DataFrame({"sequences": [sequences[0][:, :5].astype(float).tolist()]})
    with pytest.raises(MlflowException, match=r"a list of steps of 12 features each\. Row 0"):
        pyfunc.predict(narrow)
    empty = pd.DataFrame({"sequences": [sequences[0].astype(float).tolist(), []]})
    with pytest.raises(MlflowException, match=r"no real step: sequence 1"):
        pyfunc.predict(empty)
