"""/v1/openapi.json describes exactly what the API does: property-tested with schemathesis."""

from __future__ import annotations

import pytest
import schemathesis
from django.test import Client, override_settings
from django.urls import URLPattern
from hypothesis import HealthCheck, settings

from playwave.wsgi import application
from sessions.api import urls as api_urls

# Calls go straight into the WSGI app in-process, no server needed.
schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", application)


def test_document_is_served_and_lists_every_game_server_endpoint(db: None) -> None:
    response = Client().get("/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    routed = {
        "/v1/" + str(p.pattern)
        for p in api_urls.urlpatterns
        if isinstance(p, URLPattern) and p.name != "openapi"
    }
    assert set(document["paths"]) == routed


@pytest.fixture
def game_key(server, pc) -> str:  # type: ignore[no-untyped-def]
    """A valid game key (and a cafe with a PC) for the generated calls."""
    return str(server.key)


@pytest.mark.django_db(transaction=True)
# Generated calls come from one address with many bad keys: limits would answer most with 429.
@override_settings(RATE_LIMITS=False)
@schema.parametrize()
@settings(
    max_examples=40,
    derandomize=True,  # the same cases every run, so CI cannot flake
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_generated_call_gets_an_answer_the_document_allows(case, game_key) -> None:  # type: ignore[no-untyped-def]
    # No 500s, status codes and bodies as documented, content type as documented.
    case.call_and_validate(headers={"X-Api-Key": game_key})
