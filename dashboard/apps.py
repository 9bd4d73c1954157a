from __future__ import annotations

from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The operator console above the session service and the games: live dashboard, roles."""

    name = "dashboard"
    verbose_name = "Operator console"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from dashboard.consumers import announce_logout
        from dashboard.minutes import count_event
        from sessions.events import subscribe

        user_logged_out.connect(announce_logout, dispatch_uid="dashboard-logout")

        # In every process (workers, reapers): the charts count with no dashboard open.
        subscribe(count_event)
