"""The README's "Your own data" commands, run as written in a fresh folder, in order.

Training commands get ``--epochs 1 --units 4`` (``-P epochs=1 -P units=4``
for ``mlflow run``) to keep them short; nothing else is changed.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers.pipelines import PROJECT

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_commands(section):
    """The lines of the first ``bash`` block under the README heading ``section``."""
    text = README.read_text(encoding="utf-8")
    body = text[text.index(f"\n{section}\n"):]
    block = re.search(r"```bash\n(.*?)```", body, re.DOTALL)[1]
    return [line for line in block.splitlines() if line.strip()]


def _shortened(argv):
    if argv[:2] == ["python", "-m"] and argv[2].startswith("pipelines.") and "--data" in argv:
        return [*argv, "--epochs", "1", "--units", "4"]
    if argv[:2] == ["mlflow", "run"]:
        return [*argv, "-P", "epochs=1", "-P", "units=4"]
    return argv


def test_the_own_data_commands_run_as_written(tmp_path):
    (tmp_path / "mlflow_projects").symlink_to(PROJECT.parent)
    env = {name: value for name, value in os.environ.items() if not name.startswith("MLFLOW_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    outputs = {}
    for line in readme_commands("## Your own data"):
        argv = _shortened(shlex.split(line))
        result = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0, f"{line}\n{result.stderr[-3000:]}"
        outputs[line] = result.stdout

    forecasts = pd.read_csv(tmp_path / "forecasts.csv")
    assert list(forecasts.columns) == ["unique_id", "ds", "y_pred"]
    assert len(forecasts) == 3 * 8 and forecasts["y_pred"].notna().all()
    labels = pd.read_parquet(tmp_path / "labels.parquet")
    assert len(labels) == 40 and set(labels["label"]) <= {"Badminton", "Running", "Standing",
                                                          "Walking"}
    tagged = (tmp_path / "tagged.conll").read_text(encoding="utf-8").split("\n\n")
    assert len([sentence for sentence in tagged if sentence.strip()]) == 500
    (champion,) = [out for line, out in outputs.items() if "@champion" in line]
    assert champion.splitlines()[0] == "unique_id,ds,y_pred"
    assert len(champion.splitlines()) == 1 + 12
