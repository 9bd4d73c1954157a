from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from sessions import actions
from sessions.management.operator import OperatorCommand
from sessions.models import Cafe


class Command(OperatorCommand):
    help = "Add prepaid G-coin to a cafe (recorded in its ledger)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("cafe_id", type=int)
        parser.add_argument("amount", type=int)
        parser.add_argument("--note", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["amount"] <= 0:
            raise CommandError("the amount must be a positive number of G-coin")
        try:
            balance = actions.topup(
                self.actor(),
                options["cafe_id"],
                options["amount"],
                now=timezone.now(),
                note=options["note"],
            ).balance
        except Cafe.DoesNotExist:
            raise CommandError(f"no cafe with id {options['cafe_id']}") from None
        result = {"cafe_id": options["cafe_id"], "balance": balance}
        self.emit(options, result, f"cafe {options['cafe_id']} balance {balance}")
