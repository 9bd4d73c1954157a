"""Operator admin: games and keys, cafes (networks, PCs, balance), sessions, the ledger."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from sessions import services
from sessions.lifecycle import State, Touch
from sessions.models import (
    PC,
    ApiKey,
    BalanceEntry,
    Cafe,
    CafeNetwork,
    Game,
    GameSession,
    LauncherSession,
)


class ReadOnlyMixin:
    """Rows the service writes; operators look, and act only through actions."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ApiKeyInline(ReadOnlyMixin, admin.TabularInline):
    model = ApiKey
    fields = ("key_id", "environment", "label", "created_at", "revoked_at")
    readonly_fields = fields
    extra = 0


@admin.register(Game)
class GameAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "coins_per_minute", "is_active", "featured", "active_keys"]
    list_filter = ["is_active", "featured"]
    search_fields = ["slug", "name"]
    inlines = [ApiKeyInline]
    actions = ["issue_key"]

    @admin.display(description="active keys")
    def active_keys(self, game: Game) -> int:
        return game.api_keys.filter(revoked_at__isnull=True).count()

    @admin.action(description="Issue a new API key (shown once)")
    def issue_key(self, request: HttpRequest, queryset: QuerySet[Game]) -> None:
        for game in queryset:
            key = ApiKey.objects.issue(game, label=f"issued by {request.user}")
            self.message_user(
                request,
                f"New key {key.key_id} for {game.slug}: {key.raw_key} — copy it now, "
                "it is not shown again.",
                messages.WARNING,
            )


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["game", "label"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ["key_id", "game", "environment", "label", "created_at", "revoked_at"]
    list_filter = ["environment", "game", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["key_id", "label", "game__slug"]
    actions = ["revoke"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: the key id stays in the record

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        key = ApiKey.objects.issue(obj.game, label=obj.label)
        obj.pk, obj.key_id = key.pk, key.key_id
        self.message_user(
            request,
            f"Key {key.key_id} for {key.game.slug}: {key.raw_key} — copy it now, "
            "it is not shown again.",
            messages.WARNING,
        )

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        now = timezone.now()
        for key in queryset:
            services.revoke_api_key(key.key_id, now=now)
        self.message_user(request, f"Revoked {queryset.count()} key(s).")


class CafeNetworkInline(admin.TabularInline):
    model = CafeNetwork
    extra = 1


class PCInline(admin.TabularInline):
    model = PC
    fields = ["hardware_id", "hostname", "internal_ip", "created_at"]
    readonly_fields = ["created_at"]
    extra = 0


class TopUpForm(forms.Form):
    amount = forms.IntegerField(min_value=1, max_value=10**12, label="G-coin to add")
    note = forms.CharField(max_length=200, required=False)


@admin.register(Cafe)
class CafeAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "balance", "launcher_key_id", "pc_count", "topup_link"]
    list_filter = ["status"]
    search_fields = ["name", "launcher_key_id"]
    readonly_fields = ["balance", "launcher_key_id", "created_at", "topup_link"]
    inlines = [CafeNetworkInline, PCInline]

    @admin.display(description="PCs")
    def pc_count(self, cafe: Cafe) -> int:
        return cafe.pcs.count()

    @admin.display(description="top-up")
    def topup_link(self, cafe: Cafe) -> str:
        if cafe.pk is None:
            return "-"
        url = reverse("admin:playsessions_cafe_topup", args=[cafe.pk])
        return format_html('<a href="{}">Top up…</a>', url)

    def save_model(self, request: HttpRequest, obj: Cafe, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            self.message_user(
                request,
                f"Launcher key id {obj.launcher_key_id}, secret {obj.launcher_secret} — copy "
                "the secret now, it is not shown again.",
                messages.WARNING,
            )

    def get_urls(self) -> list[URLPattern]:
        custom = [
            path(
                "<int:cafe_id>/topup/",
                self.admin_site.admin_view(self.topup_view),
                name="playsessions_cafe_topup",
            )
        ]
        return custom + super().get_urls()

    def topup_view(self, request: HttpRequest, cafe_id: int) -> HttpResponse:
        cafe = get_object_or_404(Cafe, pk=cafe_id)
        if not self.has_change_permission(request, cafe):
            return HttpResponseRedirect(reverse("admin:index"))
        form = TopUpForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            balance = services.topup(
                cafe.pk,
                form.cleaned_data["amount"],
                now=timezone.now(),
                note=form.cleaned_data["note"] or f"admin top-up by {request.user}",
            )
            self.message_user(request, f"{cafe.name}: balance is now {balance} G-coin.")
            return HttpResponseRedirect(reverse("admin:playsessions_cafe_change", args=[cafe.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Top up {cafe.name}",
            "cafe": cafe,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/playsessions/cafe/topup.html", context)


@admin.register(PC)
class PCAdmin(admin.ModelAdmin):
    list_display = ["hardware_id", "hostname", "cafe", "internal_ip", "created_at"]
    list_filter = ["cafe"]
    search_fields = ["hardware_id", "hostname"]


@admin.register(LauncherSession)
class LauncherSessionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "cafe", "pc", "status", "started_at", "last_heartbeat_at", "ended_at"]
    list_filter = ["status", "cafe"]
    search_fields = ["id", "pc__hardware_id"]


@admin.register(GameSession)
class GameSessionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "public_id",
        "game",
        "cafe",
        "pc",
        "provider_user_id",
        "state",
        "end_reason",
        "started_at",
        "last_heartbeat_at",
        "play_duration_sec",
        "coins_charged",
        "in_grace",
    ]
    list_filter = ["state", "end_reason", "game", "cafe"]
    search_fields = ["id", "provider_user_id", "pc__hardware_id"]
    list_select_related = ["game", "cafe", "pc"]
    date_hierarchy = "started_at"
    actions = ["end_sessions"]

    @admin.display(boolean=True, description="in grace")
    def in_grace(self, session: GameSession) -> bool:
        return session.exhausted_at is not None and session.state == State.ACTIVE

    @admin.action(description="End selected sessions (reason: normal)")
    def end_sessions(self, request: HttpRequest, queryset: QuerySet[GameSession]) -> None:
        if not request.user.has_perm("playsessions.change_gamesession"):
            self.message_user(request, "You may not end sessions.", messages.ERROR)
            return
        now = timezone.now()
        ended = 0
        for session in queryset.filter(state=State.ACTIVE).select_related("game"):
            touched = services.touch_session(
                session.game, session.id, None, now=now, why=Touch.END_NORMAL
            )
            ended += touched.reply is None
        self.message_user(request, f"Ended {ended} session(s).")


@admin.register(BalanceEntry)
class BalanceEntryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "cafe", "kind", "amount", "balance_after", "session", "note"]
    list_filter = ["kind", "cafe"]
    search_fields = ["note", "session__id"]
    list_select_related = ["cafe"]
