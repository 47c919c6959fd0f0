"""A quiet start for TensorFlow in seqkit's command lines and the pipelines.

TensorFlow's C++ runtime prints start-up notes (absl's "All log messages
before absl::InitializeLog()", oneDNN's) on file descriptor 2 before any log
level applies; applications that want only their own output import it here.
Library code never calls this.
"""

import contextlib
import logging
import os
import sys


@contextlib.contextmanager
def _stderr_closed():
    """File descriptor 2 points to the null device inside the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def quiet_tensorflow():
    """Keep TensorFlow, absl and TensorFlow's runtime from printing below their errors.

    Unless ``TF_CPP_MIN_LOG_LEVEL`` is set (then nothing changes): set it to
    3, and import TensorFlow, if not yet imported, with its start-up notes
    dropped; the ``tensorflow`` and ``absl`` loggers then report errors only
    (no retracing warnings). An import that fails still raises.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if "tensorflow" not in sys.modules:
        with _stderr_closed():
            import tensorflow  # noqa: F401
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
