from __future__ import annotations

import pytest
from console import admin_op, finance, support  # noqa: F401  (fixtures)
from personas import (  # noqa: F401  (fixtures)
    ON_POSTGRES,
    _fresh_key_cache,
    cafe,
    clock,
    obby,
    pc,
    pc2,
    server,
    tycoon,
    tycoon_server,
)
from stackkit import stack  # noqa: F401  (fixture)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if ON_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs the PostgreSQL + Redis tier (DATABASE_URL, REDIS_URL)")
    for item in items:
        if "services" in item.keywords:
            item.add_marker(skip)
