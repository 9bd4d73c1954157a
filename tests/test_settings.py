"""Settings from the environment: loud failures on bad values, a clean deploy check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from playwave.env import env_bool, env_int

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PLAYWAVE_"))}
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy(tmp_path: Path) -> None:
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SECRET_KEY="x" * 64 + "-production-secret-9f8e7d6c5b4a",
        DJANGO_ALLOWED_HOSTS="playwave.example.com",
        PLAYWAVE_HTTPS="1",
        PLAYWAVE_DATA_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_embedded_default_secret_is_flagged_by_check_deploy(tmp_path: Path) -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", PLAYWAVE_DATA_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "security.W009" in result.stderr + result.stdout


def test_bad_timer_value_stops_start_up_naming_the_variable(tmp_path: Path) -> None:
    result = manage("check", PLAYWAVE_SESSION_TIMEOUT="4min", PLAYWAVE_DATA_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "PLAYWAVE_SESSION_TIMEOUT='4min' is not a whole number" in result.stderr


def test_env_readers_refuse_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env_bool("X_FLAG", False)
    monkeypatch.setenv("X_NUM", "-3")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("X_NUM", 5, minimum=1)
    monkeypatch.setenv("X_NUM", " 7 ")
    assert env_int("X_NUM", 5, minimum=1) == 7


def test_timeout_not_longer_than_interval_is_a_system_check_error(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PLAYWAVE_SESSION_TIMEOUT = 120
    with pytest.raises(SystemCheckError, match=r"playsessions\.E001"):
        call_command("check")
