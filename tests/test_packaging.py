"""setup.py's TensorFlow requirement, chosen by SEQKIT_TENSORFLOW, as the built metadata states it.

Each case builds the package's metadata (``setup.py egg_info``, a fraction of a second)
into a temporary folder and reads the requirements it declares: what pip would install.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CPU = ['[:platform_machine != "x86_64"]\ntensorflow<2.22,>=2.21',
       '[:platform_machine == "x86_64"]\ntensorflow-cpu<2.22,>=2.21']


def _egg_info(tmp_path, value):
    """``(returncode, requires.txt or None, stderr)`` of ``setup.py egg_info`` with
    SEQKIT_TENSORFLOW set to ``value`` (``None``: unset)."""
    env = {k: v for k, v in os.environ.items() if k != "SEQKIT_TENSORFLOW"}
    if value is not None:
        env["SEQKIT_TENSORFLOW"] = value
    result = subprocess.run(
        [sys.executable, "setup.py", "-q", "egg_info", "--egg-base", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    requires = tmp_path / "seqkit.egg-info" / "requires.txt"
    return (result.returncode, requires.read_text() if requires.exists() else None,
            result.stderr)


def _tensorflow_lines(requires):
    """The requirement lines naming TensorFlow, each with the section (marker) above it."""
    lines, section = [], ""
    for line in requires.splitlines():
        if line.startswith("["):
            section = line
        elif line.startswith("tensorflow"):
            lines.append(f"{section}\n{line}" if section else line)
    return sorted(lines)


@pytest.mark.parametrize("value", [None, "", "cpu"])
def test_unset_empty_or_cpu_declares_tensorflow_cpu_on_x86_64_and_tensorflow_elsewhere(
        tmp_path, value):
    returncode, requires, stderr = _egg_info(tmp_path, value)
    assert returncode == 0, stderr
    assert _tensorflow_lines(requires) == CPU


def test_gpu_declares_tensorflow_with_cuda_and_no_cpu_build(tmp_path):
    returncode, requires, stderr = _egg_info(tmp_path, "gpu")
    assert returncode == 0, stderr
    assert _tensorflow_lines(requires) == ["tensorflow[and-cuda]<2.22,>=2.21"]


def test_any_other_value_fails_naming_the_variable_the_choices_and_the_value(tmp_path):
    returncode, requires, stderr = _egg_info(tmp_path, "cuda")
    assert returncode != 0 and requires is None
    assert ("The SEQKIT_TENSORFLOW environment variable must be 'cpu' or 'gpu' (or unset, "
            "which means 'cpu'). Got 'cuda' instead.") in stderr
