"""Latency on mixed shapes: seqkit's cells against Keras' built-ins, as users meet them.

Every request has its own ``(batch, length)``. For each estimator kind
(classifier, tagger, forecaster) and each pair of cells (``PeepholeLSTM``
against Keras' ``LSTM``, ``ElmanRNN`` against ``SimpleRNN``), one estimator of
each cell is fit on the same data (one epoch: accuracy is not the point) and
exported; then, in this process, the two exports' ``serving_default``
signatures answer the same stream of 60 requests (batch 1-8, length 5-300,
seeded), alternately, after loading and one warm-up call; the stream is
replayed ``--passes`` times (3) and p50/p99 taken over all answers. The same stream
goes to ``seqkit serve`` (MLflow's scoring server behind seqkit's app, one
worker, 127.0.0.1, kept-alive connections) for the classifiers, every server
answering each request in turn. ``predict`` on a new shape: each estimator,
after one ``predict``, predicts one sequence of each of 10 lengths it has
not seen, alternately. Rows give p50 and p99 (medians for ``predict``) and
peak resident memory: of a process that loads the export and answers the
stream (in-process rows), of the server (HTTP rows).

Run: ``python benchmarks/serving.py`` (about 6 minutes on 2 cores); it prints a
markdown table and writes ``benchmarks/RESULTS-serving.md``. ``--quick`` runs
the classifiers only. Timings move with the machine's load: the load average
is printed beside them.
"""

import argparse
import http.client
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import mlflow  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _pairs import (  # noqa: E402
    PAIRS,
    estimator_cell,
    estimator_name,
    mixed_stream,
    p50_p99,
    peak_rss_mb,
)

from seqkit import export  # noqa: E402
from seqkit.cli import start_server, stop_server  # noqa: E402
from seqkit.estimators import SequenceClassifier, SequenceForecaster, SequenceTagger  # noqa: E402

UNITS, STEPS = 32, 50
FEATURES = {"classifier": 3, "tagger": 3, "forecaster": 1}
LOOKBACK = 5
START_TIMEOUT = 240  # seconds for a server to answer /ping


def fitted(kind, cell, seed):
    """An estimator of ``kind`` on ``cell``, fit for one epoch on seeded random data."""
    rng = np.random.default_rng(seed)
    params = {"cell": estimator_name(cell), "units": UNITS, "epochs": 1, "random_state": seed}
    with estimator_cell(cell):
        if kind == "forecaster":
            values = np.cumsum(rng.normal(size=400))
            series = pd.Series(values, index=pd.date_range("1990-01-01", periods=400, freq="MS"))
            return SequenceForecaster(lookback=LOOKBACK, horizon=3, scaling="standard",
                                      **params).fit(series)
        x = rng.normal(size=(80, STEPS, FEATURES[kind])).astype(np.float32)
        if kind == "classifier":
            return SequenceClassifier(**params).fit(x, np.where(x[:, :, 0].mean(1) > 0, "a", "b"))
        return SequenceTagger(**params).fit(list(x), [np.where(s[:, 0] > 0, "p", "n") for s in x])


def input_name(kind):
    return "history" if kind == "forecaster" else "sequences"


def interleaved(callers, stream, passes):
    """Seconds of each caller per request; the order of the callers turns every request."""
    for call in callers.values():  # the warm-up call
        call(stream[0][:1, :7])
    times = {name: [] for name in callers}
    names = list(callers)
    for i, request in enumerate(stream * passes):
        for name in names[i % len(names):] + names[:i % len(names)]:
            start = time.perf_counter()
            callers[name](request)
            times[name].append(time.perf_counter() - start)
    return times


RSS_SCRIPT = """
import sys
sys.path.insert(0, {bench!r})
from _pairs import mixed_stream, peak_rss_mb
from seqkit import export
signature = export.load_saved_model({folder!r})
for request in mixed_stream({seed}, {features}):
    signature(**{{{name!r}: request}})
print(peak_rss_mb())
"""


def export_rss_mb(folder, kind, seed):
    """Peak RSS of a fresh process that loads the export and answers the stream."""
    script = RSS_SCRIPT.format(bench=str(Path(__file__).parent), folder=str(folder), seed=seed,
                               features=FEATURES[kind], name=input_name(kind))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    return float(result.stdout.split()[-1])


def in_process_rows(kind, pair, folder, seed, rss, passes):
    """``{cell: (p50, p99, rss)}`` for the two exports of ``pair``; the estimators too."""
    estimators = {cell: fitted(kind, cell, seed) for cell in pair}
    paths = {cell: export.export_saved_model(est, Path(folder) / f"{kind}-{cell}")
             for cell, est in estimators.items()}
    signatures = {cell: export.load_saved_model(path) for cell, path in paths.items()}
    name = input_name(kind)
    stream = mixed_stream(seed, FEATURES[kind])
    times = interleaved({cell: (lambda x, s=s: s(**{name: x})) for cell, s in
                         signatures.items()}, stream, passes)
    rows = {cell: (*p50_p99(times[cell]),
                   export_rss_mb(paths[cell], kind, seed) if rss else float("nan"))
            for cell in pair}
    return rows, estimators, paths


def predict_new_shape(estimators, kind, seed):
    """``{cell: median seconds}`` of ``predict`` on one sequence of each of 10 new lengths."""
    rng = np.random.default_rng(seed + 7)
    for est in estimators.values():
        est.predict(list(rng.normal(size=(2, STEPS, FEATURES[kind])).astype(np.float32)))
    lengths = [11, 23, 37, 61, 97, 131, 173, 211, 257, 293]
    callers = {cell: est.predict for cell, est in estimators.items()}
    stream = [rng.normal(size=(1, n, FEATURES[kind])).astype(np.float32) for n in lengths]
    times = {cell: [] for cell in callers}
    for i, x in enumerate(stream):
        for cell in (list(callers) if i % 2 == 0 else list(callers)[::-1]):
            start = time.perf_counter()
            callers[cell](list(x))
            times[cell].append(time.perf_counter() - start)
    return {cell: 1000 * float(np.median(t)) for cell, t in times.items()}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Client:
    """A kept-alive JSON connection to one server."""

    def __init__(self, port):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

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

    def predict(self, x):
        status, answer = self.call("POST", "/invocations", json.dumps({"inputs": x.tolist()}))
        if status != 200:
            sys.exit(f"request failed ({status}): {answer[:500]}")
        return answer


def http_rows(estimators, folder, seed, passes):
    """``{cell: (p50, p99, server peak RSS)}`` of ``seqkit serve`` answering the stream."""
    mlflow.set_tracking_uri(f"sqlite:///{folder}/mlflow.db")
    with mlflow.start_run():
        uris = {cell: export.log_model(est, name=cell).model_uri
                for cell, est in estimators.items()}
    ports = {cell: free_port() for cell in uris}
    log = open(Path(folder) / "servers.log", "wb")
    servers = {cell: start_server(mlflow.artifacts.download_artifacts(uri), port=ports[cell],
                                  output=log)
               for cell, uri in uris.items()}
    try:
        clients = {cell: Client(port) for cell, port in ports.items()}
        for cell, client in clients.items():
            client.wait(servers[cell], log.name)
        times = interleaved({cell: c.predict for cell, c in clients.items()},
                            mixed_stream(seed, FEATURES["classifier"]), passes)
        return {cell: (*p50_p99(times[cell]), peak_rss_mb(servers[cell].pid))
                for cell in clients}
    finally:
        for server in servers.values():
            stop_server(server)
        log.close()


def table(rows):
    lines = ["| row | seqkit cell | p50 ms | p99 ms | peak RSS MiB | Keras cell | p50 ms "
             "| p99 ms | peak RSS MiB |", "|---|---|---:|---:|---:|---|---:|---:|---:|"]
    for what, (ours, theirs) in rows:
        cells = []
        for cell, (p50, p99, rss) in (ours, theirs):
            cells += [cell, f"{p50:.1f}", "" if p99 is None else f"{p99:.1f}",
                      "" if rss != rss else f"{rss:.0f}"]
        lines.append(f"| {what} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def load():
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--passes", type=int, default=3, help="replays of the 60 requests")
    parser.add_argument("--quick", action="store_true", help="the classifiers only, no RSS")
    parser.add_argument("--no-http", action="store_true", help="skip seqkit serve")
    parser.add_argument("--output", default=str(Path(__file__).with_name("RESULTS-serving.md")))
    args = parser.parse_args(argv)
    start, loads = time.perf_counter(), [load()]
    kinds = ["classifier"] if args.quick else ["classifier", "tagger", "forecaster"]
    rows, classifiers = [], {}
    with tempfile.TemporaryDirectory() as folder:
        for kind in kinds:
            for pair in PAIRS:
                found, estimators, _ = in_process_rows(kind, pair, folder, args.seed,
                                                       not args.quick, args.passes)
                rows.append((f"{kind}, SavedModel in-process, mixed stream",
                             [(cell, found[cell]) for cell in pair]))
                if kind != "forecaster":
                    medians = predict_new_shape(estimators, kind, args.seed)
                    rows.append((f"{kind}, `predict` on a new length (median)",
                                 [(cell, (medians[cell], None, float("nan"))) for cell in pair]))
                if kind == "classifier":
                    classifiers.update(estimators)
                loads.append(load())
        if not args.no_http:
            found = http_rows(classifiers, folder, args.seed, args.passes)
            for pair in PAIRS:
                rows.append(("classifier, `seqkit serve` over HTTP, mixed stream",
                             [(cell, found[cell]) for cell in pair]))
            loads.append(load())
    text = table(rows)
    print(text)
    print("load averages (1/5/15 min) during the run:", "; ".join(loads))
    report = (
        "# Latency on mixed shapes\n\n"
        f"{__doc__.split(chr(10) + chr(10))[1]}\n\n{text}\n\n"
        f"Load averages (1/5/15 min) at the start and after each part: {'; '.join(loads)}. "
        f"Machine: {platform.machine()}, {os.cpu_count()} cores; Python "
        f"{platform.python_version()}, MLflow {mlflow.__version__}. "
        f"Whole run {time.perf_counter() - start:.0f} s.\n\n"
        "Command: `python benchmarks/serving.py`\n"
    )
    Path(args.output).write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
