from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from sessions import billing
from sessions.models import PC, ApiKey, Cafe, Game

DEMO_CAFE = "PlayWave Demo Cafe"
DEMO_GAMES = [
    ("mega-obby", "Mega Obby", 10, True),
    ("kart-rush", "Kart Rush", 6, False),
]
DEMO_PCS = ["PC-01", "PC-02", "PC-03", "PC-04"]
DEMO_ACCOUNTS = [("operator", "administrator"), ("support", "support"), ("finance", "finance")]


def credentials_path() -> Path:
    return Path(settings.DATA_DIR) / "demo-credentials.json"


class Command(BaseCommand):
    help = (
        "Seed the embedded demo: a cafe with PCs and G-coin, two games with API keys and an "
        "operator account. Safe to run again: it prints the same credentials."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        path = credentials_path()
        if Cafe.objects.filter(name=DEMO_CAFE).exists() and path.exists():
            self.show(json.loads(path.read_text()), fresh=False)
            return
        with transaction.atomic():
            creds = self.seed()
        path.write_text(json.dumps(creds, indent=2))
        os.chmod(path, 0o600)
        self.show(creds, fresh=True)

    def seed(self) -> dict[str, Any]:
        now = timezone.now()
        password = os.environ.get("PLAYWAVE_DEMO_PASSWORD") or secrets.token_urlsafe(12)
        # The operator is an administrator (not a superuser); support and finance share the
        # demo password so the narrower roles can be tried at once.
        accounts = {}
        for username, role in DEMO_ACCOUNTS:
            user = self.staff_user(username, role, password)
            accounts[username] = {
                "username": user.get_username(),
                "password": password,
                "role": role,
            }

        keys = {}
        for slug, name, rate, featured in DEMO_GAMES:
            game, _ = Game.objects.get_or_create(
                slug=slug,
                defaults={"name": name, "coins_per_minute": rate, "featured": featured},
            )
            keys[slug] = ApiKey.objects.issue(game, label="demo").raw_key

        cafe = billing.create_cafe(
            DEMO_CAFE, ["127.0.0.0/8", "::1/128", "10.0.0.0/8"], balance=100_000, now=now
        )
        for number, hardware_id in enumerate(DEMO_PCS, start=1):
            PC.objects.create(cafe=cafe, hardware_id=hardware_id, hostname=f"demo-pc-{number}")
        return {
            **accounts,
            "api_keys": keys,
            "cafe": {
                "cafe_id": cafe.pk,
                "launcher_key_id": cafe.launcher_key_id,
                "launcher_secret": cafe.launcher_secret,
                "balance": cafe.balance,
            },
        }

    @staticmethod
    def staff_user(username: str, role: str, password: str) -> Any:
        from django.contrib.auth.models import Group

        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(username=username)
        user.set_password(password)
        user.is_staff, user.is_superuser = True, False
        user.save()
        user.groups.set([Group.objects.get_or_create(name=role)[0]])
        return user

    def show(self, creds: dict[str, Any], *, fresh: bool) -> None:
        out = self.stdout.write
        out("Demo data " + ("created" if fresh else "already present") + f" ({credentials_path()})")
        for username, _role in DEMO_ACCOUNTS:
            account = creds.get(username)
            if account:
                role = account.get("role", "operator")
                out(f"  {role:<13} login: {username} / {account['password']}")
        for slug, key in creds["api_keys"].items():
            out(f"  API key {slug}: {key}")
        cafe = creds["cafe"]
        out(f"  cafe {cafe['cafe_id']}: launcher key {cafe['launcher_key_id']}")
