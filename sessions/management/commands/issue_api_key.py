from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from sessions.management.operator import OperatorCommand
from sessions.models import ApiKey, Game


class Command(OperatorCommand):
    help = "Issue an API key for a game; the raw key is printed now and never again."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("slug")
        parser.add_argument("--label", default="")
        parser.add_argument("--environment", help="defaults to this server's PLAYWAVE_ENVIRONMENT")

    def handle(self, *args: Any, **options: Any) -> None:
        game = Game.objects.filter(slug=options["slug"]).first()
        if game is None:
            raise CommandError(f"no game with slug {options['slug']!r}")
        key = ApiKey.objects.issue(game, label=options["label"], environment=options["environment"])
        result = {"key": key.raw_key, "key_id": key.key_id, "game": game.slug}
        self.emit(
            options,
            result,
            f"{key.key_id} for {game.slug}: {key.raw_key}\n(store it now: it is not shown again)",
        )
