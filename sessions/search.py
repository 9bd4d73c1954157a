"""One search for what the operator sees: a `gs_` id (whole or prefix), a bare UUID, a provider
user id, a PC's hardware id, hostname or IP, or a cafe name.

Each kind of term is turned into index-friendly conditions: a session id prefix becomes a range
on the primary key (no cast of the id to text), PCs and cafes — small tables — are looked up
first and matched by their ids.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import uuid

from django.db.models import Q

from sessions.models import PC, Cafe

_HEX = re.compile(r"^[0-9a-f]+$")
MIN_ID_PREFIX = 4  # shorter hex strings are too likely to be something else (a user id)
MAX_TERMS_MATCHED = 500  # PCs or cafes a term may match before it is too vague to help


def id_range(term: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """The smallest and largest UUID starting with `term` (`gs_` and dashes optional)."""
    raw = term.strip().lower()
    raw = raw.removeprefix("gs_").removeprefix("playwave_").replace("-", "")
    if not raw or len(raw) > 32 or not _HEX.match(raw):
        return None
    if len(raw) < MIN_ID_PREFIX and not term.strip().lower().startswith("gs_"):
        return None
    return uuid.UUID(raw.ljust(32, "0")), uuid.UUID(raw.ljust(32, "f"))


def pc_ids(term: str) -> list[int]:
    """PCs whose hardware id or hostname starts with `term`, or whose IP is `term`."""
    cond = Q(hardware_id__istartswith=term) | Q(hostname__istartswith=term)
    with contextlib.suppress(ValueError):
        cond |= Q(internal_ip=str(ipaddress.ip_address(term)))
    return list(PC.objects.filter(cond).values_list("pk", flat=True)[:MAX_TERMS_MATCHED])


def cafe_ids(term: str) -> list[int]:
    return list(
        Cafe.objects.filter(name__icontains=term).values_list("pk", flat=True)[:MAX_TERMS_MATCHED]
    )


def session_q(term: str, *, prefix: str = "") -> Q | None:
    """Conditions on GameSession (or, with `prefix` such as "session__", a model that points at
    one) matching `term`; None for a blank term."""
    term = term.strip()
    if not term:
        return None
    cond = Q(**{f"{prefix}provider_user_id": term})
    span = id_range(term)
    if span is not None:
        cond |= Q(**{f"{prefix}id__gte": span[0], f"{prefix}id__lte": span[1]})
    pcs = pc_ids(term)
    if pcs:
        cond |= Q(**{f"{prefix}pc_id__in": pcs})
    cafes = cafe_ids(term)
    if cafes:
        cond |= Q(**{f"{prefix}cafe_id__in": cafes})
    return cond
