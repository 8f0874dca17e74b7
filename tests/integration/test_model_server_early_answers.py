"""Early answers over a real socket: the model server under gunicorn answers 413 (body
over its limit) or 415 (wrong content type) before it has read the body. A client still
sending at that moment, as nginx is when it forwards a buffered body, must get that
answer and not a connection reset (which nginx turns into a 502)."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest

from tests.harness import model_server

LIMIT = 256 * 1024
PIECE = 16 * 1024


@pytest.fixture(scope="module")
def address():
    # No registry: these answers come before any model is needed.
    env = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:9", "MLOPS_MODEL_NAME": "early-answers",
           "MLOPS_MODEL_ALIAS": "Production", "MLOPS_MAX_BODY_BYTES": str(LIMIT)}  # fmt: skip
    proc = model_server(env, workers=2).start()
    url = urlsplit(proc.health_url)
    try:
        yield url.hostname, url.port
    finally:
        proc.stop()


def post_slowly(address, content_type: str, size: int) -> bytes:
    """POST ``size`` bytes in small pieces, as a proxy streams, then read the answer."""
    body = b"x" * size
    head = (f"POST /invocations HTTP/1.1\r\nHost: test\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {size}\r\nConnection: close\r\n\r\n").encode()  # fmt: skip
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(head)
        for start in range(0, size, PIECE):
            sock.sendall(body[start : start + PIECE])
            time.sleep(0.001)  # the worker answers while the body is still coming
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize(
    ("content_type", "size", "status"),
    [("application/json", 6 * LIMIT, b"413"), ("text/plain", 4 * LIMIT, b"415")],
)
def test_early_answer_reaches_a_client_still_sending(address, content_type, size, status):
    for _ in range(5):
        answer = post_slowly(address, content_type, size)  # a reset raises here
        assert answer.split(b" ", 2)[1] == status, answer[:300]
        assert b'"error"' in answer
