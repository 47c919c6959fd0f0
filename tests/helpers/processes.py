"""Python processes that tests start (training scripts, workers) and always stop."""

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def python_env(tf_config=None):
    """The environment of a process a test starts: quiet TensorFlow, this checkout
    importable, and ``TF_CONFIG`` only if given."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": path}
    env.pop("TF_CONFIG", None)
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return env


@contextlib.contextmanager
def started(*runs):
    """Start ``python *args`` for each ``(args, env)`` of ``runs``; on leaving, kill those
    still running, whatever happened."""
    processes = []
    try:
        for args, env in runs:
            processes.append(subprocess.Popen(
                [sys.executable, *map(str, args)], env=env, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True,
            ))
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()


def finished(process, timeout=600):
    """Wait for ``process``; its return code and its output's end."""
    output, _ = process.communicate(timeout=timeout)
    return process.returncode, output[-3000:]
