"""Data files written into a temporary working directory, and a local HTTP server."""

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from seqkit.exceptions import DataFileError


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


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's signature)
        pass


@pytest.fixture
def http_folder(tmp_path):
    """The ``http://127.0.0.1:<port>`` URL of a server in a thread serving ``tmp_path``."""
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
