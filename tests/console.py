"""Operator personas for the console tests: one signed-in client per role."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.test import Client

from dashboard import roles


def staff_client(username: str, role: str) -> Client:
    if not Group.objects.filter(name=role).exists():
        roles.make_roles(apps)  # a transactional test before this one flushed the groups
    user = User.objects.create_user(username, password="pw-for-tests-only", is_staff=True)
    user.groups.set([Group.objects.get(name=role)])
    client = Client()
    client.force_login(user)
    client.user = user  # type: ignore[attr-defined]
    return client


@pytest.fixture
def admin_op(db: None) -> Client:
    """Ada, an administrator."""
    return staff_client("ada", roles.ADMINISTRATOR)


@pytest.fixture
def support(db: None) -> Client:
    """Sam from support."""
    return staff_client("sam", roles.SUPPORT)


@pytest.fixture
def finance(db: None) -> Client:
    """Fay from finance."""
    return staff_client("fay", roles.FINANCE)
