from __future__ import annotations

from django.apps import AppConfig


class PlaySessionsConfig(AppConfig):
    name = "sessions"
    # Never clashes with django.contrib.sessions, whose label is "sessions".
    label = "playsessions"
    verbose_name = "PlayWave sessions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from sessions import checks  # noqa: F401  (registers the system checks)
        from sessions.events import subscribe
        from sessions.keys import forget_launcher_keys
        from sessions.metrics import on_session_event
        from sessions.models import Cafe, CafeNetwork

        subscribe(on_session_event)
        # A cafe or a network saved or deleted here: this process's launcher keys are redone.
        for model in (Cafe, CafeNetwork):
            for signal in (post_save, post_delete):
                signal.connect(forget_launcher_keys, sender=model, dispatch_uid=f"keys-{model}")
