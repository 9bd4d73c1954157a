"""Shared shape of the operator commands: `--json` prints one JSON object for scripts."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class OperatorCommand(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    @staticmethod
    def actor() -> str:
        """Who the audit log says did it: the shell account running the command."""
        import getpass

        try:
            return f"cli:{getpass.getuser()}"
        except (KeyError, OSError):
            return "cli"

    def emit(self, options: dict[str, Any], result: dict[str, Any], text: str) -> None:
        if options["json"]:
            self.stdout.write(json.dumps(result, sort_keys=True))
        else:
            self.stdout.write(text)
