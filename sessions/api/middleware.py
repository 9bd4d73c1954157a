"""Keeps every /v1 answer inside the envelope: unknown paths, wrong methods, crashes."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import DataError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

from sessions.api.envelope import error, request_id
from sessions.errors import ErrorCode

logger = logging.getLogger("sessions.api")

API_PREFIX = "/v1/"
# Seconds a client is asked to wait when the database cannot be reached (503).
DATABASE_RETRY_AFTER = 5


class ApiEnvelopeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        rid = request_id(request)
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("application/json"):
            response.setdefault("X-Request-Id", rid)
            return response
        # Django's own 404/405/500 pages are HTML; game servers must never see one.
        if response.status_code == 404:
            return error(request, ErrorCode.NOT_FOUND, f"no API endpoint at {request.path}")
        if response.status_code == 405:
            allow = response.get("Allow", "")
            return error(
                request,
                ErrorCode.METHOD_NOT_ALLOWED,
                f"{request.method} is not allowed here (allowed: {allow})",
                headers={"Allow": allow},
            )
        if response.status_code >= 500:
            return error(request, ErrorCode.INTERNAL_ERROR, "internal error; retry later")
        response.setdefault("X-Request-Id", rid)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIX):
            return None
        if isinstance(exception, DataError):
            # A value validation let through that the database refuses: the request's fault.
            logger.warning("database refused a value in %s: %s", request.path, exception)
            return error(request, ErrorCode.BAD_REQUEST, "a value in the request cannot be stored")
        if isinstance(exception, (OperationalError, InterfaceError)):
            # No connection within DATABASE_POOL_TIMEOUT, or one lost mid-request: the
            # transaction rolled back, and every /v1 call is safe to repeat.
            logger.warning("database unavailable in %s: %s", request.path, exception)
            return error(
                request,
                ErrorCode.SERVICE_UNAVAILABLE,
                "the database is unavailable; retry later",
                retry_after=DATABASE_RETRY_AFTER,
            )
        logger.exception("unhandled error in %s %s", request.method, request.path)
        return error(request, ErrorCode.INTERNAL_ERROR, "internal error; retry later")
