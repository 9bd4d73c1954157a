from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from sessions import actions
from sessions.management.operator import OperatorCommand
from sessions.models import ApiKey


class Command(OperatorCommand):
    help = "Revoke a game API key by its key id; calls with it get 401 INVALID_API_KEY."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("key_id")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            key = ApiKey.objects.get(key_id=options["key_id"])
        except ApiKey.DoesNotExist:
            raise CommandError(f"no API key with id {options['key_id']!r}") from None
        revoked, _ = actions.revoke_keys(self.actor(), [key], now=timezone.now())
        text = f"revoked {key.key_id}" if revoked else f"{key.key_id} was already revoked"
        self.emit(options, {"key_id": key.key_id, "revoked": True}, text)
