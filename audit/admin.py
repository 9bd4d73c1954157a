"""The audit log in the admin: visible and filterable, never editable, never deletable."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from audit.models import AuditEntry


class ActorFilter(admin.SimpleListFilter):
    title = "actor"
    parameter_name = "actor_name"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        names = AuditEntry.objects.order_by("actor_name").values_list("actor_name", flat=True)
        return [(n, n) for n in names.distinct()[:200]]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        value = self.value()
        return queryset.filter(actor_name=value) if value else queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_name", "action", "target_type", "target", "change_summary"]
    list_filter = ["action", "target_type", ActorFilter, "at"]
    search_fields = ["=target_id", "target_repr", "actor_name", "note"]
    date_hierarchy = "at"
    list_per_page = 50
    show_full_result_count = False
    fields = [
        "at",
        "actor_name",
        "action",
        "target_type",
        "target_id",
        "target_repr",
        "note",
        "change_table",
    ]
    readonly_fields = list(fields)  # type: ignore[arg-type]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="target", ordering="target_repr")
    def target(self, entry: AuditEntry) -> str:
        return f"{entry.target_repr} ({entry.target_id})" if entry.target_repr else entry.target_id

    @admin.display(description="change")
    def change_summary(self, entry: AuditEntry) -> str:
        parts = [f"{k}: {_short(b)} → {_short(a)}" for k, (b, a) in entry.changes.items()]
        text = "; ".join(parts)
        if entry.note:
            text = f"{text} ({entry.note})" if text else entry.note
        return text[:300]

    @admin.display(description="before → after")
    def change_table(self, entry: AuditEntry) -> str:
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
            ((k, _short(b, 2000), _short(a, 2000)) for k, (b, a) in entry.changes.items()),
        )
        return format_html(
            "<table><thead><tr><th>field</th><th>before</th><th>after</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            rows,
        )


def _short(value: Any, limit: int = 80) -> str:
    text = "-" if value is None else value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
