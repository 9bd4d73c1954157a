"""What tier 2 (PostgreSQL + Redis) does not repeat: tests whose outcome cannot depend on the
backends, marked ``tier1_only`` with the reason, run on tier 1 alone (README, Tests).

conftest.py leaves them out of tier 2 and lists these reasons in its summary. Anything a backend
can change stays on both tiers; a module marks itself with ``pytestmark = <one of these>``.
"""

from __future__ import annotations

import pytest

PURE_ENGINE = pytest.mark.tier1_only(
    "the game engine: no Django and no I/O (an import-linter contract)"
)
PURE_LIFECYCLE = pytest.mark.tier1_only(
    "the session state machine: no Django and no I/O (an import-linter contract)"
)
REPOSITORY_FILES = pytest.mark.tier1_only("files of the repository, read as files")
SERVED_STACK = pytest.mark.tier1_only(
    "a `manage.py serve` subprocess, on the embedded defaults whatever the tier (stackkit)"
)
CLIENT_WHEEL = pytest.mark.tier1_only(
    "the client's wheel and its install; the client against each tier: tests/client/test_client_*"
)
GAME_PAGES = pytest.mark.tier1_only(
    "game pages against one live process, whose sockets reach their rooms in that process; "
    "codes, sockets and rooms on each tier: tests/games/test_games_*"
)
