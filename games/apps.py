from __future__ import annotations

from django.apps import AppConfig


class GamesConfig(AppConfig):
    name = "games"
    verbose_name = "Join-code games"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from games import metrics  # noqa: F401  (every process exports the engine's series)
        from games.serving import allow_protocol_close_codes

        allow_protocol_close_codes()
