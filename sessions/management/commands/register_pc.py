from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from sessions.management.operator import OperatorCommand
from sessions.models import PC, Cafe


class Command(OperatorCommand):
    help = "Register a PC of a cafe by its hardware id (launchers also register on start)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("cafe_id", type=int)
        parser.add_argument("hardware_id")
        parser.add_argument("--hostname", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        cafe = Cafe.objects.filter(pk=options["cafe_id"]).first()
        if cafe is None:
            raise CommandError(f"no cafe with id {options['cafe_id']}")
        pc, created = PC.objects.get_or_create(
            cafe=cafe,
            hardware_id=options["hardware_id"],
            defaults={"hostname": options["hostname"]},
        )
        result = {
            "pc_id": pc.pk,
            "cafe_id": cafe.pk,
            "hardware_id": pc.hardware_id,
            "created": created,
        }
        self.emit(
            options, result, f"{'registered' if created else 'already registered'}: PC {pc.pk}"
        )
