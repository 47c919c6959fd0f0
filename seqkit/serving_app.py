"""Moved to :mod:`seqkit.serving.app`; these names stay importable from here."""

from seqkit.serving.app import (  # noqa: F401
    DEFAULT_MAX_REQUEST_BYTES,
    MAX_REQUEST_BYTES_ENV,
    RequestBodyLimit,
    create_app,
)
