"""Static files through both real handlers, and no per-request event loop under WSGI.

Through Django's WSGIHandler (what gunicorn runs) and ASGIHandler (daphne, uvicorn): the same
file, bytes and caching headers, 304 on a matching ETag, 405 for a POST; and under WSGI a
request starts no thread (an async-only middleware would make Django start an event loop in a
new thread for every request, static or not, which cut a bare view's throughput by ten).
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

FILE = "/static/playwave/socket.js"
BODY = (Path(__file__).resolve().parent.parent / "static" / "playwave" / "socket.js").read_bytes()


@pytest.fixture(autouse=True)
def _no_connection_housekeeping() -> Iterator[None]:
    """As Django's test client does: a request's ``close_old_connections`` would otherwise reach
    the database connection an earlier test left open in this thread (pytest-django keeps it
    between tests and forbids its use in a test without ``db``), which these tests never need."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@cache
def wsgi_handler() -> WSGIHandler:
    return WSGIHandler()  # built once, as a server process does


@cache
def asgi_handler() -> ASGIHandler:
    return ASGIHandler()


def wsgi(method: str, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "HTTP_HOST": "localhost",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        **{f"HTTP_{k.upper()}": v for k, v in headers.items()},
    }
    seen: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
        seen["status"] = int(status.split()[0])
        seen["headers"] = {k.lower(): v for k, v in response_headers}

    result = wsgi_handler()(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    return seen["status"], seen["headers"], body


def asgi(method: str, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"localhost")]
        + [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()],
        "server": ("localhost", 80),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
    }
    sent: list[dict[str, Any]] = []
    requests = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if requests:
            return requests.pop()
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(asgi_handler()(scope, receive, send))
    start = sent[0]
    head = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], head, body


@pytest.mark.parametrize("call", [wsgi, asgi], ids=["wsgi", "asgi"])
def test_a_static_file_is_served_with_its_caching_headers(call: Any) -> None:
    status, headers, body = call("GET", FILE)
    assert status == 200
    assert body == BODY
    assert headers["content-type"].startswith("text/javascript")
    assert headers["cache-control"] == "max-age=60, public"
    assert headers["content-length"] == str(len(BODY))
    etag = headers["etag"]
    status, headers, body = call("GET", FILE, if_none_match=etag)
    assert (status, body) == (304, b"")
    status, headers, _ = call("POST", FILE)
    assert status == 405


@pytest.mark.parametrize("call", [wsgi, asgi], ids=["wsgi", "asgi"])
def test_a_missing_static_file_is_the_sites_404(call: Any) -> None:
    status, _, _ = call("GET", "/static/playwave/no-such-file.js")
    assert status == 404


def test_a_request_under_wsgi_starts_no_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    wsgi("GET", FILE)  # the process's handler is built (its file table is read with threads)
    started: list[str] = []
    real_start = threading.Thread.start

    def counting_start(self: threading.Thread) -> None:
        started.append(self.name)
        real_start(self)

    monkeypatch.setattr(threading.Thread, "start", counting_start)
    for path in (FILE, "/no-such-page", "/v1/no-such-endpoint"):
        status, _, _ = wsgi("GET", path)
        assert status in (200, 404)
    assert started == []
