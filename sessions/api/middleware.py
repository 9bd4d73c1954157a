"""Keeps every /v1 answer inside the envelope: unknown paths, wrong methods, crashes."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from sessions.api.envelope import error, request_id
from sessions.errors import ErrorCode

logger = logging.getLogger("sessions.api")

API_PREFIX = "/v1/"


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
        logger.exception("unhandled error in %s %s", request.method, request.path)
        return error(request, ErrorCode.INTERNAL_ERROR, "internal error; retry later")
