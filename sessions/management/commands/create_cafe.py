from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from sessions import billing
from sessions.management.commands.create_game import format_errors
from sessions.management.operator import OperatorCommand


class Command(OperatorCommand):
    help = "Create a PC cafe; prints its launcher key id and secret (the secret only now)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("name")
        parser.add_argument(
            "--network", action="append", required=True, help="CIDR; repeat for several"
        )
        parser.add_argument("--balance", type=int, default=0, help="opening G-coin balance")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["balance"] < 0:
            raise CommandError("--balance cannot be negative")
        try:
            cafe = billing.create_cafe(
                options["name"], options["network"], balance=options["balance"], now=timezone.now()
            )
        except ValidationError as exc:
            raise CommandError(format_errors(exc)) from None
        result = {
            "cafe_id": cafe.pk,
            "launcher_key_id": cafe.launcher_key_id,
            "launcher_secret": cafe.launcher_secret,
            "balance": cafe.balance,
        }
        self.emit(
            options,
            result,
            f"cafe {cafe.pk} {cafe.name!r}: balance {cafe.balance}\n"
            f"launcher key id {cafe.launcher_key_id}\n"
            f"launcher secret {cafe.launcher_secret} (store it now: it is not shown again)",
        )
