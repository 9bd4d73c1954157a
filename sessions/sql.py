"""A cursor for the hand-written statements of the hot paths, prepared on PostgreSQL.

Django's psycopg cursors bind parameters on the client, so PostgreSQL parses and plans every
statement anew. For the heartbeats' short statements planning costs more than running them: the
heartbeat's read took 0.30 ms a call bound on the client and 0.11 ms prepared, in one loop on
this repository's benchmark data (docs/performance.md). On PostgreSQL these statements therefore
run on a server-binding cursor, which psycopg prepares on its connection from the fifth use on
(the connection's `prepare_threshold`); the pool keeps its connections, so a busy process plans
each statement once per connection. Errors, query logging (`CaptureQueriesContext`) and thread
checks are Django's, as for `connection.cursor()`. Elsewhere it is `connection.cursor()`.

Only for statements written for it: parameters are sent apart from the statement, so each one
must stand where PostgreSQL can infer its type (no parameters in DDL, SET or LIMIT expressions).
A prepared statement lives as long as its connection: after a migration that changes a table
these statements read, restart the processes, as for any change of code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection


@contextmanager
def prepared_cursor() -> Iterator[Any]:
    """A cursor whose statements PostgreSQL prepares after their fifth use on a connection."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    from django.db.backends.postgresql import base

    server_binding: Any = base.ServerBindingCursor  # typed by the stubs as a wrapper
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = server_binding(connection.connection)
    connection.validate_thread_sharing()
    wrapped = (
        connection.make_debug_cursor(raw)
        if connection.queries_logged
        else connection.make_cursor(raw)
    )
    with wrapped as cursor:
        yield cursor
