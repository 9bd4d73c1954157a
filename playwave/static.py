"""Static files in both of Django's handler modes.

ServeStatic's own middleware is asynchronous only (`sync_capable = False`). Under an ASGI server
that is what we want; under gunicorn's sync workers, though, Django then adapts the whole
middleware chain with `async_to_sync`, which starts an event loop and a thread for *every*
request, static or not: a bare JSON view fell from ~8 000 to ~800 req/s on two workers.

`StaticFilesMiddleware` builds ServeStatic's table of files once (the same settings, the same
headers, compression and caching) and serves from it in whichever mode Django runs it:
awaiting ServeStatic's asynchronous responder under ASGI, opening the file directly under WSGI.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from inspect import iscoroutinefunction
from typing import Any

from asgiref.sync import markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase
from servestatic.middleware import AsyncServeStaticFileResponse, ServeStaticMiddleware
from servestatic.responders import Redirect, StaticFile


async def _never_called(request: HttpRequest) -> HttpResponseBase:
    raise AssertionError("the file table's own get_response is never called")


class StaticFilesMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        # ServeStatic's middleware insists on an asynchronous get_response; only its file
        # table and responder are used here, so it is handed one that is never called.
        self.files = ServeStaticMiddleware(_never_called)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self._acall(request)
        static_file = self._find(request)
        if static_file is None:
            response: HttpResponseBase = self.get_response(request)
            return response
        served = static_file.get_response(request.method or "GET", request.META)
        return _django_response(served.status, served.headers, served.file)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        if self.files.autorefresh:  # the look-up reads the disk: not on the event loop
            static_file = await asyncio.to_thread(self._find, request)
        else:
            static_file = self._find(request)
        if static_file is None:
            response: HttpResponseBase = await self.get_response(request)
            return response
        return await ServeStaticMiddleware.aserve(static_file, request)

    def _find(self, request: HttpRequest) -> StaticFile | Redirect | None:
        if self.files.autorefresh:  # DEBUG: files may appear while the server runs
            return self.files.find_file(request.path_info)
        return self.files.files.get(request.path_info)


def _django_response(status: int, headers: list[tuple[str, str]], file: Any) -> HttpResponseBase:
    # A FileResponse whose headers are ServeStatic's own (it sets none of Django's defaults).
    response = AsyncServeStaticFileResponse(file or (), status=int(status))
    del response["content-type"]
    for key, value in headers:
        if value is not None:
            response[key] = value
    return response
