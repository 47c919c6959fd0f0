"""The manifest every export holds, ``seqkit-export.json``: written with it, checked on loading."""

import json
from pathlib import Path

from seqkit._version import __version__
from seqkit.exceptions import ExportError

FORMAT_VERSION = 1
"""Version of the export layout; :func:`read_manifest` reads only this one."""

MANIFEST = "seqkit-export.json"
"""File name of the manifest inside an export."""


def spec_dict(tensor):
    """``{"shape": [...], "dtype": ...}`` of a tensor or spec, unknown sizes as -1."""
    return {"shape": [-1 if d is None else int(d) for d in tensor.shape],
            "dtype": tensor.dtype.name}


def make_manifest(graph_manifest, signatures):
    """The manifest of an export: format, versions, what the graph says and its signatures."""
    import tensorflow as tf

    return {
        "format": "seqkit-export",
        "format_version": FORMAT_VERSION,
        "seqkit_version": __version__,
        "tensorflow_version": tf.__version__,
        **graph_manifest,
        "signatures": signatures,
    }


def read_manifest(path):
    """Read and check the manifest of an export.

    Parameters
    ----------
    path : path-like
        An export folder written by :func:`seqkit.export.export_saved_model`.

    Returns
    -------
    dict

    Raises
    ------
    ExportError
        If the folder is missing, is not a seqkit export, its manifest is
        corrupt, or it was written in another format version.
    """
    path = Path(path)
    if not path.is_dir():
        raise ExportError(f"No seqkit export at {path}: the folder does not exist.")
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(
            f"{path} is not a seqkit export: it has no {MANIFEST}. Export models with "
            "seqkit.export.export_saved_model or `seqkit export`."
        ) from None
    except (OSError, ValueError) as err:
        raise ExportError(f"The export at {path} is corrupt: {MANIFEST} is unreadable ({err}).") \
            from None
    if not isinstance(manifest, dict) or manifest.get("format") != "seqkit-export":
        raise ExportError(f"The export at {path} is corrupt: {MANIFEST} is not a seqkit manifest.")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ExportError(
            f"The export at {path} has format version {version!r} (written by seqkit "
            f"{manifest.get('seqkit_version', 'unknown')}); seqkit {__version__} reads version "
            f"{FORMAT_VERSION}. Export the model again with this seqkit, or load it with the "
            "seqkit that wrote it."
        )
    return manifest
