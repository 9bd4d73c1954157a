"""gunicorn settings for the REST API: `gunicorn -c deploy/gunicorn.conf.py playwave.wsgi`.

With several workers, metrics are aggregated through PROMETHEUS_MULTIPROC_DIR (an empty
directory, wiped before each start, shared with the reaper and ASGI processes of this host).
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8001")
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count()))
worker_class = "sync"
keepalive = 5
# Long-lived workers keep the multiprocess metric directory small.
max_requests = 0


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
