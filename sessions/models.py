"""Games, keys, cafes, PCs, launcher sessions, OTTs, game sessions and the G-coin ledger."""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from sessions.lifecycle import (
    EndReason,
    LauncherFacts,
    SessionFacts,
    State,
    Timers,
    launcher_alive,
    launcher_cutoff,
)

if TYPE_CHECKING:
    from django.db.models.fields.related_descriptors import RelatedManager


def sha256_hex(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def timers() -> Timers:
    return Timers(
        session_timeout=settings.PLAYWAVE_SESSION_TIMEOUT,
        grace_period=settings.PLAYWAVE_GRACE_PERIOD,
        billing_unit=settings.PLAYWAVE_BILLING_UNIT,
        launcher_timeout=settings.PLAYWAVE_LAUNCHER_TIMEOUT,
    )


slug_validator = RegexValidator(r"^[a-z0-9][a-z0-9-]{0,62}$", "lowercase letters, digits and -")


class Game(models.Model):
    slug = models.CharField(max_length=63, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    coins_per_minute = models.PositiveIntegerField(
        validators=[MinValueValidator(1)],
        help_text="G-coin charged per started billing unit (a minute unless time is compressed).",
    )
    is_active = models.BooleanField(default=True, help_text="Inactive games' keys are refused.")
    featured = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    if TYPE_CHECKING:
        api_keys: RelatedManager[ApiKey]

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(coins_per_minute__gte=1), name="game_rate_positive")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"


class ApiKeyManager(models.Manager["ApiKey"]):
    def issue(self, game: Game, *, label: str = "", environment: str | None = None) -> ApiKey:
        """Create a key for `game`; its `raw_key` is readable on the returned instance only."""
        env = environment or settings.PLAYWAVE_ENVIRONMENT
        raw = f"pw_{env}_{secrets.token_urlsafe(32)}"
        key = self.create(
            game=game,
            key_id=f"key_{secrets.token_hex(8)}",
            digest=sha256_hex(raw),
            environment=env,
            label=label,
        )
        key.raw_key = raw
        return key

    def resolve(self, raw: str) -> ApiKey | None:
        """The usable key for a raw key sent by a game server, or None."""
        return (
            self.select_related("game")
            .filter(
                digest=sha256_hex(raw),
                revoked_at__isnull=True,
                environment=settings.PLAYWAVE_ENVIRONMENT,
                game__is_active=True,
            )
            .first()
        )


class ApiKey(models.Model):
    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="api_keys")
    key_id = models.CharField(max_length=40, unique=True, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    environment = models.CharField(
        max_length=20,
        help_text="Keys only work on a server whose PLAYWAVE_ENVIRONMENT matches.",
    )
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyManager()
    raw_key: str = ""  # only set on the instance that issued it

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return self.key_id

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


def validate_cidr(value: str) -> None:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError as exc:
        raise ValidationError(f"{value!r} is not a network in CIDR form: {exc}") from exc


class Cafe(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        SUSPENDED = "suspended"

    name = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    balance = models.BigIntegerField(default=0, editable=False, help_text="Prepaid G-coin.")
    launcher_key_id = models.CharField(max_length=40, unique=True, editable=False)
    # HMAC needs the shared secret itself, so it is stored as issued; it is never shown again.
    launcher_secret = models.CharField(max_length=100, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    if TYPE_CHECKING:
        networks: RelatedManager[CafeNetwork]
        pcs: RelatedManager[PC]

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="cafe_balance_not_negative")
        ]
        permissions = [
            ("topup_cafe", "Can top up a cafe's G-coin balance"),
            ("view_settlement", "Can see settlement reports"),
            ("export_data", "Can export sessions, the ledger and settlements as CSV"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.launcher_key_id:
            self.launcher_key_id = f"cafe_{secrets.token_hex(8)}"
            self.launcher_secret = secrets.token_urlsafe(32)
        super().save(*args, **kwargs)

    def allows_ip(self, ip: str) -> bool:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(
            address in ipaddress.ip_network(n.cidr, strict=False) for n in self.networks.all()
        )


class CafeNetwork(models.Model):
    cafe = models.ForeignKey(Cafe, on_delete=models.CASCADE, related_name="networks")
    cidr = models.CharField(max_length=64, validators=[validate_cidr])

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cafe", "cidr"], name="cafe_network_once")]

    def __str__(self) -> str:
        return self.cidr


class PC(models.Model):
    cafe = models.ForeignKey(Cafe, on_delete=models.CASCADE, related_name="pcs")
    hardware_id = models.CharField(max_length=128)
    hostname = models.CharField(max_length=128, blank=True)
    internal_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "PC"
        constraints = [
            models.UniqueConstraint(fields=["cafe", "hardware_id"], name="pc_hardware_once")
        ]

    def __str__(self) -> str:
        return self.hostname or self.hardware_id

    @property
    def label(self) -> str:
        """Hostname and hardware id: several cafes' PCs may share a hostname such as seat-04."""
        if self.hostname and self.hostname != self.hardware_id:
            return f"{self.hostname} ({self.hardware_id})"
        return self.hardware_id


class LauncherSessionQuerySet(models.QuerySet["LauncherSession"]):
    def alive(self, now: datetime) -> LauncherSessionQuerySet:
        return self.filter(
            status=LauncherSession.Status.ACTIVE,
            last_heartbeat_at__gt=launcher_cutoff(now, timers()),
        )

    def dead(self, now: datetime) -> LauncherSessionQuerySet:
        """ACTIVE by status but silent too long: the reaper times them out."""
        return self.filter(
            status=LauncherSession.Status.ACTIVE,
            last_heartbeat_at__lte=launcher_cutoff(now, timers()),
        )


class LauncherSession(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        CLOSED = "closed"  # the launcher said goodbye
        REPLACED = "replaced"  # a newer launcher session started on the PC
        TIMED_OUT = "timed_out"  # silent past PLAYWAVE_LAUNCHER_TIMEOUT

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    cafe = models.ForeignKey(Cafe, on_delete=models.CASCADE, related_name="launcher_sessions")
    pc = models.ForeignKey(PC, on_delete=models.CASCADE, related_name="launcher_sessions")
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    launcher_version = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    started_at = models.DateTimeField()
    last_heartbeat_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = LauncherSessionQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(
                fields=["last_heartbeat_at"],
                condition=Q(status="active"),
                name="launcher_live_idx",
            )
        ]

    def __str__(self) -> str:
        return f"launcher {self.id}"

    def facts(self) -> LauncherFacts:
        return self.facts_of(self.status, self.last_heartbeat_at, self.ended_at)

    @classmethod
    def facts_of(
        cls, status: str, last_heartbeat_at: datetime, ended_at: datetime | None
    ) -> LauncherFacts:
        """What the state machine knows of a launcher, from its row's values."""
        closed = status in (cls.Status.CLOSED, cls.Status.REPLACED)
        return LauncherFacts(last_heartbeat_at, closed_at=ended_at if closed else None)

    def is_alive(self, now: datetime) -> bool:
        active = self.status == self.Status.ACTIVE
        return launcher_alive(active, self.last_heartbeat_at, now, timers())


class LauncherNonce(models.Model):
    """A launcher request's nonce, remembered until `expires_at` so the request cannot be replayed.

    In the database, not the cache: Redis may be flushed or down at any time (README), and a
    nonce forgotten within its window lets a captured request through again.
    """

    id = models.BigAutoField(primary_key=True)
    cafe = models.ForeignKey(Cafe, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=128)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cafe", "nonce"], name="launcher_nonce_once")
        ]
        indexes = [models.Index(fields=["expires_at"], name="launcher_nonce_expiry_idx")]

    def __str__(self) -> str:
        return self.nonce


class OneTimeToken(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    game = models.ForeignKey(Game, on_delete=models.CASCADE)
    launcher_session = models.ForeignKey(LauncherSession, on_delete=models.CASCADE)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    consumed_at = models.DateTimeField(null=True, blank=True)
    provider_user_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = "one-time token"

    def __str__(self) -> str:
        return str(self.id)


# The columns (of a game session, and through it of its launcher session) the state machine
# reads; `session_facts` is the one place they become `SessionFacts`.
FACT_FIELDS = (
    "started_at",
    "last_heartbeat_at",
    "rate",
    "coins_charged",
    "exhausted_at",
    "grace_until",
    "launcher_session__status",
    "launcher_session__last_heartbeat_at",
    "launcher_session__ended_at",
)


def session_facts(column: Callable[[str], Any]) -> SessionFacts:
    """What the state machine knows of a session, from its row's FACT_FIELDS by name."""
    return SessionFacts(
        started_at=column("started_at"),
        last_heartbeat_at=column("last_heartbeat_at"),
        rate=column("rate"),
        coins_charged=column("coins_charged"),
        exhausted_at=column("exhausted_at"),
        grace_until=column("grace_until"),
        launcher=LauncherSession.facts_of(
            column("launcher_session__status"),
            column("launcher_session__last_heartbeat_at"),
            column("launcher_session__ended_at"),
        ),
    )


class GameSessionQuerySet(models.QuerySet["GameSession"]):
    def active(self) -> GameSessionQuerySet:
        return self.filter(state=State.ACTIVE)

    def due(self, now: datetime) -> GameSessionQuerySet:
        return self.filter(state=State.ACTIVE, due_at__lte=now)


class GameSession(models.Model):
    STATE_CHOICES = [(s.value, s.value) for s in State]
    END_REASON_CHOICES = [(r.value, r.value) for r in EndReason]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    game = models.ForeignKey(Game, on_delete=models.PROTECT, related_name="sessions")
    cafe = models.ForeignKey(Cafe, on_delete=models.PROTECT, related_name="game_sessions")
    pc = models.ForeignKey(PC, on_delete=models.PROTECT, related_name="game_sessions")
    launcher_session = models.ForeignKey(
        LauncherSession, on_delete=models.PROTECT, related_name="game_sessions"
    )
    ott = models.OneToOneField(OneTimeToken, on_delete=models.PROTECT, related_name="session")
    provider_user_id = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=STATE_CHOICES, default=State.ACTIVE)
    started_at = models.DateTimeField()
    last_heartbeat_at = models.DateTimeField()
    heartbeat_count = models.PositiveIntegerField(default=0)
    # The moment the reaper must look at it: min(heartbeat deadline, end of grace).
    due_at = models.DateTimeField()
    rate = models.PositiveIntegerField(help_text="G-coin per billing unit, fixed at verify.")
    coins_charged = models.BigIntegerField(default=0)
    exhausted_at = models.DateTimeField(null=True, blank=True)
    grace_until = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, choices=END_REASON_CHOICES, blank=True)
    end_due_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True, help_text="When the end was decided.")
    play_until = models.DateTimeField(null=True, blank=True)
    play_duration_sec = models.PositiveIntegerField(null=True, blank=True)
    client_play_duration_sec = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = GameSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # One active game session per PC, whatever races the application loses.
            models.UniqueConstraint(
                fields=["pc"], condition=Q(state="ACTIVE"), name="one_active_session_per_pc"
            ),
            models.CheckConstraint(condition=Q(coins_charged__gte=0), name="charged_not_negative"),
        ]
        indexes = [
            models.Index(fields=["due_at"], condition=Q(state="ACTIVE"), name="session_due_idx"),
            models.Index(
                fields=["updated_at"], condition=Q(state="ENDING"), name="session_ending_idx"
            ),
            # The live dashboard reads what was written since its last look.
            models.Index(fields=["updated_at", "id"], name="session_written_idx"),
            models.Index(fields=["launcher_session", "state"], name="session_launcher_idx"),
            # The admin's and the dashboard's lists, newest first, whole or per cafe, PC or user.
            # (The admin adds -id to every ordering to make pages stable.)
            models.Index(fields=["-started_at", "-id"], name="session_started_idx"),
            models.Index(fields=["cafe", "-started_at", "-id"], name="session_cafe_started_idx"),
            models.Index(fields=["pc", "-started_at", "-id"], name="session_pc_started_idx"),
            models.Index(fields=["provider_user_id"], name="session_user_idx"),
            # Settlement: ended sessions of a period, summed without visiting the table.
            models.Index(
                fields=["ended_at"],
                include=["game", "cafe", "play_duration_sec", "coins_charged"],
                condition=Q(state="ENDED"),
                name="session_settle_idx",
            ),
        ]
        permissions = [("end_gamesession", "Can end game sessions")]

    def __str__(self) -> str:
        return self.public_id

    @property
    def public_id(self) -> str:
        return f"gs_{self.id}"

    def facts(self) -> SessionFacts:
        return session_facts(self._column)

    def _column(self, path: str) -> Any:
        value: Any = self
        for name in path.split("__"):
            value = getattr(value, name)
        return value

    def live_play_seconds(self, now: datetime) -> int:
        if self.play_duration_sec is not None:
            return self.play_duration_sec
        return max(0, int((now - self.started_at).total_seconds()))


class BalanceEntry(models.Model):
    """One change of a cafe's balance. For every cafe: top-ups - charges = balance."""

    class Kind(models.TextChoices):
        TOPUP = "topup"
        CHARGE = "charge"

    cafe = models.ForeignKey(Cafe, on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.BigIntegerField(validators=[MinValueValidator(1)])
    balance_after = models.BigIntegerField()
    session = models.ForeignKey(
        GameSession, null=True, blank=True, on_delete=models.PROTECT, related_name="charges"
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The operator who topped up (empty for charges and the CLI).",
    )
    # The token of the form that asked for a top-up: a second submit of it credits nothing.
    idempotency_key = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        verbose_name_plural = "balance entries"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_amount_positive")
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="ledger_recent_idx"),
            models.Index(fields=["cafe", "-created_at", "-id"], name="ledger_cafe_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} ({self.cafe_id})"
