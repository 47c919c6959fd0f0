"""MLflow's scoring server behind a request body limit: the app ``seqkit serve`` runs.

MLflow's scoring server reads a whole request body into memory before it
looks at it, whatever its size. :class:`RequestBodyLimit` answers 413 to a
body larger than ``SEQKIT_MAX_REQUEST_BYTES`` (environment variable, bytes):
at once when ``Content-Length`` declares it, otherwise as soon as the
received chunks pass it, so a server holds at most that much of one request.

Run it as ``uvicorn --factory seqkit.serving.app:create_app`` with MLflow's serving
environment (``seqkit.cli.server_command`` builds both).
"""

import json
import os

MAX_REQUEST_BYTES_ENV = "SEQKIT_MAX_REQUEST_BYTES"
DEFAULT_MAX_REQUEST_BYTES = 16 * 2**20


class RequestBodyLimit:
    """ASGI middleware: refuse HTTP requests whose body is larger than ``max_bytes``.

    Parameters
    ----------
    app : ASGI application
    max_bytes : int
        Largest body passed on to ``app``; larger ones get status 413 and a
        JSON message in MLflow's error shape.
    """

    def __init__(self, app, max_bytes):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(send, f"{int(declared)} bytes")
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return None
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                return await self._refuse(send, f"more than {self.max_bytes} bytes")
            if not message.get("more_body", False):
                break
        return await self.app(scope, _replay(bytes(body), receive), send)

    async def _refuse(self, send, received):
        content = json.dumps({
            "error_code": "REQUEST_TOO_LARGE",
            "message": f"The request body holds {received}; this server takes at most "
                       f"{self.max_bytes} bytes ({MAX_REQUEST_BYTES_ENV}). Split the batch.",
        }).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(content)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": content})


def _replay(body, receive):
    """A ``receive`` that gives ``body`` as one message, then waits on the real one."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed():
        return pending.pop() if pending else await receive()

    return replayed


def create_app():
    """MLflow's scoring app for the model its environment names, behind the body limit.

    The app factory of ``uvicorn --factory seqkit.serving.app:create_app``.
    """
    from mlflow.pyfunc.scoring_server.app import app as scoring_app

    return RequestBodyLimit(
        scoring_app, int(os.environ.get(MAX_REQUEST_BYTES_ENV, DEFAULT_MAX_REQUEST_BYTES))
    )
