"""Settings for the benchmarks: production settings plus a URLconf with a bare comparison view.

The bare view lives only here, so production code serves no benchmark endpoint.

BENCH_DB_POOL=1 swaps persistent connections for Django's psycopg connection pool (Django 5.1+),
to measure ASGI servers with database connections that outlive a request.
"""

import os

from playwave.settings import *  # noqa: F403
from playwave.settings import DATABASES

ROOT_URLCONF = "bench.bench_urls"

if os.environ.get("BENCH_DB_POOL") == "1" and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # pooling replaces persistent connections
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 2, "max_size": 8}
