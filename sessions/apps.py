from __future__ import annotations

from django.apps import AppConfig


class PlaySessionsConfig(AppConfig):
    name = "sessions"
    # Never clashes with django.contrib.sessions, whose label is "sessions".
    label = "playsessions"
    verbose_name = "PlayWave sessions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from sessions import checks  # noqa: F401  (registers the system checks)
        from sessions.events import subscribe
        from sessions.metrics import on_session_event

        subscribe(on_session_event)
