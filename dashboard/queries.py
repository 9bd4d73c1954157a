"""What the live operator dashboard shows, read from the database (the record of every session).

The dashboard hub (`dashboard.hub`) polls these every half second in each ASGI process,
so a change made by any process — a gunicorn worker, a reaper — reaches every open dashboard
without the writers paying for a broadcast on their hot path.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, QuerySet

from sessions import search
from sessions.lifecycle import EndReason, State
from sessions.models import GameSession

PAGE_SIZE = 50
MAX_CHANGES = 500


@dataclass(frozen=True)
class TableQuery:
    """Server-side search, filters and page of the live sessions table."""

    search: str = ""
    state: str = ""
    game: str = ""
    cafe: int | None = None
    reason: str = ""
    page: int = 1

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> TableQuery:
        """Validate a client's query; unknown values are refused with ValueError."""
        state = str(raw.get("state") or "")
        if state and state not in State.__members__:
            raise ValueError(f"unknown state {state!r}")
        reason = str(raw.get("reason") or "")
        if reason and reason not in {r.value for r in EndReason}:
            raise ValueError(f"unknown end reason {reason!r}")
        cafe = raw.get("cafe")
        if cafe not in (None, ""):
            if not isinstance(cafe, int) and not str(cafe).isdigit():
                raise ValueError("cafe must be a cafe id")
            cafe = int(cafe)
        else:
            cafe = None
        page = raw.get("page", 1)
        if not isinstance(page, int) or page < 1:
            raise ValueError("page must be a positive whole number")
        search = str(raw.get("search") or "")[:100]
        return cls(search, state, str(raw.get("game") or "")[:63], cafe, reason, page)

    def filter(self, qs: QuerySet[GameSession]) -> QuerySet[GameSession]:
        if self.state:
            qs = qs.filter(state=self.state)
        if self.game:
            qs = qs.filter(game__slug=self.game)
        if self.cafe is not None:
            qs = qs.filter(cafe_id=self.cafe)
        if self.reason:
            qs = qs.filter(end_reason=self.reason)
        if self.search:
            # The admin's search: gs_ id or its start, UUID, user, PC (id, hostname, IP), cafe.
            cond = search.session_q(self.search)
            if cond is not None:
                qs = qs.filter(cond)
        return qs


def row(session: GameSession, now: datetime) -> dict[str, Any]:
    return {
        "id": session.public_id,
        "game": session.game.slug,
        "cafe": session.cafe.name,
        "cafe_id": session.cafe_id,
        "pc": session.pc.hardware_id,
        "pc_label": session.pc.label,
        "user": session.provider_user_id,
        "state": session.state,
        "end_reason": session.end_reason,
        "in_grace": session.exhausted_at is not None and session.state == State.ACTIVE,
        "started_at": session.started_at.isoformat(),
        "last_heartbeat_at": session.last_heartbeat_at.isoformat(),
        "play_sec": session.live_play_seconds(now),
        "coins": session.coins_charged,
    }


def _rows_qs() -> QuerySet[GameSession]:
    return GameSession.objects.select_related("game", "cafe", "pc")


def table(query: TableQuery, now: datetime) -> dict[str, Any]:
    qs = query.filter(_rows_qs()).order_by("-started_at")
    total = qs.count()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(query.page, pages)
    rows = [row(s, now) for s in qs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]]
    return {"total": total, "page": page, "pages": pages, "page_size": PAGE_SIZE, "rows": rows}


def totals(now: datetime) -> dict[str, Any]:
    """Counts by state, live sessions by game and cafe, ends by reason in the last hour."""
    by_state = dict(GameSession.objects.values_list("state").annotate(n=Count("id")))
    active = GameSession.objects.filter(state=State.ACTIVE)
    hour_ago = now - timedelta(hours=1)
    # Names come with the counts (grouped by id and name), not from a read of every game and
    # cafe at each poll.
    by_game = active.values_list("game_id", "game__slug").annotate(n=Count("id")).order_by("-n")
    by_cafe = active.values_list("cafe_id", "cafe__name").annotate(n=Count("id")).order_by("-n")
    return {
        "by_state": {s.value: by_state.get(s.value, 0) for s in State},
        "in_grace": active.filter(exhausted_at__isnull=False).count(),
        "active_by_game": {slug: n for _, slug, n in by_game},
        "active_by_cafe": {name: n for _, name, n in by_cafe[:20]},
        "ended_last_hour_by_reason": dict(
            GameSession.objects.filter(state=State.ENDED, ended_at__gte=hour_ago)
            .values_list("end_reason")
            .annotate(n=Count("id"))
        ),
    }


def written_since(since: datetime) -> list[tuple[uuid.UUID, datetime]]:
    """(id, updated_at) of every session written after `since`: a narrow index-only read."""
    return list(
        GameSession.objects.filter(updated_at__gt=since)
        .order_by("updated_at")
        .values_list("id", "updated_at")
    )


def rows_for(ids: list[uuid.UUID]) -> list[GameSession]:
    return list(_rows_qs().filter(id__in=ids).order_by("updated_at"))
