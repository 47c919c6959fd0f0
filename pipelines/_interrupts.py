"""Ctrl-C that a pipeline never loses: :func:`kept` and :func:`checked`.

Python turns SIGINT into a ``KeyboardInterrupt`` raised in whatever Python
code the main thread runs next. When that code is a finalizer (a ``__del__``
method, such as the one by which each TensorFlow function that is freed
removes itself from the runtime, and a pipeline frees many while it traces,
predicts and exports), the exception cannot propagate: Python prints
"Exception ignored in ..." and carries on, and the run would end FINISHED with
exit code 0 as if nobody had pressed Ctrl-C. Under :func:`kept` the signal is
also remembered, and :func:`checked` raises it again.
"""

import contextlib
import signal
import threading

import keras

from seqkit import training


class _Received:
    """Whether SIGINT came while :func:`kept` was in force."""

    value = False


def _interrupt(signum, frame):
    _Received.value = True
    raise KeyboardInterrupt


@contextlib.contextmanager
def kept():
    """Within the block, SIGINT raises ``KeyboardInterrupt`` as ever and is remembered too.

    Only in the main thread, and only where SIGINT has Python's own handler
    (not where it is ignored, as in a background job of a shell): elsewhere
    nothing changes and nothing is remembered.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    _Received.value = False
    signal.signal(signal.SIGINT, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _Received.value = False


def check():
    """Raise ``KeyboardInterrupt`` if SIGINT came under :func:`kept` (its first one may
    have been swallowed by a finalizer)."""
    if _Received.value:
        raise KeyboardInterrupt("Ctrl-C (SIGINT), received where Python could not raise it")


class _StopFits(keras.callbacks.Callback):
    """Stop a fit at the next batch once SIGINT has come."""

    def on_train_batch_end(self, batch, logs=None):
        check()


@contextlib.contextmanager
def checked():
    """Run the block (the work of a tracked run) so that a SIGINT that came under
    :func:`kept` fails it.

    Fits inside stop at their next batch; an error raised once SIGINT has come
    (code that the interrupt broke half-way) is raised as ``KeyboardInterrupt``
    from that error; and at the end of the block ``KeyboardInterrupt`` is
    raised if SIGINT came, so that a run it reached never ends FINISHED.
    """
    try:
        with training.watching(_StopFits()):
            yield
    except Exception as error:
        if _Received.value:
            raise KeyboardInterrupt(
                f"Ctrl-C (SIGINT), then {type(error).__name__}: {error}") from error
        raise
    check()
