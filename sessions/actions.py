"""Operator actions: each one atomic, audited in its own transaction, and announced after commit
by the domain functions it calls (`sessions.billing`, `sessions.game_sessions`, `sessions.keys`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict

from audit.log import record
from audit.models import Action
from sessions import billing, game_sessions
from sessions.keys import forget_api_keys, forget_launcher_keys
from sessions.lifecycle import State, Touch
from sessions.models import PC, ApiKey, BalanceEntry, Cafe, Game, GameSession


@dataclass(frozen=True)
class TopUpResult:
    balance: int
    entry: BalanceEntry
    duplicate: bool  # the same form was submitted before: nothing was credited this time


def topup(
    actor: Any, cafe_id: int, amount: int, *, now: datetime, note: str = "", token: str = ""
) -> TopUpResult:
    """Credit a cafe once per form token, with who did it in the ledger and the audit log."""
    if amount <= 0:
        raise ValueError("a top-up must be a positive number of G-coin")
    try:
        with transaction.atomic():
            # The cafe row lock serialises top-ups of one cafe: a second submit of the same
            # token waits here, then finds the first one's entry.
            cafe = Cafe.objects.select_for_update().get(pk=cafe_id)
            if token:
                earlier = BalanceEntry.objects.filter(idempotency_key=token).first()
                if earlier is not None:
                    return TopUpResult(cafe.balance, earlier, duplicate=True)
            before = cafe.balance
            entry = billing.credit_locked(
                cafe, amount, now=now, note=note, actor=actor, idempotency_key=token or None
            )
            record(
                actor,
                Action.TOPUP,
                cafe,
                now=now,
                before={"balance": before},
                after={"balance": entry.balance_after, "amount": amount},
                note=note,
            )
            return TopUpResult(entry.balance_after, entry, duplicate=False)
    except IntegrityError:
        # The same token raced past the lock on another cafe id: the first one won.
        earlier = BalanceEntry.objects.get(idempotency_key=token)
        balance = Cafe.objects.values_list("balance", flat=True).get(pk=earlier.cafe_id)
        return TopUpResult(balance, earlier, duplicate=True)


def issue_key(actor: Any, game: Game, *, now: datetime, label: str = "") -> ApiKey:
    with transaction.atomic():
        key = ApiKey.objects.issue(game, label=label or f"issued by {actor}")
        record(
            actor,
            Action.KEY_ISSUE,
            key,
            now=now,
            after={"game": game.slug, "environment": key.environment, "label": key.label},
        )
    return key


def revoke_keys(actor: Any, keys: list[ApiKey], *, now: datetime) -> tuple[list[str], list[str]]:
    """Revoke keys; returns (revoked now, already revoked before)."""
    revoked, already = [], []
    for key in keys:
        with transaction.atomic():
            n = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now)
            if n == 1:
                revoked.append(key.key_id)
                record(
                    actor,
                    Action.KEY_REVOKE,
                    key,
                    now=now,
                    before={"revoked_at": None},
                    after={"revoked_at": now},
                )
            else:
                already.append(key.key_id)
    if revoked:
        forget_api_keys()
    return revoked, already


def end_session(actor: Any, session_pk: uuid.UUID, *, now: datetime) -> bool:
    """End an ACTIVE session as an operator (`operator` end reason); False if it was not ACTIVE."""
    with transaction.atomic():
        session = (
            GameSession.objects.select_for_update(of=("self",))
            .select_related("launcher_session", "game", "cafe")
            .filter(pk=session_pk)
            .order_by()
            .first()
        )
        if session is None or session.state != State.ACTIVE:
            return False
        touched = game_sessions.touch_locked(session, now, Touch.END_OPERATOR)
        if not touched.decided_end:  # pragma: no cover - an ACTIVE session always ends here
            return False
        record(
            actor,
            Action.SESSION_END,
            session,
            now=now,
            before={"state": State.ACTIVE},
            after={"state": session.state, "end_reason": session.end_reason},
            note=f"{session.game.slug} at {session.cafe.name}",
        )
    game_sessions.settle(session.pk, now=now)
    return True


CAFE_FIELDS = ["name", "status"]
PC_FIELDS = ["hardware_id", "hostname", "internal_ip"]


def cafe_values(cafe: Cafe) -> dict[str, Any]:
    return model_to_dict(cafe, fields=CAFE_FIELDS)


def _status_action(status: str) -> Action:
    return Action.CAFE_SUSPEND if status == Cafe.Status.SUSPENDED else Action.CAFE_RESUME


def record_cafe_change(
    actor: Any, cafe: Cafe, before: dict[str, Any] | None, *, now: datetime
) -> None:
    """Audit a cafe edited in the admin: suspend and resume get their own actions."""
    after = cafe_values(cafe)
    if before is None:
        record(actor, Action.CAFE_CREATE, cafe, now=now, after=after)
        return
    if before.get("status") != after["status"]:
        record(
            actor,
            _status_action(after["status"]),
            cafe,
            now=now,
            before={"status": before.get("status")},
            after={"status": after["status"]},
        )
    renamed = {k: v for k, v in after.items() if k != "status" and before.get(k) != v}
    if renamed:
        record(
            actor,
            Action.CAFE_CHANGE,
            cafe,
            now=now,
            before={k: before.get(k) for k in renamed},
            after=renamed,
        )


def set_cafe_status(actor: Any, cafe: Cafe, status: str, *, now: datetime) -> bool:
    """Suspend or resume a cafe; False if it already had that status."""
    with transaction.atomic():
        before = (
            Cafe.objects.select_for_update().filter(pk=cafe.pk).values_list("status", flat=True)
        )
        old = before.first()
        if old is None or old == status:
            return False
        Cafe.objects.filter(pk=cafe.pk).update(status=status)
        forget_launcher_keys()
        cafe.status = status
        record(
            actor,
            _status_action(status),
            cafe,
            now=now,
            before={"status": old},
            after={"status": status},
        )
    return True


def networks_of(cafe: Cafe) -> list[str]:
    return sorted(cafe.networks.values_list("cidr", flat=True))


def pcs_of(cafe: Cafe) -> dict[str, dict[str, Any]]:
    return {str(pc.pk): model_to_dict(pc, fields=PC_FIELDS) for pc in PC.objects.filter(cafe=cafe)}


def pc_values(pk: int | None) -> dict[str, Any] | None:
    if pk is None:
        return None
    row = PC.objects.filter(pk=pk).values("cafe_id", *PC_FIELDS).first()
    return dict(row) if row else None
