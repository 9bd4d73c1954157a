"""The production URLconf plus `bench/bare`: a JSON view with no database, the yardstick."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import include, path


def bare(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"success": True, "data": {"result": "OK"}})


urlpatterns = [
    path("bench/bare", bare, name="bench-bare"),
    path("", include("playwave.urls")),
]
