"""System checks for settings that only make sense together."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def timer_checks(app_configs: Any, **kwargs: Any) -> list[Error | Warning]:
    problems: list[Error | Warning] = []
    if settings.PLAYWAVE_SESSION_TIMEOUT <= settings.PLAYWAVE_HEARTBEAT_INTERVAL:
        problems.append(
            Error(
                "PLAYWAVE_SESSION_TIMEOUT must be longer than PLAYWAVE_HEARTBEAT_INTERVAL, "
                "or every session expires between two heartbeats.",
                id="playsessions.E001",
            )
        )
    if settings.PLAYWAVE_LAUNCHER_TIMEOUT <= settings.PLAYWAVE_LAUNCHER_HEARTBEAT_INTERVAL:
        problems.append(
            Error(
                "PLAYWAVE_LAUNCHER_TIMEOUT must be longer than "
                "PLAYWAVE_LAUNCHER_HEARTBEAT_INTERVAL, or every launcher dies between beats.",
                id="playsessions.E002",
            )
        )
    if settings.PLAYWAVE_REAPER_INTERVAL > 2:
        problems.append(
            Warning(
                "PLAYWAVE_REAPER_INTERVAL over 2 s: sessions end later than 2 s past due.",
                id="playsessions.W001",
            )
        )
    return problems
