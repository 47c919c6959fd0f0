"""Writing files and folders so that readers never see them half-written."""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

PARTIAL_PREFIX = "partial-"
"""Name prefix of a file :func:`staged_file` is writing (left behind by a killed process)."""


@contextlib.contextmanager
def staged_file(final):
    """Yield a path beside ``final`` to write; if the block succeeds it replaces ``final``.

    The replacement is atomic (a reader sees the old file or the new one) and
    durable: the data, then on POSIX the rename, are on disk before it returns.
    On failure the partial file is deleted and ``final`` left as it was.

    Parameters
    ----------
    final : path-like
        Where the file ends up; its folder must exist.
    """
    final = Path(final)
    partial = final.with_name(f"{PARTIAL_PREFIX}{final.name}")
    try:
        yield partial
        with open(partial, "rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    if os.name == "posix":
        folder = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


@contextlib.contextmanager
def staged_directory(final):
    """Yield an empty folder next to ``final`` that replaces ``final`` if the block succeeds.

    On failure or interruption the staging folder is removed and ``final``
    (a previous version, if any) is left as it was; parent folders created
    only to hold it are removed again too.

    Parameters
    ----------
    final : path-like
        Where the folder ends up.
    """
    final = Path(final)
    created = [folder for folder in final.parents if not folder.exists()]
    final.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=final.parent, prefix=_staging_prefixes(final)[0]))
    umask = os.umask(0)
    os.umask(umask)
    stage.chmod(0o777 & ~umask)  # mkdtemp's folder is private; what is staged here is not
    succeeded = False
    try:
        yield stage
        aside = final.with_name(f"{_staging_prefixes(final)[1]}{os.getpid()}")
        if final.exists():
            os.replace(final, aside)
        os.replace(stage, final)
        shutil.rmtree(aside, ignore_errors=True)
        succeeded = True
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if not succeeded:
            for folder in created:  # deepest first
                with contextlib.suppress(OSError):
                    folder.rmdir()


def _staging_prefixes(final):
    """Name prefixes of :func:`staged_directory`'s staging folder and of the one set aside."""
    return f".{final.name}.partial-", f".{final.name}.old-"


def remove_staging_leftovers(final):
    """Delete what :func:`staged_directory` left next to ``final`` in a process that was killed.

    Call it only where no other process can be staging ``final`` (say, under a
    lock): a staging folder in use looks the same as a forsaken one.

    Parameters
    ----------
    final : path-like
        As given to :func:`staged_directory`.

    Returns
    -------
    list of pathlib.Path
        The folders deleted.
    """
    final = Path(final)
    if not final.parent.is_dir():
        return []
    leftovers = [path for path in final.parent.iterdir()
                 if path.name.startswith(_staging_prefixes(final)) and path.is_dir()]
    for path in leftovers:
        shutil.rmtree(path, ignore_errors=True)
    return leftovers
