from __future__ import annotations

import logging
import subprocess
import sys
from typing import Any

from django.conf import settings
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
        parser.add_argument(
            "--simulate",
            action="store_true",
            help="also run `simulate` against this server until it stops (README, Simulator)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from daphne.server import Server

        from playwave.asgi import application

        reaper = None if options["no_reaper"] else Reaper()
        if reaper is not None:
            reaper.start_thread()
        host, port = options["host"], options["port"]
        interface = host.strip("[]").replace(":", r"\:")
        self.stdout.write(f"PlayWave serving on http://{host}:{port}/ (admin at /admin/)")
        simulator = self.start_simulator(host, port) if options["simulate"] else None
        try:
            Server(
                application=application,
                endpoints=[f"tcp:port={port}:interface={interface}"],
                verbosity=0,
            ).run()
        finally:
            if reaper is not None:
                reaper.stop()
            if simulator is not None:
                # The server is gone, so there is nothing to wind down against: stop it now.
                # Its sessions left ACTIVE expire through the reaper on the next start.
                simulator.kill()
                simulator.wait(timeout=10)

    def start_simulator(self, host: str, port: int) -> subprocess.Popen[bytes]:
        """`manage.py simulate` in a child process, once the server answers."""
        target = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "[::]": "[::1]"}.get(host, host)  # noqa: S104
        if ":" in target and not target.startswith("["):
            target = f"[{target}]"
        command = [
            sys.executable,
            str(settings.BASE_DIR / "manage.py"),
            "simulate",
            "--url",
            f"http://{target}:{port}",
            "--duration",
            "0",
            "--wait-for-server",
            "60",
            "--allow-errors",
        ]
        self.stdout.write(
            f"simulator: {settings.PLAYWAVE_HEARTBEAT_INTERVAL} s heartbeats, "
            f"{settings.PLAYWAVE_SESSION_TIMEOUT} s session timeout (README, Simulator)"
        )
        # Its own session: the terminal's Ctrl-C stops the server, which then stops it.
        return subprocess.Popen(command, start_new_session=True)  # noqa: S603
