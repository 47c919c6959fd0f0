"""Old home of what the pipelines share, kept for the imports that still name it.

The parts now live in :mod:`pipelines._args`, :mod:`pipelines._job`,
:mod:`pipelines._resume` and :mod:`pipelines._report`.
"""

from pipelines._job import entry_points

__all__ = ["entry_points"]
