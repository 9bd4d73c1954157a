"""The one function every operator action calls, inside the action's own transaction."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from audit.models import Action, AuditEntry


def _plain(value: Any) -> Any:
    """JSON-safe copy (dates, decimals, UUIDs, IPs as text)."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, default=str))


def record(
    actor: Any,
    action: Action | str,
    target: models.Model | tuple[str, str | int, str],
    *,
    now: datetime,
    before: Any = None,
    after: Any = None,
    note: str = "",
) -> AuditEntry:
    """Write one audit row; `target` is a model instance or (type, id, description)."""
    if isinstance(target, models.Model):
        target_type = target._meta.model_name or type(target).__name__.lower()
        target_id, target_repr = str(target.pk), str(target)
    else:
        target_type, raw_id, target_repr = target
        target_id = str(raw_id)
    user = actor if getattr(actor, "pk", None) is not None else None
    name = getattr(actor, "get_username", None)
    return AuditEntry.objects.create(
        at=now,
        actor=user,
        actor_name=(name() if callable(name) else str(actor or "system"))[:150],
        action=str(action),
        target_type=target_type[:50],
        target_id=target_id[:100],
        target_repr=target_repr[:200],
        before=_plain(before),
        after=_plain(after),
        note=note[:300],
    )
