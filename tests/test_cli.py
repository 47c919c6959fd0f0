"""The ``seqkit`` command: export from files and runs, serve, and clear errors."""

import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

from seqkit import export
from seqkit.cli import main
from tests.helpers.exports import assert_outputs_equal, expected, fitted, requests
from tests.helpers.servers import free_port, invocations, running

SEQKIT = str(Path(sys.executable).with_name("seqkit"))


def _run(capsys, *argv):
    """``(exit status, stdout, stderr)`` of ``seqkit argv`` run in this process."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.slow
def test_export_from_an_estimator_file(tmp_path, capsys):
    path = tmp_path / "tagger.zip"
    fitted("tagger").save(path)
    status, out, err = _run(capsys, "export", path, tmp_path / "model")
    assert (status, err) == (0, "")
    assert f"Exported a tagger to {tmp_path / 'model'}" in out
    got = export.load_saved_model(tmp_path / "model")(**requests("tagger")[1])
    assert_outputs_equal(got, expected("tagger")["serving_default"], "seqkit export")


@pytest.mark.slow  # a fresh process loads TensorFlow
def test_export_in_a_fresh_process_prints_no_tensorflow_start_up_lines(tmp_path):
    path = tmp_path / "tagger.zip"
    fitted("tagger").save(path)
    env = {name: value for name, value in os.environ.items() if not name.startswith("TF_CPP")}
    result = subprocess.run([sys.executable, "-m", "seqkit.cli", "export", str(path),
                             str(tmp_path / "model")],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith(f"Exported a tagger to {tmp_path / 'model'}\n")


@pytest.mark.slow
def test_export_refuses_an_existing_destination_unless_forced(tmp_path, capsys):
    path = tmp_path / "tagger.zip"
    fitted("tagger").save(path)
    assert _run(capsys, "export", path, tmp_path / "model")[0] == 0
    manifest = (tmp_path / "model" / export.MANIFEST).read_bytes()

    status, out, err = _run(capsys, "export", path, tmp_path / "model")
    assert (status, out) == (1, "")
    assert f"{tmp_path / 'model'} exists: `seqkit export` replaces a folder only when given " \
           "--force" in err
    assert (tmp_path / "model" / export.MANIFEST).read_bytes() == manifest

    status, out, err = _run(capsys, "export", path, tmp_path / "model", "--force")
    assert (status, err) == (0, "") and "Exported a tagger" in out


@pytest.mark.slow
def test_export_from_an_mlflow_run_by_uri_or_id(tracking, tmp_path, capsys):  # noqa: F811
    pickled = tmp_path / "estimator.pkl"
    pickled.write_bytes(pickle.dumps(fitted("classifier")))  # as the pipelines log it
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(pickled))
    run_id = run.info.run_id
    for source in (f"runs:/{run_id}", run_id, f"runs:/{run_id}/estimator.pkl"):
        dest = tmp_path / "exports" / source.replace("/", "_").replace(":", "")
        status, out, err = _run(capsys, "export", source, dest, "--tracking-uri", tracking)
        assert status == 0 and "error" not in err, (source, err)
        got = export.load_saved_model(dest, "predict_proba")(**requests("classifier")[1])
        assert_outputs_equal(got, expected("classifier")["predict_proba"], source)


@pytest.mark.slow
def test_seqkit_serve_serves_an_export_on_loopback_and_stops_with_it(tmp_path):
    folder = export.export_saved_model(fitted("tagger"), tmp_path / "model")
    port = free_port()
    log = tmp_path / "serve.log"
    with running([SEQKIT, "serve", str(folder), "--port", str(port)], log, port) as (url, seqkit):
        status, answer = invocations(url, requests("tagger")[1])
        assert status == 200, answer
        labels = expected("tagger")["serving_default"]["labels"]
        assert answer["predictions"]["labels"] == labels.tolist()
        assert f"http://127.0.0.1:{port}" in log.read_text()  # loopback by default
        # The server runs in a session of its own; stopping seqkit alone must stop it.
        seqkit.send_signal(signal.SIGTERM)
        assert seqkit.wait(60) == 0
        assert not [argv for argv in _command_lines() if "-p" in argv and str(port) in argv]


def _command_lines():
    """The argv of every running process (zombies left out)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            state = (cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()[0]
            argv = cmdline.read_bytes().decode().split("\0")[:-1]
        except OSError:
            continue
        if argv and state != "Z":
            found.append(argv)
    return found
