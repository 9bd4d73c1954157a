"""Rulesets stored in the database (edited in the admin), next to the built-in files."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from games.engine import Ruleset, RulesetError, builtin_rulesets, load_ruleset_text


def ruleset_errors(text: str, fmt: str) -> tuple[Ruleset | None, list[tuple[str, str]]]:
    """The compiled ruleset, or the engine's path-exact errors."""
    try:
        return load_ruleset_text(text, "json" if fmt == "json" else "yaml"), []
    except RulesetError as exc:
        return None, list(exc.errors)


class StoredRuleset(models.Model):
    """A game as data: a YAML or JSON ruleset document, validated by the engine on save."""

    FORMATS = [("yaml", "YAML"), ("json", "JSON")]

    ruleset_id = models.SlugField(
        max_length=64, unique=True, editable=False, help_text="Taken from the document's id."
    )
    name = models.CharField(max_length=200, editable=False)
    format = models.CharField(max_length=4, choices=FORMATS, default="yaml")
    text = models.TextField(help_text="The ruleset document (see docs/engine.md).")
    enabled = models.BooleanField(default=True, help_text="Listed in the GM's game library.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["ruleset_id"]
        verbose_name = "ruleset"

    def __str__(self) -> str:
        return f"{self.name} ({self.ruleset_id})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Validated on every save, not only through forms: a broken game never reaches a GM.
        self.clean()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        rs, errors = ruleset_errors(self.text, self.format)
        if errors:
            raise ValidationError(
                {"text": [f"{path or '(document)'}: {msg}" for path, msg in errors]}
            )
        assert rs is not None  # noqa: S101 - no errors means a ruleset
        if rs.id in builtin_rulesets():
            raise ValidationError({"text": [f'id: "{rs.id}" is a built-in game; choose another']})
        clash = StoredRuleset.objects.filter(ruleset_id=rs.id).exclude(pk=self.pk)
        if clash.exists():
            raise ValidationError({"text": [f'id: another stored ruleset already uses "{rs.id}"']})
        self.ruleset_id = rs.id
        self.name = rs.spec.name

    def compiled(self) -> Ruleset | None:
        """The ruleset, or None if the document no longer validates (engine changed)."""
        rs, _ = ruleset_errors(self.text, self.format)
        return rs


class LiveSessionEntry(models.Model):
    """No table: lets the admin list the live sessions held in server memory (read-only)."""

    class Meta:
        managed = False
        verbose_name = "live session"
        verbose_name_plural = "live sessions"
        default_permissions = ("view",)

    def __str__(self) -> str:
        return "live session"
