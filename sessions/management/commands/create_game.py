from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser

from sessions.management.operator import OperatorCommand
from sessions.models import Game


class Command(OperatorCommand):
    help = "Create a game that game servers can start sessions for."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--coins-per-minute", type=int, required=True)
        parser.add_argument("--featured", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        game = Game(
            slug=options["slug"],
            name=options["name"],
            coins_per_minute=options["coins_per_minute"],
            featured=options["featured"],
        )
        try:
            game.full_clean()
        except ValidationError as exc:
            raise CommandError(format_errors(exc)) from None
        game.save()
        result = {"slug": game.slug, "name": game.name, "coins_per_minute": game.coins_per_minute}
        self.emit(
            options,
            result,
            f"created game {game.slug} ({game.name}), {game.coins_per_minute} G-coin/min",
        )


def format_errors(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return "; ".join(exc.messages)
