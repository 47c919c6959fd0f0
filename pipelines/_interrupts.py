"""Ctrl-C and SIGTERM that a pipeline never loses: :func:`kept`, :func:`checked`, :func:`report`.

Python turns SIGINT into a ``KeyboardInterrupt`` raised in whatever Python
code the main thread runs next. When that code is a finalizer (a ``__del__``
method, such as the one by which each TensorFlow function that is freed
removes itself from the runtime, and a pipeline frees many while it traces,
predicts and exports), the exception cannot propagate: Python prints
"Exception ignored in ..." and carries on, and the run would end FINISHED with
exit code 0 as if nobody had pressed Ctrl-C. Under :func:`kept` the signal is
also remembered, and :func:`checked` raises it again.

SIGTERM, which ``kill``, ``timeout``, ``docker stop`` and job schedulers send,
ends Python at once by default, with no ``finally`` block run: the MLflow run
would stay RUNNING for ever and a half-written output would stay behind.
Under :func:`kept` it stops the job as Ctrl-C does (:class:`Terminated`, a
``KeyboardInterrupt``): the run ends FAILED, the fit's checkpoints stay to be
resumed, and the exit code is 143, as a shell reports a process SIGTERM
stopped. SIGKILL cannot be caught; its run stays RUNNING, and the same
command resumes it in that run.
"""

import contextlib
import signal
import sys
import threading

import keras

from seqkit import training


class Terminated(KeyboardInterrupt):
    """SIGTERM reached a job under :func:`kept`."""


_NAMES = {signal.SIGINT: "Ctrl-C (SIGINT)", signal.SIGTERM: "SIGTERM"}


class _Received:
    """The signal that came while :func:`kept` was in force, if one did."""

    signal = None


def _stop(signum, message):
    """The exception that stops the job for the signal ``signum``."""
    return (Terminated if signum == signal.SIGTERM else KeyboardInterrupt)(message)


def _interrupt(signum, frame):
    _Received.signal = signum
    raise _stop(signum, _NAMES[signum])


@contextlib.contextmanager
def kept():
    """Within the block, SIGINT raises ``KeyboardInterrupt`` as ever, SIGTERM raises
    :class:`Terminated`, and either is remembered.

    Only in the main thread, and for each signal only where it has Python's
    default handling (SIGINT not ignored, as it is in a background job of a
    shell; SIGTERM not given a handler by the program that runs the job):
    elsewhere nothing changes and nothing is remembered.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    caught = [signum for signum, default in defaults.items()
              if signal.getsignal(signum) is default]
    _Received.signal = None
    for signum in caught:
        signal.signal(signum, _interrupt)
    try:
        yield
    finally:
        for signum in caught:
            signal.signal(signum, defaults[signum])
        _Received.signal = None


def check():
    """Raise ``KeyboardInterrupt`` (:class:`Terminated` for SIGTERM) if a signal came under
    :func:`kept` (its first one may have been swallowed by a finalizer)."""
    if _Received.signal is not None:
        raise _stop(_Received.signal, f"{_NAMES[_Received.signal]}, received where Python "
                                      "could not raise it")


def report(interrupt):
    """Say on stderr that the job was stopped; return its exit code: 128 plus the signal's
    number, as a shell reports it (130 for Ctrl-C, 143 for SIGTERM).

    Parameters
    ----------
    interrupt : KeyboardInterrupt
        What stopped the job (:class:`Terminated` for SIGTERM).

    Returns
    -------
    int
    """
    terminated = isinstance(interrupt, Terminated)
    print("terminated (SIGTERM)" if terminated else "interrupted", file=sys.stderr)
    return 128 + (signal.SIGTERM if terminated else signal.SIGINT)


class _StopFits(keras.callbacks.Callback):
    """Stop a fit at the next batch once a signal has come."""

    def on_train_batch_end(self, batch, logs=None):
        check()


@contextlib.contextmanager
def checked():
    """Run the block (the work of a tracked run) so that a signal that came under
    :func:`kept` fails it.

    Fits inside stop at their next batch; an error raised once the signal has
    come (code that the interrupt broke half-way) is raised as
    ``KeyboardInterrupt`` (:class:`Terminated`) from that error; and at the end
    of the block it is raised if the signal came, so that a run it reached
    never ends FINISHED.
    """
    try:
        with training.watching(_StopFits()):
            yield
    except Exception as error:
        if _Received.signal is not None:
            raise _stop(_Received.signal, f"{_NAMES[_Received.signal]}, then "
                                          f"{type(error).__name__}: {error}") from error
        raise
    check()
