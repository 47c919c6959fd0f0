"""Data files written into a temporary working directory, and a local HTTP server."""

import pytest

from seqkit.exceptions import DataFileError
from tests.helpers.servers import serving_folder


@pytest.fixture
def write(tmp_path, monkeypatch):
    """``write(name, content)`` writes text or bytes to ``tmp_path/name`` and returns ``name``;
    the working directory is ``tmp_path``, so messages name the file as given."""
    monkeypatch.chdir(tmp_path)

    def write_file(name, content):
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return name

    return write_file


@pytest.fixture
def refused():
    """``refused(call, message)``: ``call()`` raises DataFileError with exactly ``message``."""

    def check(call, message):
        with pytest.raises(DataFileError) as caught:
            call()
        assert str(caught.value) == message

    return check


@pytest.fixture
def http_folder(tmp_path):
    """The ``http://127.0.0.1:<port>`` URL of a server in a thread serving ``tmp_path``."""
    with serving_folder(tmp_path) as url:
        yield url
