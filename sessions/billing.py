"""Provisioning and billing: cafes, top-ups, charges, and the settlement report.

Every balance change locks the cafe row (after any game session rows: OTT → game sessions →
cafe, so concurrent writers cannot deadlock) and writes a ledger entry beside it: for every
cafe, top-ups - charges = balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Sum

from sessions.events import SessionEvent, send_event_on_commit, session_event
from sessions.lifecycle import State
from sessions.models import BalanceEntry, Cafe, CafeNetwork, Game, GameSession


@transaction.atomic
def create_cafe(name: str, networks: list[str], *, balance: int = 0, now: datetime) -> Cafe:
    cafe = Cafe(name=name)
    cafe.full_clean(exclude=["launcher_key_id", "launcher_secret"])
    cafe.save()
    for cidr in networks:
        network = CafeNetwork(cafe=cafe, cidr=cidr)
        network.full_clean()
        network.save()
    if balance:
        topup(cafe.pk, balance, now=now, note="opening balance")
        cafe.refresh_from_db(fields=["balance"])
    return cafe


def topup(cafe_id: int, amount: int, *, now: datetime, note: str = "") -> int:
    """Add `amount` G-coin to a cafe's balance and record it; returns the new balance."""
    if amount <= 0:
        raise ValueError("a top-up must be a positive number of G-coin")
    with transaction.atomic():
        cafe = Cafe.objects.select_for_update().get(pk=cafe_id)
        return credit_locked(cafe, amount, now=now, note=note).balance_after


def credit_locked(
    cafe: Cafe,
    amount: int,
    *,
    now: datetime,
    note: str = "",
    actor: Any = None,
    idempotency_key: str | None = None,
) -> BalanceEntry:
    """Credit a cafe whose row the caller has locked (`select_for_update`) and record it."""
    cafe.balance += amount
    Cafe.objects.filter(pk=cafe.pk).update(balance=cafe.balance)
    send_event_on_commit(SessionEvent("topup", now, cafe_id=cafe.pk, data={"coins": amount}))
    return BalanceEntry.objects.create(
        cafe=cafe,
        kind=BalanceEntry.Kind.TOPUP,
        amount=amount,
        balance_after=cafe.balance,
        note=note,
        created_at=now,
        created_by=actor if getattr(actor, "pk", None) is not None else None,
        idempotency_key=idempotency_key,
    )


def locked_balance(cafe_id: int) -> int:
    """Lock a cafe's row and read its balance (the caller is in a transaction)."""
    return Cafe.objects.select_for_update().values_list("balance", flat=True).get(pk=cafe_id)


def charge_locked(session: GameSession, amount: int, balance: int, now: datetime) -> None:
    """Move `amount` from the session's cafe (row locked by the caller, at `balance`) to it."""
    if amount <= 0:
        return
    Cafe.objects.filter(pk=session.cafe_id).update(balance=F("balance") - amount)
    BalanceEntry.objects.create(
        cafe_id=session.cafe_id,
        kind=BalanceEntry.Kind.CHARGE,
        amount=amount,
        balance_after=balance - amount,
        session=session,
        created_at=now,
    )
    send_event_on_commit(session_event("charged", session, now, coins=amount))


# --- The settlement report (read-only) --------------------------------------------------------


@dataclass(frozen=True)
class SettlementRow:
    game: str
    cafe_id: int
    cafe: str
    sessions: int
    play_seconds: int
    coins: int


def settlement(
    start: datetime, end: datetime, *, cafe_id: int | None = None
) -> list[SettlementRow]:
    """Per game and cafe, the sessions that ended in [start, end): count, play time, G-coin."""
    ended = GameSession.objects.filter(state=State.ENDED, ended_at__gte=start, ended_at__lt=end)
    if cafe_id is not None:
        ended = ended.filter(cafe_id=cafe_id)
    # Summed by ids alone (an index-only scan on PostgreSQL); names are looked up after.
    rows = list(
        ended.order_by()
        .values("game_id", "cafe_id")
        .annotate(n=Count("id"), play=Sum("play_duration_sec"), coins=Sum("coins_charged"))
    )
    games = dict(Game.objects.filter(pk__in={r["game_id"] for r in rows}).values_list("pk", "slug"))
    cafes = dict(Cafe.objects.filter(pk__in={r["cafe_id"] for r in rows}).values_list("pk", "name"))
    result = [
        SettlementRow(
            games[r["game_id"]],
            r["cafe_id"],
            cafes[r["cafe_id"]],
            r["n"],
            r["play"] or 0,
            r["coins"] or 0,
        )
        for r in rows
    ]
    result.sort(key=lambda r: (r.game, r.cafe, r.cafe_id))
    return result
