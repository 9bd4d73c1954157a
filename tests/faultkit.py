"""Faults for the services tier: a real stack (gunicorn, daphne, two reapers) on the test database,
a Redis server of its own, a loopback TCP proxy in front of PostgreSQL that can drop every
connection and refuse new ones (an outage, without stopping the shared server), and traffic that
records every answer. Waits are polls with deadlines, never fixed sleeps.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from personas import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STACK_APPLICATION = "playwave-fault-stack"


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.05)  # polling other processes, not waiting on a timer


class RedisServer:
    """A redis-server of the test's own on a spare loopback port, without persistence."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        assert exe, "redis-server is not installed"
        self.proc = subprocess.Popen(  # noqa: S603
            [
                exe,
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.workdir)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, "redis-server answering", 10)

    def _answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # as abrupt as a crash: clients see their sockets reset
            self.proc.wait(10)
        self.proc = None


class TcpProxy:
    """127.0.0.1:port -> 127.0.0.1:target. `down()` resets every connection and refuses new ones
    (as a stopped database server does); `up()` listens again on the same port."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        thread.start()
        self._threads.append(thread)

    def down(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                # RST, not FIN: the server vanished.
                sock.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
                sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by down()
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._sockets |= {client, upstream}
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


@dataclass
class Proc:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@dataclass
class ServiceStack:
    """gunicorn (2 workers), daphne and two reapers on the test database."""

    env: dict[str, str]
    logdir: Path
    procs: list[Proc] = field(default_factory=list)

    def spawn(self, name: str, argv: list[str], port: int = 0) -> Proc:
        log = self.logdir / f"{name}.log"
        with log.open("w") as out:
            proc = subprocess.Popen(  # noqa: S603
                argv,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started = Proc(name, proc, log, port)
        self.procs.append(started)
        return started

    def start(self) -> ServiceStack:
        g, d = free_port(), free_port()
        self.gunicorn = self.spawn(
            "gunicorn",
            [
                str(BIN / "gunicorn"),
                *("--workers=2", f"--bind=127.0.0.1:{g}", "--log-level=warning"),
                "playwave.wsgi:application",
            ],
            g,
        )
        self.daphne = self.spawn(
            "daphne",
            [
                str(BIN / "daphne"),
                *("-b", "127.0.0.1", "-p", str(d), "-v", "0"),
                "playwave.asgi:application",
            ],
            d,
        )
        self.reapers = [
            self.spawn(f"reaper{i}", [sys.executable, "manage.py", "run_reaper"]) for i in (1, 2)
        ]
        for server in (self.gunicorn, self.daphne):
            wait_for(lambda s=server: self._serving(s), f"{server.name} serving", 60)
        return self

    @staticmethod
    def _serving(server: Proc) -> bool:
        assert server.alive(), server.log.read_text()[-3000:]
        try:
            return httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()

    def logged_errors(self) -> list[str]:
        """Tracebacks and ERROR lines in every process's log."""
        found = []
        for proc in self.procs:
            for line in proc.log.read_text(errors="replace").splitlines():
                if " ERROR " in line or line.startswith("Traceback"):
                    found.append(f"{proc.name}: {line}")
        return found


def stack_env(tmp: Path, *, database_port: int | None = None, redis_url: str) -> dict[str, str]:
    db = settings.DATABASES["default"]
    port = database_port or int(db.get("PORT") or 5432)
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE"}}
    env.update(
        # Named, so a fault can hit the stack's connections and spare the test runner's pool.
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{port}/{db['NAME']}"
        f"?application_name={STACK_APPLICATION}",
        REDIS_URL=redis_url,
        PLAYWAVE_DATA_DIR=str(tmp),
        PLAYWAVE_LOG_LEVEL="WARNING",
        PLAYWAVE_CACHE_PREFIX=f"faults-{secrets.token_hex(4)}",
        PLAYWAVE_CHANNEL_PREFIX=f"faults-{secrets.token_hex(4)}",
    )
    return env


@contextlib.contextmanager
def service_stack(env: dict[str, str], logdir: Path) -> Iterator[ServiceStack]:
    stack = ServiceStack(env, logdir)
    try:
        yield stack.start()
    finally:
        stack.stop()


# --- traffic -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    sent: float  # time.monotonic()
    took: float
    target: str
    call: str
    status: int  # 0: no HTTP answer at all
    code: str  # the envelope's error code, "" on success
    retry_after: str = ""


@dataclass
class Seat:
    """A PC with a live launcher session and its game session, as the traffic sees them."""

    cafe_key: str
    cafe_secret: str
    token: str
    game_session_id: str
    user: str


def signed(seat: Seat, method: str, path: str, body: bytes) -> dict[str, str]:
    from playwave_client.signing import sign

    stamp = str(int(time.time()))
    nonce = secrets.token_hex(12)
    return {
        "X-PW-Key": seat.cafe_key,
        "X-PW-Timestamp": stamp,
        "X-PW-Nonce": nonce,
        "X-PW-Signature": sign(seat.cafe_secret, method, path, stamp, nonce, body),
        "Authorization": f"Bearer {seat.token}",
        "Content-Type": "application/json",
    }


class Traffic:
    """Game heartbeats and signed launcher heartbeats for every seat, round-robin, on a thread,
    against the targets enabled at the moment; every answer is kept."""

    def __init__(self, api_key: str, seats: list[Seat], targets: dict[str, str]) -> None:
        self.api_key = api_key
        self.seats = seats
        self.targets = targets
        self.enabled = set(targets)
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def call(self, client: httpx.Client, target: str, seat: Seat, launcher: bool) -> Answer:
        if launcher:
            path, method, body = "/v1/launcher/session/heartbeat", "PATCH", b"{}"
            headers = signed(seat, method, path, body)
        else:
            path, method = "/v1/game/session/heartbeat", "PATCH"
            body = json.dumps(
                {"game_session_id": seat.game_session_id, "provider_user_id": seat.user}
            ).encode()
            headers = {"X-Api-Key": self.api_key, "Content-Type": "application/json"}
        sent = time.monotonic()
        try:
            r = client.request(method, self.targets[target] + path, content=body, headers=headers)
            status, code = r.status_code, ""
            if status != 200:
                code = r.json().get("error", {}).get("code", "?")
            retry = r.headers.get("Retry-After", "")
        except (httpx.HTTPError, ValueError) as exc:
            status, code, retry = 0, type(exc).__name__, ""
        call = "launcher" if launcher else "game"
        return Answer(sent, time.monotonic() - sent, target, call, status, code, retry)

    def _run(self) -> None:
        i = 0
        with httpx.Client(timeout=15) as client:
            while not self._stop.is_set():
                for target in sorted(self.enabled):
                    seat = self.seats[i % len(self.seats)]
                    self.answers.append(self.call(client, target, seat, launcher=i % 3 == 0))
                i += 1

    def since(self, moment: float) -> list[Answer]:
        return [a for a in list(self.answers) if a.sent >= moment]

    def wait_answers(self, moment: float, n: int, timeout: float = 30) -> list[Answer]:
        """At least n answers to calls sent at or after `moment`."""
        wait_for(lambda: len(self.since(moment)) >= n, f"{n} answers", timeout)
        return self.since(moment)


def figures(name: str, answers: list[Answer], since: float) -> str:
    """A line of what the traffic saw from `since` on (shown with pytest -rP)."""
    import statistics

    took = [a.took for a in answers] or [0.0]
    statuses = Counter(f"{a.status}{' ' + a.code if a.code else ''}" for a in answers)
    first_ok = next((a.sent + a.took - since for a in answers if a.status == 200), None)
    line = (
        f"{name}: {len(answers)} calls, {dict(statuses)}, answer time median "
        f"{statistics.median(took) * 1000:.0f} ms, max {max(took) * 1000:.0f} ms"
        + (f", first 200 after {first_ok:.2f} s" if first_ok is not None else "")
    )
    print(line)
    return line
