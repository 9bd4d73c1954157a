"""The one place session changes are announced: after commit, to every registered listener.

Domain functions call `send_event_on_commit`; listeners (metrics, the live dashboard) subscribe
with `subscribe`. A rolled-back transaction announces nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction

if TYPE_CHECKING:
    from sessions.models import GameSession

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionEvent:
    kind: str  # started, heartbeat, heartbeat_late, charged, exhausted, ended, topup
    at: datetime
    game: str = ""  # game slug
    session_id: str = ""
    cafe_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


def session_event(kind: str, session: GameSession, now: datetime, **data: Any) -> SessionEvent:
    return SessionEvent(
        kind,
        now,
        game=session.game.slug,
        session_id=session.public_id,
        cafe_id=session.cafe_id,
        data=data,
    )


Listener = Callable[[SessionEvent], None]
_listeners: list[Listener] = []


def subscribe(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def unsubscribe(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def _deliver(event: SessionEvent) -> None:
    for listener in list(_listeners):
        try:
            listener(event)
        except Exception:
            # A broken listener must never undo or block a committed session change.
            logger.exception("session event listener %r failed on %s", listener, event.kind)


def send_event_on_commit(event: SessionEvent) -> None:
    transaction.on_commit(lambda: _deliver(event))
