"""Admin: rulesets stored in the database (validated on save), live sessions read-only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.contrib import admin
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from audit.log import record
from audit.models import Action
from games import codes
from games.models import LiveSessionEntry, StoredRuleset
from games.registry import get_runtime


@admin.register(StoredRuleset)
class StoredRulesetAdmin(admin.ModelAdmin):
    list_display = ["ruleset_id", "name", "format", "enabled", "updated_at"]
    list_filter = ["enabled", "format"]
    search_fields = ["ruleset_id", "name"]
    readonly_fields = ["ruleset_id", "name", "updated_at"]
    fields = ["ruleset_id", "name", "format", "enabled", "text", "updated_at"]

    # Every change is in the operator audit log, with the document before and after.
    def save_model(self, request: HttpRequest, obj: StoredRuleset, form: Any, change: bool) -> None:
        before = (
            _ruleset_values(StoredRuleset.objects.filter(pk=obj.pk).first()) if change else None
        )
        super().save_model(request, obj, form, change)
        record(
            request.user,
            Action.RULESET_CHANGE,
            obj,
            now=timezone.now(),
            before=before,
            after=_ruleset_values(obj),
        )

    def delete_model(self, request: HttpRequest, obj: StoredRuleset) -> None:
        before, pk, label = _ruleset_values(obj), obj.pk, str(obj)
        super().delete_model(request, obj)
        record(
            request.user,
            Action.RULESET_CHANGE,
            ("storedruleset", pk, label),
            now=timezone.now(),
            before=before,
            after=None,
        )


def _ruleset_values(obj: StoredRuleset | None) -> dict[str, Any] | None:
    if obj is None:
        return None
    return {
        "ruleset_id": obj.ruleset_id,
        "format": obj.format,
        "enabled": obj.enabled,
        "text": obj.text,
    }


def _when(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


@admin.register(LiveSessionEntry)
class LiveSessionAdmin(admin.ModelAdmin):
    """Sessions live in server memory, not in a table: this page reads them from the runtime."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        runtime = get_runtime()
        rows = []
        for s in list(runtime.sessions.values()):
            row = s.summary()
            row["created_at"] = _when(row["created_at"])
            row["last_activity"] = _when(row["last_activity"])
            rows.append(row)
        rows.sort(key=lambda r: r["code"])
        elsewhere: list[str] = []
        iter_keys = getattr(cache, "iter_keys", None)
        if iter_keys is not None:  # django-redis: codes claimed by other server processes
            mine = set(runtime.sessions)
            for k in iter_keys(codes.KEY_PREFIX + "*"):
                code = str(k)[len(codes.KEY_PREFIX) :]
                if code not in mine:
                    elsewhere.append(code)
        context = {
            **self.admin_site.each_context(request),
            "title": "Live sessions",
            "opts": self.model._meta,
            "rows": rows,
            "elsewhere": sorted(elsewhere),
            "code_count": codes.CODE_COUNT,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/games/live_sessions.html", context)
