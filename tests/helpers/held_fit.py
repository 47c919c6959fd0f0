"""``python -m tests.helpers.held_fit CHECKPOINT HELD MODULE ARGS...``: a pipeline whose fit
waits, once it has checkpointed an epoch, for a signal.

Runs ``MODULE.main(ARGS)`` (a pipeline's command line, e.g. ``pipelines.forecasting``)
and exits with its code, as ``python -m MODULE ARGS`` does. When an epoch of a fit
begins and ``CHECKPOINT`` (a fit's ``state.json``) exists, the fit writes the file
``HELD`` and sleeps there, once, for up to 10 minutes: a test that waits for ``HELD``
and then signals the process reaches it in the middle of the fit, whatever the load on
the machine (the last epochs of a small fit take a fraction of a second, and a signal
sent as the checkpoint appears could land after the fit, anywhere in the pipeline).
"""

import importlib
import signal
import sys
import time
from pathlib import Path

import keras

from seqkit import training

HOLD_SECONDS = 600


class HoldAfterCheckpoint(keras.callbacks.Callback):
    """Sleep at the start of the first epoch that begins once ``checkpoint`` exists,
    after writing ``held`` (the number of that epoch)."""

    def __init__(self, checkpoint, held):
        super().__init__()
        self.checkpoint, self.held = Path(checkpoint), Path(held)
        self.done = False

    def on_epoch_begin(self, epoch, logs=None):
        if self.done or not self.checkpoint.exists():
            return
        self.done = True
        self.held.write_text(str(epoch))
        deadline = time.monotonic() + HOLD_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.05)


if __name__ == "__main__":
    # Python's own SIGINT handler, as in a terminal's foreground job, also when the tests run
    # where SIGINT is ignored (a shell's background job): the tests send this process Ctrl-C.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    checkpoint, held, module, *argv = sys.argv[1:]
    with training.watching(HoldAfterCheckpoint(checkpoint, held)):
        raise SystemExit(importlib.import_module(module).main(argv))
