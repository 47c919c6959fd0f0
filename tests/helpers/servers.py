"""Servers that tests start on 127.0.0.1, and stop: ports, HTTP, process groups."""

import contextlib
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.helpers.exports import SUBPROCESS_ENV

SERVER_START_TIMEOUT = 180  # seconds; importing TensorFlow on a busy machine is slow


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(url, body=None):
    """``(status, parsed JSON or text)`` of a GET (no body) or a JSON POST."""
    data = None if body is None else (body if isinstance(body, bytes) else
                                      json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        status, text = err.code, err.read().decode()
    with contextlib.suppress(ValueError):
        return status, json.loads(text)
    return status, text


def group_alive(pgid):
    """Processes of group ``pgid`` that still run (zombies do not count)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive.append(int(stat.parent.name))
    return alive


def stop_group(process):
    """Terminate a server's process group, kill it if it lingers; return what survived."""
    for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        deadline = time.monotonic() + grace
        while group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not group_alive(process.pid):
            break
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)
    return group_alive(process.pid)


@contextlib.contextmanager
def running(command, log_path, port, env=None):
    """Start a server in a new process group, wait for ``/ping``, stop the group after.

    Yields the server's URL and its process.
    """
    log = open(log_path, "wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                               env={**SUBPROCESS_ENV, **(env or {})}, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server exited ({process.returncode}):\n"
                            + Path(log_path).read_text()[-3000:])
            with contextlib.suppress(OSError):
                if http(url + "/ping")[0] == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail("no answer on /ping:\n" + Path(log_path).read_text()[-3000:])
            time.sleep(0.5)
        yield url, process
    finally:
        survivors = stop_group(process)
        log.close()
    assert not survivors, f"server processes still running: {survivors}"
    with pytest.raises(OSError):
        http(url + "/ping")


def mlflow_serve(uri, tracking_uri, tmp_path):
    """``mlflow models serve -m uri --env-manager local -h 127.0.0.1 -p <free port>``."""
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", uri, "--env-manager",
               "local", "-h", "127.0.0.1", "-p", str(port)]
    # uvicorn, which MLflow starts by name, sits beside this interpreter.
    env = {"MLFLOW_TRACKING_URI": tracking_uri,
           "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]}
    return running(command, tmp_path / "server.log", port, env)


def invocations(url, inputs, **params):
    """POST ``inputs`` (an array, or arrays by name: one alone goes unnamed)."""
    if isinstance(inputs, dict) and len(inputs) == 1:
        (inputs,) = inputs.values()
    body = {"inputs": {k: v.tolist() for k, v in inputs.items()} if isinstance(inputs, dict)
            else inputs.tolist()}
    return http(url + "/invocations", {**body, "params": params} if params else body)



class _QuietFileHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's signature)
        pass


@contextlib.contextmanager
def serving_folder(folder):
    """Serve the files of ``folder`` over HTTP on 127.0.0.1 (a thread); yield the base URL."""
    handler = functools.partial(_QuietFileHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
