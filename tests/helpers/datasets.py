"""Copies of the bundled data files, for tests that damage or replace them."""

import hashlib
import shutil
from pathlib import Path

from seqkit import datasets

DATA_DIR = Path(__file__).resolve().parents[2] / "data"


def copy_data_files(name, folder):
    """Copy the files of one data set into ``folder`` and return that folder."""
    for file_name in datasets.dataset_info(name)["files"]:
        shutil.copy(DATA_DIR / file_name, folder / file_name)
    return folder


def accept_current_checksum(monkeypatch, name, path):
    """Make the registry accept the present content of ``path`` (to reach the parser)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setitem(datasets._REGISTRY[name]["files"], path.name, digest)
