"""Operator admin: games and keys, cafes (overview, networks, PCs, balance), sessions, the ledger,
settlement and CSV exports. Every operator action goes through `sessions.actions` (audited)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode

from audit.log import record
from audit.models import Action
from sessions import actions, billing, exports, search
from sessions.lifecycle import State
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


def when(value: datetime | None) -> str:
    """A time in the configured zone with seconds; UTC on hover."""
    if value is None:
        return "-"
    local = timezone.localtime(value)
    utc = value.astimezone(UTC)
    return format_html(
        '<time datetime="{}" title="{} UTC">{}</time>',
        utc.isoformat(),
        utc.strftime("%Y-%m-%d %H:%M:%S"),
        local.strftime("%Y-%m-%d %H:%M:%S %Z"),
    )


def when_column(field: str, description: str) -> Callable[[Any, Any], str]:
    """A list column showing `field` with `when`, sorted by it."""

    @admin.display(description=description, ordering=field)
    def column(model_admin: Any, obj: Any) -> str:
        return when(getattr(obj, field))

    return column


def sessions_url(**filters: Any) -> str:
    """The game sessions list filtered by `filters`."""
    return reverse("admin:playsessions_gamesession_changelist") + "?" + urlencode(filters)


class ReadOnlyMixin:
    """Rows the service writes; operators look, and act only through actions."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TermSearchMixin(admin.ModelAdmin):
    """The search box, by `search_condition` of the stripped term (a blank term finds all).

    Each list matches its terms through `sessions.search` (index-friendly, no joins), so the
    results never need the DISTINCT the admin's own field search would add.
    """

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(self.search_condition(term)), False

    def search_condition(self, term: str) -> Q:
        raise NotImplementedError


class CafeFilter(admin.SimpleListFilter):
    """Filter by cafe with a search box (hundreds of cafes do not fit a list of links)."""

    title = "cafe"
    parameter_name = "cafe__id__exact"
    search_parameter = "cafe_q"
    template = "admin/playsessions/cafe_filter.html"

    def __init__(
        self, request: HttpRequest, params: dict[str, Any], model: Any, model_admin: Any
    ) -> None:
        # Read before the base class asks for the lookups, which depend on the typed name.
        term = params.pop(self.search_parameter, "")
        self.term = str(term[-1] if isinstance(term, list) else term).strip()
        self.request = request
        super().__init__(request, params, model, model_admin)
        if self.term:
            self.used_parameters[self.search_parameter] = self.term

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str | None]:
        return [self.parameter_name, self.search_parameter]

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        if not self.term:
            return []
        term = self.term
        return [
            (str(pk), name)
            for pk, name in Cafe.objects.filter(name__icontains=term).values_list("pk", "name")[:15]
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.used_parameters.get(self.parameter_name)
        if value:
            if not str(value).isdigit():
                return queryset.none()
            return queryset.filter(cafe_id=int(value))
        if self.term:
            return queryset.filter(cafe_id__in=search.cafe_ids(self.term))
        return queryset

    def choices(self, changelist: Any) -> Any:
        chosen = self.used_parameters.get(self.parameter_name)
        yield {
            "selected": not chosen,
            "query_string": changelist.get_query_string(
                remove=[self.parameter_name, self.search_parameter]
            ),
            "display": "All",
        }
        for pk, name in self.lookup_choices:
            yield {
                "selected": chosen == pk,
                "query_string": changelist.get_query_string(
                    {self.parameter_name: pk}, [self.search_parameter]
                ),
                "display": name,
            }

    def chosen_name(self) -> str:
        value = self.used_parameters.get(self.parameter_name)
        if not value or not str(value).isdigit():
            return ""
        return Cafe.objects.filter(pk=int(value)).values_list("name", flat=True).first() or ""

    def search_term(self) -> str:
        return self.term

    def hidden_params(self) -> list[tuple[str, str]]:
        """The list's other parameters, kept when the box is submitted."""
        drop = {self.parameter_name, self.search_parameter, "p"}
        return [(k, str(v)) for k, v in self.request.GET.items() if k not in drop]


# --- Games and API keys -------------------------------------------------------------------------


class ApiKeyInline(ReadOnlyMixin, admin.TabularInline):
    model = ApiKey
    fields = ("key_id", "environment", "label", "created_at", "revoked_at")
    readonly_fields = fields
    extra = 0


GAME_FIELDS = ["slug", "name", "coins_per_minute", "is_active", "featured"]


@admin.register(Game)
class GameAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "coins_per_minute", "is_active", "featured", "active_keys"]
    list_filter = ["is_active", "featured"]
    search_fields = ["slug", "name"]
    inlines = [ApiKeyInline]
    actions = ["issue_key"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Game]:
        return (
            super()
            .get_queryset(request)
            .annotate(n_active_keys=Count("api_keys", filter=Q(api_keys__revoked_at__isnull=True)))
        )

    @admin.display(description="active keys", ordering="n_active_keys")
    def active_keys(self, game: Game) -> int:
        return int(getattr(game, "n_active_keys", 0))

    def save_model(self, request: HttpRequest, obj: Game, form: Any, change: bool) -> None:
        before = (
            dict(Game.objects.filter(pk=obj.pk).values(*GAME_FIELDS).first() or {})
            if change
            else None
        )
        super().save_model(request, obj, form, change)
        after = {f: getattr(obj, f) for f in GAME_FIELDS}
        if before != after:
            record(
                request.user,
                Action.GAME_CHANGE,
                obj,
                now=timezone.now(),
                before=before,
                after=after,
            )

    @admin.action(description="Issue a new API key (shown once)", permissions=["add_key"])
    def issue_key(self, request: HttpRequest, queryset: QuerySet[Game]) -> None:
        now = timezone.now()
        for game in queryset:
            key = actions.issue_key(request.user, game, now=now)
            self.message_user(
                request,
                f"New key {key.key_id} for {game.slug}: {key.raw_key} — copy it now, "
                "it is not shown again.",
                messages.WARNING,
            )

    def has_add_key_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("playsessions.add_apikey"))


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["game", "label"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ["key_id", "game", "environment", "label", "created", "revoked"]
    list_filter = ["environment", "game", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["key_id", "label", "game__slug"]
    list_select_related = ["game"]
    actions = ["revoke"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: the key id stays in the record

    created = when_column("created_at", "created")
    revoked = when_column("revoked_at", "revoked")

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        key = actions.issue_key(request.user, obj.game, now=timezone.now(), label=obj.label)
        obj.pk, obj.key_id = key.pk, key.key_id
        self.message_user(
            request,
            f"Key {key.key_id} for {key.game.slug}: {key.raw_key} — copy it now, "
            "it is not shown again.",
            messages.WARNING,
        )

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None  # recorded in the audit log by actions.issue_key

    @admin.action(description="Revoke selected keys…", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> HttpResponse | None:
        keys = list(queryset.select_related("game").order_by("key_id"))
        if request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": "Revoke API keys?",
                "opts": self.model._meta,
                "keys": keys,
                "live": [k for k in keys if k.revoked_at is None],
                "action": "revoke",
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/playsessions/apikey/revoke.html", context)
        revoked, already = actions.revoke_keys(request.user, keys, now=timezone.now())
        if revoked:
            self.message_user(request, f"Revoked {len(revoked)} key(s): {', '.join(revoked)}.")
        if already:
            self.message_user(
                request,
                f"Already revoked, nothing changed: {', '.join(already)}.",
                messages.WARNING,
            )
        return None


# --- Cafes ------------------------------------------------------------------------------------


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
    # One token per form shown: the same form sent twice (a double click) credits once.
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def clean_token(self) -> str:
        token = str(self.cleaned_data["token"])
        try:
            uuid.UUID(token)
        except ValueError:
            raise forms.ValidationError("the form is stale: reload it and try again") from None
        return token


class SettlementForm(forms.Form):
    start = forms.DateField(label="from", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="to (inclusive)", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise forms.ValidationError("the period ends before it starts")
        return data

    def period(self) -> tuple[datetime, datetime]:
        """[start of the first day, start of the day after the last) in the configured zone."""
        zone = timezone.get_current_timezone()
        start = datetime.combine(self.cleaned_data["start"], datetime.min.time(), tzinfo=zone)
        end = datetime.combine(self.cleaned_data["end"], datetime.min.time(), tzinfo=zone)
        return start, end + timedelta(days=1)


def settlement_form(request: HttpRequest) -> SettlementForm:
    today = timezone.localdate()
    data = request.GET if "start" in request.GET else None
    return SettlementForm(data, initial={"start": today.replace(day=1), "end": today})


def _count_of(model: Any, **filters: Any) -> Subquery:
    return Subquery(
        model.objects.filter(cafe=OuterRef("pk"), **filters)
        .order_by()
        .values("cafe")
        .annotate(n=Count("pk"))
        .values("n"),
        output_field=IntegerField(),
    )


class CafeChangeList(ChangeList):
    def url_for_result(self, result: Any) -> str:
        return reverse("admin:playsessions_cafe_overview", args=[result.pk])


@admin.register(Cafe)
class CafeAdmin(TermSearchMixin):
    list_display = ["name", "status", "balance", "pc_count", "live_count", "launcher_key_id"]
    list_filter = ["status"]
    search_fields = ["name", "launcher_key_id", "pcs__hostname", "pcs__hardware_id"]
    readonly_fields = ["balance", "launcher_key_id", "created_at", "overview_link"]
    inlines = [CafeNetworkInline, PCInline]
    show_full_result_count = False
    actions = ["suspend", "resume"]

    @admin.action(description="Suspend selected cafes (no new sessions)", permissions=["change"])
    def suspend(self, request: HttpRequest, queryset: QuerySet[Cafe]) -> None:
        self._set_status(request, queryset, Cafe.Status.SUSPENDED, "Suspended")

    @admin.action(description="Resume selected cafes", permissions=["change"])
    def resume(self, request: HttpRequest, queryset: QuerySet[Cafe]) -> None:
        self._set_status(request, queryset, Cafe.Status.ACTIVE, "Resumed")

    def _set_status(
        self, request: HttpRequest, queryset: QuerySet[Cafe], status: str, verb: str
    ) -> None:
        now = timezone.now()
        cafes = list(queryset)
        changed = [
            c.name for c in cafes if actions.set_cafe_status(request.user, c, status, now=now)
        ]
        unchanged = len(cafes) - len(changed)
        text = f"{verb} {len(changed)} cafe(s)" + (f": {', '.join(changed)}." if changed else ".")
        if unchanged:
            text += f" {unchanged} already {status}, unchanged."
        self.message_user(request, text, messages.SUCCESS if changed else messages.WARNING)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return CafeChangeList

    def get_queryset(self, request: HttpRequest) -> QuerySet[Cafe]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_pcs=Coalesce(_count_of(PC), 0),
                n_live=Coalesce(_count_of(GameSession, state=State.ACTIVE), 0),
            )
        )

    def search_condition(self, term: str) -> Q:
        pcs = PC.objects.filter(pk__in=search.pc_ids(term)).values("cafe_id")
        return Q(name__icontains=term) | Q(launcher_key_id=term) | Q(pk__in=pcs)

    @admin.display(description="PCs", ordering="n_pcs")
    def pc_count(self, cafe: Cafe) -> int:
        return int(getattr(cafe, "n_pcs", 0))

    @admin.display(description="live sessions", ordering="n_live")
    def live_count(self, cafe: Cafe) -> int:
        return int(getattr(cafe, "n_live", 0))

    @admin.display(description="overview")
    def overview_link(self, cafe: Cafe) -> str:
        if cafe.pk is None:
            return "-"
        url = reverse("admin:playsessions_cafe_overview", args=[cafe.pk])
        return format_html('<a href="{}">Live sessions, balance, ledger, PCs…</a>', url)

    # Audit of edits made through the form and its inlines.

    def save_model(self, request: HttpRequest, obj: Cafe, form: Any, change: bool) -> None:
        before = None
        if change:
            stored = Cafe.objects.filter(pk=obj.pk).first()
            before = actions.cafe_values(stored) if stored else None
        super().save_model(request, obj, form, change)
        actions.record_cafe_change(request.user, obj, before, now=timezone.now())
        if not change:
            self.message_user(
                request,
                f"Launcher key id {obj.launcher_key_id}, secret {obj.launcher_secret} — copy "
                "the secret now, it is not shown again.",
                messages.WARNING,
            )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        cafe = form.instance
        networks, pcs = actions.networks_of(cafe), actions.pcs_of(cafe)
        super().save_related(request, form, formsets, change)
        now = timezone.now()
        networks_after = actions.networks_of(cafe)
        if networks_after != networks:
            record(
                request.user,
                Action.NETWORK_CHANGE,
                cafe,
                now=now,
                before={"networks": networks},
                after={"networks": networks_after},
            )
        after = actions.pcs_of(cafe)
        for pk in sorted(set(pcs) | set(after)):
            if pcs.get(pk) != after.get(pk):
                record(
                    request.user,
                    Action.PC_CHANGE,
                    ("pc", pk, f"{cafe.name} PC {pk}"),
                    now=now,
                    before=pcs.get(pk),
                    after=after.get(pk),
                )

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        custom = [
            path("<int:cafe_id>/topup/", view(self.topup_view), name="playsessions_cafe_topup"),
            path(
                "<int:cafe_id>/overview/",
                view(self.overview_view),
                name="playsessions_cafe_overview",
            ),
            path("settlement/", view(self.settlement_view), name="playsessions_settlement"),
        ]
        return custom + super().get_urls()

    def topup_view(self, request: HttpRequest, cafe_id: int) -> HttpResponse:
        cafe = get_object_or_404(Cafe, pk=cafe_id)
        if not request.user.has_perm("playsessions.topup_cafe"):
            raise PermissionDenied
        form = TopUpForm(request.POST or None, initial={"token": uuid.uuid4().hex})
        if request.method == "POST" and form.is_valid():
            result = actions.topup(
                request.user,
                cafe.pk,
                form.cleaned_data["amount"],
                now=timezone.now(),
                note=form.cleaned_data["note"],
                token=form.cleaned_data["token"],
            )
            if result.duplicate:
                self.message_user(
                    request,
                    f"{cafe.name}: this top-up was already recorded (the form was sent twice); "
                    f"nothing more was credited. Balance: {result.balance} G-coin.",
                    messages.WARNING,
                )
            else:
                self.message_user(request, f"{cafe.name}: balance is now {result.balance} G-coin.")
            return HttpResponseRedirect(reverse("admin:playsessions_cafe_overview", args=[cafe.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Top up {cafe.name}",
            "cafe": cafe,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/playsessions/cafe/topup.html", context)

    def overview_view(self, request: HttpRequest, cafe_id: int) -> HttpResponse:
        cafe = get_object_or_404(Cafe, pk=cafe_id)
        if not self.has_view_permission(request, cafe):
            raise PermissionDenied
        now = timezone.now()
        live = list(
            GameSession.objects.active()
            .filter(cafe=cafe)
            .select_related("game", "pc")
            .order_by("-started_at")[:200]
        )
        burn = GameSession.objects.active().filter(cafe=cafe).aggregate(r=Sum("rate"))["r"] or 0
        per_minute = burn * 60 / settings.PLAYWAVE_BILLING_UNIT
        runway = (cafe.balance / per_minute) if per_minute else None
        kind = request.GET.get("kind", "")
        ledger = cafe.ledger.select_related("created_by").order_by("-created_at", "-id")
        if kind in BalanceEntry.Kind.values:
            ledger = ledger.filter(kind=kind)
        form = settlement_form(request)
        settlement = None
        if form.is_bound and form.is_valid():
            start, end = form.period()
            settlement = billing.settlement(start, end, cafe_id=cafe.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": cafe.name,
            "opts": self.model._meta,
            "cafe": cafe,
            "live": live,
            "burn_per_minute": round(per_minute, 1),
            "runway_minutes": None if runway is None else int(runway),
            "runway_text": "" if runway is None else duration_text(int(runway)),
            "ledger": list(ledger[:25]),
            "kind": kind,
            "kinds": BalanceEntry.Kind.choices,
            "pcs": pc_rows(cafe, now),
            "networks": actions.networks_of(cafe),
            "form": form,
            "settlement": settlement,
            "settlement_query": urlencode(
                {k: request.GET[k] for k in ("start", "end") if k in request.GET}
            ),
            "can_topup": request.user.has_perm("playsessions.topup_cafe"),
            "can_edit": self.has_change_permission(request, cafe),
            "can_export": request.user.has_perm("playsessions.export_data"),
            "can_settle": request.user.has_perm("playsessions.view_settlement"),
            "now": now,
        }
        return TemplateResponse(request, "admin/playsessions/cafe/overview.html", context)

    def settlement_view(self, request: HttpRequest) -> HttpResponseBase:
        if not request.user.has_perm("playsessions.view_settlement"):
            raise PermissionDenied
        form = settlement_form(request)
        rows = None
        cafe_id = request.GET.get("cafe")
        cafe = int(cafe_id) if cafe_id and cafe_id.isdigit() else None
        if form.is_bound and form.is_valid():
            start, end = form.period()
            if request.GET.get("format") == "csv":
                if not request.user.has_perm("playsessions.export_data"):
                    raise PermissionDenied
                return exports.settlement_csv(request, start, end, cafe_id=cafe)
            rows = billing.settlement(start, end, cafe_id=cafe)
        context = {
            **self.admin_site.each_context(request),
            "title": "Settlement",
            "opts": self.model._meta,
            "form": form,
            "rows": rows,
            "totals": {
                "sessions": sum(r.sessions for r in rows or []),
                "play_seconds": sum(r.play_seconds for r in rows or []),
                "coins": sum(r.coins for r in rows or []),
            },
            "query": request.GET.urlencode(),
            "can_export": request.user.has_perm("playsessions.export_data"),
            "time_zone": settings.TIME_ZONE,
        }
        return TemplateResponse(request, "admin/playsessions/settlement.html", context)


def duration_text(minutes: int) -> str:
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {mins} min" if hours else f"{mins} min"


def pc_rows(cafe: Cafe, now: datetime) -> list[dict[str, Any]]:
    """Each PC of a cafe with its newest launcher session and its current game, in 3 queries."""
    latest = LauncherSession.objects.filter(pc=OuterRef("pk")).order_by("-started_at")
    pcs = list(
        PC.objects.filter(cafe=cafe)
        .annotate(launcher_id=Subquery(latest.values("pk")[:1]))
        .order_by("hostname", "hardware_id")[:500]
    )
    launchers = LauncherSession.objects.in_bulk([p.launcher_id for p in pcs if p.launcher_id])
    playing = {
        s.pc_id: s for s in GameSession.objects.active().filter(pc__in=pcs).select_related("game")
    }
    rows = []
    for pc in pcs:
        launcher = launchers.get(pc.launcher_id) if pc.launcher_id else None
        rows.append(
            {
                "pc": pc,
                "online": launcher is not None and launcher.is_alive(now),
                "version": launcher.launcher_version if launcher else "",
                "last_seen": launcher.last_heartbeat_at if launcher else None,
                "launcher_status": launcher.status if launcher else "never signed in",
                "session": playing.get(pc.pk),
            }
        )
    return rows


@admin.register(PC)
class PCAdmin(TermSearchMixin):
    list_display = ["hardware_id", "hostname", "cafe", "internal_ip", "created", "history"]
    list_filter = [CafeFilter]
    list_select_related = ["cafe"]
    search_fields = ["hardware_id", "hostname"]
    show_full_result_count = False

    def search_condition(self, term: str) -> Q:
        return Q(pk__in=search.pc_ids(term)) | Q(cafe_id__in=search.cafe_ids(term))

    created = when_column("created_at", "registered")

    @admin.display(description="sessions")
    def history(self, pc: PC) -> str:
        return format_html('<a href="{}">history</a>', sessions_url(pc__id__exact=pc.pk))

    def save_model(self, request: HttpRequest, obj: PC, form: Any, change: bool) -> None:
        before = actions.pc_values(obj.pk) if change else None
        super().save_model(request, obj, form, change)
        record(
            request.user,
            Action.PC_CHANGE,
            obj,
            now=timezone.now(),
            before=before,
            after=actions.pc_values(obj.pk),
        )

    def delete_model(self, request: HttpRequest, obj: PC) -> None:
        before = actions.pc_values(obj.pk)
        pk, label = obj.pk, str(obj)
        super().delete_model(request, obj)
        record(
            request.user,
            Action.PC_CHANGE,
            ("pc", pk, label),
            now=timezone.now(),
            before=before,
            after=None,
        )


@admin.register(LauncherSession)
class LauncherSessionAdmin(ReadOnlyMixin, TermSearchMixin):
    list_display = [
        "id",
        "cafe",
        "pc_label",
        "status",
        "launcher_version",
        "started",
        "last_seen",
        "ended",
    ]
    list_filter = ["status", CafeFilter]
    list_select_related = ["cafe", "pc"]
    search_fields = ["id", "pc__hardware_id"]
    show_full_result_count = False

    def search_condition(self, term: str) -> Q:
        cond = Q(pc_id__in=search.pc_ids(term)) | Q(cafe_id__in=search.cafe_ids(term))
        span = search.id_range(term)
        if span is not None:
            cond |= Q(id__gte=span[0], id__lte=span[1])
        return cond

    @admin.display(description="PC", ordering="pc__hostname")
    def pc_label(self, launcher: LauncherSession) -> str:
        return launcher.pc.label

    started = when_column("started_at", "started")
    last_seen = when_column("last_heartbeat_at", "last seen")
    ended = when_column("ended_at", "ended")


# --- Sessions and the ledger --------------------------------------------------------------------


class CsvExportMixin(admin.ModelAdmin):
    """An "Export CSV" link on the list: the list's own filters and search, streamed."""

    change_list_template = "admin/playsessions/change_list_export.html"

    def get_urls(self) -> list[URLPattern]:
        export = path(
            "export/",
            self.admin_site.admin_view(self.export_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_export",
        )
        return [export, *super().get_urls()]

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        if not request.user.has_perm("playsessions.export_data"):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        return self.export_rows(request, changelist.get_queryset(request))

    def export_rows(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponseBase:
        raise NotImplementedError

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {
            "export_url": (
                f"export/?{request.GET.urlencode()}"
                if request.user.has_perm("playsessions.export_data")
                else ""
            ),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra)


@admin.register(GameSession)
class GameSessionAdmin(ReadOnlyMixin, CsvExportMixin, TermSearchMixin):
    list_display = [
        "public_id",
        "game",
        "cafe",
        "pc_label",
        "user",
        "state",
        "end_reason",
        "started",
        "last_heartbeat",
        "play_duration_sec",
        "coins_charged",
        "in_grace",
    ]
    list_filter = [
        "state",
        "end_reason",
        "game",
        CafeFilter,
        ("started_at", admin.DateFieldListFilter),
    ]
    search_fields = ["id"]  # shows the box; get_search_results does the work
    search_help_text = "gs_ id (or its start), user id, PC hardware id, hostname or IP, cafe name"
    list_select_related = ["game", "cafe", "pc"]
    show_full_result_count = False
    list_per_page = 50
    actions = ["end_sessions"]

    def search_condition(self, term: str) -> Q:
        return search.session_q(term) or Q()  # None only for a blank term, never passed here

    def export_rows(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponseBase:
        return exports.sessions_csv(request, queryset)

    @admin.display(description="PC", ordering="pc__hostname")
    def pc_label(self, session: GameSession) -> str:
        url = sessions_url(pc__id__exact=session.pc_id)
        return format_html('<a href="{}" title="this PC\'s sessions">{}</a>', url, session.pc.label)

    @admin.display(description="user", ordering="provider_user_id")
    def user(self, session: GameSession) -> str:
        url = sessions_url(provider_user_id=session.provider_user_id)
        return format_html(
            '<a href="{}" title="this user\'s sessions">{}</a>', url, session.provider_user_id
        )

    started = when_column("started_at", "started")
    last_heartbeat = when_column("last_heartbeat_at", "last heartbeat")

    @admin.display(boolean=True, description="in grace")
    def in_grace(self, session: GameSession) -> bool:
        return session.exhausted_at is not None and session.state == State.ACTIVE

    @admin.action(description="End selected sessions (reason: operator)", permissions=["end"])
    def end_sessions(self, request: HttpRequest, queryset: QuerySet[GameSession]) -> None:
        now = timezone.now()
        pks = list(queryset.values_list("pk", flat=True))
        ended = sum(actions.end_session(request.user, pk, now=now) for pk in pks)
        skipped = len(pks) - ended
        text = f"Ended {ended} session(s)."
        if skipped:
            text += f" {skipped} were not live and are unchanged."
        self.message_user(request, text, messages.SUCCESS if ended else messages.WARNING)

    def has_end_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("playsessions.end_gamesession"))


@admin.register(BalanceEntry)
class BalanceEntryAdmin(ReadOnlyMixin, CsvExportMixin, TermSearchMixin):
    list_display = [
        "created",
        "cafe",
        "kind",
        "amount",
        "balance_after",
        "session_link",
        "by",
        "note",
    ]
    list_filter = ["kind", CafeFilter, ("created_at", admin.DateFieldListFilter)]
    search_fields = ["note"]
    search_help_text = "gs_ id (or its start), cafe name, note"
    list_select_related = ["cafe", "created_by"]
    show_full_result_count = False
    list_per_page = 50

    def search_condition(self, term: str) -> Q:
        span = search.id_range(term)
        if span is not None and (term.lower().startswith("gs_") or len(term) >= 8):
            # An id: its charges, found through the session index (a note scan would not be).
            return Q(session_id__gte=span[0], session_id__lte=span[1])
        return Q(note__icontains=term) | Q(cafe_id__in=search.cafe_ids(term))

    def export_rows(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponseBase:
        return exports.ledger_csv(request, queryset)

    created = when_column("created_at", "at")

    @admin.display(description="session", ordering="session_id")
    def session_link(self, entry: BalanceEntry) -> str:
        if entry.session_id is None:
            return "-"
        url = reverse("admin:playsessions_gamesession_change", args=[entry.session_id])
        return format_html('<a href="{}">gs_{}</a>', url, entry.session_id)

    @admin.display(description="by")
    def by(self, entry: BalanceEntry) -> str:
        return entry.created_by.get_username() if entry.created_by else ""
