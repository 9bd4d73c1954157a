"""The operator audit log: who did what to which record, when, with the values before and after.

A shared leaf: the session service and the games layer both record into it, and it imports
neither of them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class Action(models.TextChoices):
    TOPUP = "topup", "top-up"
    KEY_ISSUE = "key_issue", "API key issued"
    KEY_REVOKE = "key_revoke", "API key revoked"
    SESSION_END = "session_end", "session ended by an operator"
    CAFE_CREATE = "cafe_create", "cafe created"
    CAFE_CHANGE = "cafe_change", "cafe changed"
    CAFE_SUSPEND = "cafe_suspend", "cafe suspended"
    CAFE_RESUME = "cafe_resume", "cafe resumed"
    NETWORK_CHANGE = "network_change", "cafe networks changed"
    PC_CHANGE = "pc_change", "PC changed"
    GAME_CHANGE = "game_change", "game changed"
    RULESET_CHANGE = "ruleset_change", "ruleset changed"
    LIVE_GAME_END = "live_game_end", "live game ended"
    LIVE_GAME_KICK = "live_game_kick", "player kicked from a live game"
    EXPORT = "export", "data exported"


class AuditEntry(models.Model):
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Kept as written: the record still says who it was after the account is renamed or gone.
    actor_name = models.CharField(max_length=150)
    action = models.CharField(max_length=32, choices=Action.choices)
    target_type = models.CharField(max_length=50)
    target_id = models.CharField(max_length=100)
    target_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
            models.Index(fields=["action", "at"], name="audit_action_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.action} {self.target_type}:{self.target_id}"

    @property
    def changes(self) -> dict[str, tuple[Any, Any]]:
        """Each field that differs between before and after."""
        before, after = self.before or {}, self.after or {}
        if not isinstance(before, dict) or not isinstance(after, dict):
            return {"value": (before, after)}
        keys = sorted(set(before) | set(after))
        return {k: (before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)}
