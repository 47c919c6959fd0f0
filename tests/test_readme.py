"""Every shell command of the README, run as written, in order, in a fresh folder.

What a new user does after the two set-up commands: step into the
environment, then type each command the README shows. The changes, all
documented here: training commands get ``--epochs 1`` (replacing the
value they give), a single pipeline also ``--units 4`` (``-P epochs=1 -P
units=4`` for ``mlflow run``); ``seqkit serve`` starts in the
background (the README says "in a second terminal") on a free port, which
the commands after it use in place of 5000, and is stopped at the end.
Skipped: the set-up block itself, the GPU set-up (it installs CUDA builds) and
the team tracking server's block, whose commands run on other machines (a
database host, a tracking host).
"""

import contextlib
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers.pipelines import PROJECT
from tests.helpers.servers import free_port, running

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[1] / "README.md"
SETUP = ["make demo", "make test"]
SKIPPED = {"### GPU": "sets up with TensorFlow's CUDA build",
           "## Accuracy on public data": "the whole suite takes over an hour; "
                                         "tests/benchmarks/test_accuracy.py runs one set",
           "#### Team tracking server": "commands for a database host and a tracking host"}
ACTIVITIES = {"Badminton", "Running", "Standing", "Walking"}


def readme_blocks():
    """``(heading, [command, ...])`` of every ``bash`` block, in order; continuation lines
    joined, blank lines dropped."""
    heading, blocks = None, []
    lines = iter(README.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if line.startswith("#"):
            heading = line
        elif line.startswith("```bash"):
            text = []
            for inner in lines:
                if inner.startswith("```"):
                    break
                text.append(inner)
            commands = "\n".join(text).replace("\\\n", " ").splitlines()
            blocks.append((heading, [c for c in commands if c.strip()]))
    return blocks


def _shortened(argv):
    """Training commands with 1 epoch (and 4 units for one pipeline's run)."""
    argv = list(argv)
    if argv[:2] == ["python", "-m"] and argv[2].startswith("pipelines") and \
            argv[2] != "pipelines.examples":
        if "--epochs" in argv:
            argv[argv.index("--epochs") + 1] = "1"
        else:
            argv += ["--epochs", "1"]
        if argv[2] not in ("pipelines", "pipelines.tune"):
            argv += ["--units", "4"]
    elif argv[:2] == ["mlflow", "run"]:
        argv += ["-P", "epochs=1", "-P", "units=4"]
    return argv


def test_every_shell_command_of_the_readme_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parents[1])
    (tmp_path / "mlflow_projects").symlink_to(PROJECT.parent)
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("MLFLOW_", "TF_CPP"))}
    port = str(free_port())
    outputs = {}
    with contextlib.ExitStack() as servers:
        for heading, commands in readme_blocks():
            if heading in SKIPPED or [c.split("#")[0].strip() for c in commands] == SETUP:
                continue
            for command in commands:
                argv = _shortened([word.replace("5000", port)
                                   for word in shlex.split(command, comments=True)])
                if argv == ["source", ".venv/bin/activate"]:
                    env["PATH"] = f"{tmp_path / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
                    env["VIRTUAL_ENV"] = str(tmp_path / ".venv")
                    continue
                if argv[:2] == ["seqkit", "serve"]:
                    servers.enter_context(running(argv, tmp_path / "serve.log", port, env=env))
                    continue
                result = subprocess.run(argv, env=env, capture_output=True, text=True,
                                        timeout=900)
                assert result.returncode == 0, f"{command}\n{result.stderr[-3000:]}"
                outputs[command] = result.stdout
    assert outputs, "no command found"

    (answer,) = [out for command, out in outputs.items() if command.startswith("curl")]
    (label,) = json.loads(answer)["predictions"]
    assert label in ACTIVITIES
    forecasts = pd.read_csv(tmp_path / "forecasts.csv")
    assert list(forecasts.columns) == ["unique_id", "ds", "y_pred"]
    assert len(forecasts) == 3 * 8 and forecasts["y_pred"].notna().all()
    labels = pd.read_parquet(tmp_path / "labels.parquet")
    assert len(labels) == 40 and set(labels["label"]) <= ACTIVITIES
    tagged = (tmp_path / "tagged.conll").read_text(encoding="utf-8").split("\n\n")
    assert len([sentence for sentence in tagged if sentence.strip()]) == 500
    (champion,) = [out for command, out in outputs.items() if "@champion" in command]
    assert champion.splitlines()[0] == "unique_id,ds,y_pred"
    assert len(champion.splitlines()) == 1 + 12
    printed = "\n".join(outputs.values())
    assert re.search(r"Exported a classifier to exported/basic_motions", printed)
