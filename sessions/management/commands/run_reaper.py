from __future__ import annotations

import signal
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sessions.reaper import Reaper


class Command(BaseCommand):
    help = "End due game sessions (heartbeat deadline, grace, dead launcher) until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="run one pass and exit")
        parser.add_argument("--batch", type=int, help="sessions per pass (default: setting)")
        parser.add_argument("--interval", type=float, help="seconds between idle passes")

    def handle(self, *args: Any, **options: Any) -> None:
        reaper = Reaper(batch=options["batch"], interval=options["interval"])
        if options["once"]:
            reaper.iterate()
            r = reaper.last_report
            self.stdout.write(
                f"ended {r.ended}, touched {r.touched}, "
                f"launchers timed out {r.launchers_timed_out}, settled {r.settled}"
            )
            return

        def on_signal(signum: int, frame: FrameType | None) -> None:
            # Finish the session in hand, then leave: a killed batch loses nothing anyway.
            reaper.stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        reaper.run()
