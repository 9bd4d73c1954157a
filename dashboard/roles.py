"""The operator roles, as Django groups (created by migration 0001_roles).

support        reads everything; ends sessions and live games, kicks players
finance        reads everything; tops cafes up, sees settlements, exports CSV
administrator  everything operators can do, keys, games, cafes and rulesets included
"""

from __future__ import annotations

from typing import Any

SUPPORT = "support"
FINANCE = "finance"
ADMINISTRATOR = "administrator"
ROLES = (SUPPORT, FINANCE, ADMINISTRATOR)

# Apps whose records operators read.
APPS = ["playsessions", "games", "audit", "auth"]
SUPPORT_EXTRA = ["playsessions.end_gamesession"]
FINANCE_EXTRA = [
    "playsessions.topup_cafe",
    "playsessions.view_settlement",
    "playsessions.export_data",
]
# The audit log is written by actions only, never by hand, whatever the role.
NEVER = ["add_auditentry", "change_auditentry", "delete_auditentry"]


def make_roles(apps: Any) -> None:
    """Create or refresh the three groups; `apps` is a migration's registry or the real one."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations ran; the groups need them now.
    for app_config in apps.get_app_configs():
        saved = getattr(app_config, "models_module", None)
        app_config.models_module = saved or True
        try:
            create_permissions(app_config, apps=apps, verbosity=0)
        finally:
            app_config.models_module = saved
    group_model = apps.get_model("auth", "Group")
    permission = apps.get_model("auth", "Permission")

    def named(dotted: list[str]) -> list[Any]:
        found = []
        for item in dotted:
            app_label, codename = item.split(".")
            found.append(
                permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        return found

    readers = list(
        permission.objects.filter(
            content_type__app_label__in=APPS, codename__startswith="view_"
        ).exclude(codename="view_settlement")  # a finance permission, not a reader's
    )
    group_model.objects.get_or_create(name=SUPPORT)[0].permissions.set(
        readers + named(SUPPORT_EXTRA)
    )
    group_model.objects.get_or_create(name=FINANCE)[0].permissions.set(
        readers + named(FINANCE_EXTRA)
    )
    group_model.objects.get_or_create(name=ADMINISTRATOR)[0].permissions.set(
        permission.objects.filter(content_type__app_label__in=APPS).exclude(codename__in=NEVER)
    )


def drop_roles(apps: Any) -> None:
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()
