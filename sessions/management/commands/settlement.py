from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser

from sessions import billing
from sessions.management.operator import OperatorCommand


class Command(OperatorCommand):
    help = "Settlement per game and cafe for sessions ended in a period (UTC days)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            first, last = date.fromisoformat(options["start"]), date.fromisoformat(options["end"])
        except ValueError as exc:
            raise CommandError(f"dates must be YYYY-MM-DD: {exc}") from None
        if last < first:
            raise CommandError("--to is before --from")
        start = datetime.combine(first, time.min, tzinfo=UTC)
        end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)
        rows = billing.settlement(start, end)
        result = {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "rows": [dataclasses.asdict(r) for r in rows],
        }
        lines = [f"{'game':<20} {'cafe':<30} {'sessions':>9} {'play s':>10} {'G-coin':>10}"]
        lines += [
            f"{r.game:<20} {r.cafe[:30]:<30} {r.sessions:>9} {r.play_seconds:>10} {r.coins:>10}"
            for r in rows
        ]
        self.emit(options, result, "\n".join(lines))
