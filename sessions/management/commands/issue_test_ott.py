from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from sessions import launchers
from sessions.errors import ApiError
from sessions.management.operator import OperatorCommand
from sessions.models import Cafe, Game, LauncherSession


class Command(OperatorCommand):
    help = (
        "Issue a one-time token as the launcher of a cafe PC would, to test a game-server "
        "integration by hand. Starts a launcher session on the PC if none is running."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("game_slug")
        parser.add_argument("--cafe", type=int, required=True, help="cafe id")
        parser.add_argument("--pc", required=True, help="the PC's hardware id")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        game = Game.objects.filter(slug=options["game_slug"]).first()
        cafe = Cafe.objects.filter(pk=options["cafe"]).first()
        if game is None:
            raise CommandError(f"no game with slug {options['game_slug']!r}")
        if cafe is None:
            raise CommandError(f"no cafe with id {options['cafe']}")
        launcher = (
            LauncherSession.objects.filter(
                cafe=cafe, pc__hardware_id=options["pc"], status=LauncherSession.Status.ACTIVE
            )
            .order_by("-started_at")
            .first()
        )
        if launcher is None or not launchers.heartbeat_launcher(launcher, now=now):
            launcher = launchers.start_launcher_session(
                cafe, options["pc"], now=now, launcher_version="cli"
            ).session
        try:
            ott = launchers.issue_ott(launcher, game, now=now)
        except ApiError as exc:
            raise CommandError(exc.message) from None
        result = {
            "ott": str(ott.id),
            "launch_data": f"playwave_{ott.id}",
            "expires_in": int((ott.expires_at - now).total_seconds()),
            "launcher_session_id": str(launcher.pk),
        }
        self.emit(options, result, f"playwave_{ott.id}")
