"""Serving latency: MLflow's stock Keras flavour against seqkit's pyfunc, over HTTP.

One fitted :class:`~seqkit.estimators.SequenceClassifier` is logged twice in
one run: with ``mlflow.tensorflow.log_model`` (MLflow's stock TensorFlow
flavour, whose pyfunc runs Keras' ``model.predict``) and with
:func:`seqkit.export.log_model` (a pyfunc that calls the SavedModel signature
directly). Both are served with ``mlflow models serve --env-manager local`` on
127.0.0.1, one worker each; after a warm-up, the client sends the same
``1 x 50``-step request to one and then the other, alternately, over a
kept-alive connection, and times each answer. Both answer with the class
probabilities (seqkit's with ``params={"signature": "predict_proba"}``), and
their answers are checked against the estimator. The table also gives the
model call alone: the SavedModel signature in this process.

Run: ``python benchmarks/serving.py`` (about 2 minutes on 2 cores); it prints a
markdown table and writes ``benchmarks/RESULTS-serving.md``. ``--requests``
sets the timed requests per server.
"""

import argparse
import http.client
import json
import os
import platform
import socket
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import mlflow  # noqa: E402
import numpy as np  # noqa: E402

from seqkit import export  # noqa: E402
from seqkit.cells import PeepholeLSTM  # noqa: E402
from seqkit.cli import start_server, stop_server  # noqa: E402
from seqkit.estimators import SequenceClassifier  # noqa: E402
from seqkit.networks import PaddingMask  # noqa: E402

STEPS, FEATURES, UNITS = 50, 3, 32
START_TIMEOUT = 240  # seconds for a server to answer /ping


def fitted_classifier(seed):
    """A classifier fit for one epoch on 256 random sequences (accuracy is not the point)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(256, STEPS, FEATURES)).astype(np.float32)
    y = np.where(x[:, :, 0].mean(axis=1) > 0, "up", "down")
    return SequenceClassifier(units=UNITS, epochs=1, random_state=seed).fit(x, y)


def log_stock_model(model):
    """Log ``model`` in MLflow's ``tensorflow`` flavour, with the same hand-written signature.

    The seqkit layers travel as ``custom_objects`` (pickled by reference, so
    the server imports them from the installed seqkit).
    """
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec

    signature = ModelSignature(
        inputs=Schema([TensorSpec(np.dtype("float32"), (-1, -1, FEATURES))]),
        outputs=Schema([TensorSpec(np.dtype("float32"), (-1, model.outputs[0].shape[-1]))]),
    )
    custom = {"PaddingMask": PaddingMask, "PeepholeLSTM": PeepholeLSTM}
    return mlflow.tensorflow.log_model(model, name="stock", signature=signature,
                                       custom_objects=custom).model_uri


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Client:
    """A kept-alive JSON connection to one server."""

    def __init__(self, port):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method, path, body=None):
        self.connection.request(method, path, body=body,
                                headers={"Content-Type": "application/json"})
        response = self.connection.getresponse()
        return response.status, response.read()

    def wait(self, process, log):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                sys.exit(f"a server exited with status {process.returncode}:\n"
                         + Path(log).read_text(errors="replace")[-3000:])
            try:
                if self.call("GET", "/ping")[0] == 200:
                    return
            except OSError:
                self.connection.close()
            time.sleep(0.5)
        sys.exit("a server did not answer /ping in time")

    def timed(self, body):
        start = time.perf_counter()
        status, answer = self.call("POST", "/invocations", body)
        seconds = time.perf_counter() - start
        if status != 200:
            sys.exit(f"request failed ({status}): {answer[:500]}")
        return seconds, np.asarray(json.loads(answer)["predictions"])


def model_call_seconds(estimator, x, calls):
    """Median seconds of the SavedModel signature called in this process."""
    with tempfile.TemporaryDirectory() as folder:
        signature = export.load_saved_model(
            export.export_saved_model(estimator, Path(folder) / "model"), "predict_proba")
        for _ in range(10):
            signature(sequences=x)
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            signature(sequences=x)
            times.append(time.perf_counter() - start)
    return float(np.median(times))


def serve_both(estimator, folder, requests, seed):
    """Log, serve and time both models; returns ``{name: seconds per request}``."""
    mlflow.set_tracking_uri(f"sqlite:///{folder}/mlflow.db")
    with mlflow.start_run():
        uris = {"stock": log_stock_model(estimator.model_),
                "seqkit": export.log_model(estimator, name="seqkit").model_uri}
    x = np.random.default_rng(seed + 1).normal(size=(1, STEPS, FEATURES)).astype(np.float32)
    bodies = {"stock": json.dumps({"inputs": x.tolist()}),
              "seqkit": json.dumps({"inputs": x.tolist(),
                                    "params": {"signature": "predict_proba"}})}
    want = estimator.predict_proba(x)
    ports = {name: free_port() for name in uris}
    log = open(Path(folder) / "servers.log", "wb")
    servers = {name: start_server(mlflow.artifacts.download_artifacts(uri), port=ports[name],
                                  output=log)
               for name, uri in uris.items()}
    try:
        clients = {name: Client(port) for name, port in ports.items()}
        for name, client in clients.items():
            client.wait(servers[name], log.name)
        times = {name: [] for name in clients}
        for i in range(20 + requests):  # the first 20 warm up
            for name, client in clients.items():
                seconds, answer = client.timed(bodies[name])
                if i >= 20:
                    times[name].append(seconds)
                np.testing.assert_allclose(answer, want, atol=1e-5)
        return times
    finally:
        for server in servers.values():
            stop_server(server)
        log.close()


def table(times, model_call):
    rows = [
        ("MLflow `tensorflow` flavour (stock, Keras `model.predict`)", times["stock"]),
        ("seqkit pyfunc (SavedModel signature)", times["seqkit"]),
    ]
    lines = ["| served model | median ms | p90 ms |", "|---|---:|---:|"]
    for name, seconds in rows:
        lines.append(f"| {name} | {1000 * np.median(seconds):.1f} | "
                     f"{1000 * np.percentile(seconds, 90):.1f} |")
    lines.append(f"| model call alone, in-process (SavedModel signature) | "
                 f"{1000 * model_call:.2f} | |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="timed requests per server")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=str(Path(__file__).with_name("RESULTS-serving.md")))
    args = parser.parse_args(argv)
    start = time.perf_counter()
    estimator = fitted_classifier(args.seed)
    x = np.random.default_rng(args.seed + 1).normal(size=(1, STEPS, FEATURES)).astype(np.float32)
    model_call = model_call_seconds(estimator, x, args.requests)
    with tempfile.TemporaryDirectory() as folder:
        times = serve_both(estimator, folder, args.requests, args.seed)
    text = table(times, model_call)
    print(text)
    report = (
        "# Serving latency\n\n"
        f"One `1 x {STEPS}`-step request ({FEATURES} features) to a SequenceClassifier "
        f"(peephole LSTM, {UNITS} units), served by `mlflow models serve --env-manager local` "
        "on 127.0.0.1 with one worker; the two servers answered alternately over kept-alive "
        f"connections, {args.requests} timed requests each after 20 warm-up ones; both return "
        "the class probabilities (checked against the estimator to 1e-5).\n\n"
        f"{text}\n\n"
        f"Machine: {platform.machine()}, {os.cpu_count()} cores; Python "
        f"{platform.python_version()}, MLflow {mlflow.__version__}. "
        f"Whole run {time.perf_counter() - start:.0f} s.\n\n"
        "Command: `python benchmarks/serving.py`\n"
    )
    Path(args.output).write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
