from __future__ import annotations

import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sessions.reaper import Reaper

logger = logging.getLogger("playwave.serve")


class Command(BaseCommand):
    help = (
        "Serve the whole service in one process (HTTP, WebSockets, static files) with the "
        "reaper running in a background thread: the embedded default."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-reaper", action="store_true", help="run `run_reaper` apart")

    def handle(self, *args: Any, **options: Any) -> None:
        from daphne.server import Server

        from playwave.asgi import application

        reaper = None if options["no_reaper"] else Reaper()
        if reaper is not None:
            reaper.start_thread()
        host, port = options["host"], options["port"]
        interface = host.strip("[]").replace(":", r"\:")
        self.stdout.write(f"PlayWave serving on http://{host}:{port}/ (admin at /admin/)")
        try:
            Server(
                application=application,
                endpoints=[f"tcp:port={port}:interface={interface}"],
                verbosity=0,
            ).run()
        finally:
            if reaper is not None:
                reaper.stop()
