"""Writing a folder so that readers never see it half-written."""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


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
    stage = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.partial-"))
    umask = os.umask(0)
    os.umask(umask)
    stage.chmod(0o777 & ~umask)  # mkdtemp's folder is private; what is staged here is not
    succeeded = False
    try:
        yield stage
        aside = final.with_name(f".{final.name}.old-{os.getpid()}")
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
