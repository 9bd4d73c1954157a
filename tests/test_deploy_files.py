"""deploy/: alert rules and the Grafana dashboard only use series the app exports; a real
Prometheus scrapes the running app and sees a scripted set of sessions."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from django.test import Client
from personas import GameServer, free_port, make_game, open_pc, wait_until_serving

from sessions import billing, game_sessions, launchers

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
SERIES = re.compile(r"\bplaywave_[a-z0-9_]+")


def exported_names() -> set[str]:
    text = Client().get("/metrics").content.decode()
    return set(re.findall(r"^# TYPE (\S+) ", text, re.MULTILINE))


def base_name(series: str) -> str:
    for suffix in ("_bucket", "_count", "_sum"):
        if series.endswith(suffix):
            return series.removesuffix(suffix)
    return series


def rule_expressions() -> list[str]:
    rules = yaml.safe_load((DEPLOY / "prometheus-rules.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    return json.loads((DEPLOY / "grafana-dashboard.json").read_text())  # type: ignore[no-any-return]


def dashboard_expressions() -> list[str]:
    return [t["expr"] for panel in dashboard()["panels"] for t in panel["targets"]]


@pytest.mark.django_db
@pytest.mark.parametrize("source", ["rules", "dashboard"])
def test_every_series_used_is_exported(source: str) -> None:
    expressions = rule_expressions() if source == "rules" else dashboard_expressions()
    used = {base_name(s) for e in expressions for s in SERIES.findall(e)}
    assert used, "no series found"
    assert used <= exported_names(), used - exported_names()


PACKAGES = {
    "amtool": "prometheus-alertmanager",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "haproxy": "haproxy",
}


def tool(name: str) -> str:
    import os

    path = shutil.which(name)
    if path is None:
        package = PACKAGES.get(name, "prometheus")
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{name} is missing (Debian package {package}); ./dev test installs it")
        pytest.skip(f"{name} is missing: install Debian's {package} package (./dev test does)")
    return path


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)  # noqa: S603


def alert_rules() -> list[dict[str, Any]]:
    rules = yaml.safe_load((DEPLOY / "prometheus-rules.yml").read_text())
    return [rule for group in rules["groups"] for rule in group["rules"] if "alert" in rule]


def test_the_proxy_config_passes_haproxy_check() -> None:
    result = run(tool("haproxy"), "-c", "-f", str(DEPLOY / "haproxy.cfg"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Configuration file is valid" in result.stdout + result.stderr


def test_alert_rules_pass_promtool() -> None:
    result = run(tool("promtool"), "check", "rules", str(DEPLOY / "prometheus-rules.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_fires_in_its_scenario_and_none_on_the_steady_state() -> None:
    result = run(tool("promtool"), "test", "rules", str(DEPLOY / "prometheus-rules.test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_rule_tests_cover_every_alert() -> None:
    tests = yaml.safe_load((DEPLOY / "prometheus-rules.test.yml").read_text())["tests"]
    alerts = {rule["alert"] for rule in alert_rules()}
    fired = {c["alertname"] for t in tests for c in t["alert_rule_test"] if c["exp_alerts"]}
    by_name = {t["name"]: t for t in tests}

    def silent_in(prefix: str) -> set[str]:
        [test] = [t for name, t in by_name.items() if name.startswith(prefix)]
        assert all(not c["exp_alerts"] for c in test["alert_rule_test"])
        return {c["alertname"] for c in test["alert_rule_test"]}

    assert fired == alerts
    assert silent_in("steady state from a fresh start") == alerts
    assert silent_in("app restart") == alerts
    assert silent_in("noise") == alerts
    # The first hour of a new Prometheus, where a 5m/1h ratio without a full hour reads 12.
    [steady] = [t for name, t in by_name.items() if name.startswith("steady state")]
    assert {"11m", "19m", "26m", "61m"} <= {c["eval_time"] for c in steady["alert_rule_test"]}


def test_every_alert_has_a_severity_a_summary_with_its_value_and_a_runbook() -> None:
    sections = set(
        re.findall(r"^#+ (Playwave\w+)$", (ROOT / "docs" / "operations.md").read_text(), re.M)
    )
    for rule in alert_rules():
        name, annotations = rule["alert"], rule["annotations"]
        assert rule["labels"]["severity"] in {"page", "ticket"}, name
        assert "{{ $value" in annotations["summary"], name
        assert len(annotations["description"]) > 80, name
        assert annotations["runbook_url"] == f"docs/operations.md#{name.lower()}", name
        assert name in sections, f"docs/operations.md has no runbook section for {name}"


def test_alertmanager_config_passes_amtool() -> None:
    config = str(DEPLOY / "alertmanager.yml")
    result = run(tool("amtool"), "check-config", config)
    assert result.returncode == 0, result.stdout + result.stderr
    for severity, receiver in (("page", "page"), ("ticket", "ticket")):
        routed = run(
            tool("amtool"),
            "config",
            "routes",
            "test",
            f"--config.file={config}",
            f"severity={severity}",
            "service=playwave",
            "alertname=PlaywaveDown",
        )
        assert routed.stdout.strip() == receiver, routed.stdout + routed.stderr


def test_alertmanager_holds_back_the_reaper_alert_while_the_app_is_down(tmp_path: Path) -> None:
    """A real Alertmanager with deploy/alertmanager.yml: PlaywaveDown inhibits the rest."""
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603
        [
            tool("prometheus-alertmanager"),
            f"--config.file={DEPLOY / 'alertmanager.yml'}",
            f"--storage.path={tmp_path}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/api/v2"
    try:
        wait_until_serving(f"{base}/status")
        labels = {"service": "playwave", "job": "playwave"}
        alerts = [
            {
                "labels": {
                    **labels,
                    "alertname": "PlaywaveDown",
                    "severity": "page",
                    "instance": "app:8001",
                }
            },
            {"labels": {**labels, "alertname": "PlaywaveReaperStalled", "severity": "page"}},
            {"labels": {**labels, "alertname": "PlaywaveCafesRunningDry", "severity": "ticket"}},
        ]
        assert httpx.post(f"{base}/alerts", json=alerts, timeout=5).status_code == 200
        deadline = time.monotonic() + 30
        state: dict[str, list[str]] = {}
        while time.monotonic() < deadline:
            got = httpx.get(f"{base}/alerts", timeout=5).json()
            state = {a["labels"]["alertname"]: a["status"]["inhibitedBy"] for a in got}
            if len(state) == 3 and state["PlaywaveReaperStalled"]:
                break
            time.sleep(0.2)  # polling another process (Alertmanager) until it has evaluated
        assert state["PlaywaveDown"] == []
        assert state["PlaywaveReaperStalled"] != []
        assert state["PlaywaveCafesRunningDry"] != []
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def prometheus(live_server: Any, tmp_path: Path) -> Iterator[str]:
    """A real Prometheus on loopback scraping the live app every second, with our rules."""
    binary = tool("prometheus")
    target = live_server.url.removeprefix("http://")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(DEPLOY / "prometheus-rules.yml")],
                "scrape_configs": [
                    {"job_name": "playwave", "static_configs": [{"targets": [target]}]}
                ],
            }
        )
    )
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:  # it answers 503 "not ready" while it loads its rules and storage
            try:
                if httpx.get(f"{base}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise AssertionError("Prometheus did not become ready")
            time.sleep(0.1)  # polling another process until it is ready
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def query(prometheus: str, promql: str) -> float | None:
    try:
        answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=5)
    except httpx.HTTPError:
        return None  # still starting
    if answer.status_code != 200:
        return None  # starting up: Prometheus answers 503 "not ready" in plain text
    result = answer.json().get("data", {}).get("result", [])
    return float(result[0]["value"][1]) if result else None


@pytest.mark.django_db(transaction=True)
def test_real_prometheus_scrapes_the_sessions_we_played(prometheus: str) -> None:
    from django.utils import timezone

    game = make_game("promgame", "Prom Game", 3)
    cafe = billing.create_cafe("Scrape Cafe", ["10.0.0.0/24"], balance=500, now=timezone.now())
    server = GameServer(game.key)
    sessions = [server.start(open_pc(cafe, f"S-{i}"), game, user=str(i)) for i in range(3)]
    server.heartbeat(sessions[0], user="0")
    server.end(sessions[1])

    expectations = {
        'sum(playwave_sessions_started_total{game="promgame"})': 3.0,
        'sum(playwave_sessions_ended_total{game="promgame",reason="normal"})': 1.0,
        'sum(playwave_heartbeats_total{game="promgame",result="OK"})': 1.0,
        'sum(playwave_sessions_active{game="promgame"})': 2.0,
    }
    deadline = time.monotonic() + 60
    seen: dict[str, float | None] = {}
    while time.monotonic() < deadline:
        seen = {promql: query(prometheus, promql) for promql in expectations}
        if seen == expectations:
            break
        time.sleep(0.5)  # polling another process (Prometheus) until it has scraped
    assert seen == expectations


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_counts_add_up_across_gunicorn_workers_and_a_reaper_process(tmp_path: Path) -> None:
    import os
    import sys

    from django.conf import settings

    game = make_game("multigame", "Multi", 3)
    db = settings.DATABASES["default"]
    multiproc = tmp_path / "prom"
    multiproc.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
    }
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "playwave.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(f"{base}/healthz")
        body = {"ott": "00000000-0000-4000-8000-000000000000", "provider_user_id": "1"}
        with httpx.Client(base_url=base, headers={"X-Api-Key": game.key}) as client:
            for _ in range(30):
                # A fresh connection each time, so both workers take requests.
                answer = httpx.post(
                    f"{base}/v1/game/session/verify",
                    json=body,
                    headers={"X-Api-Key": game.key, "Connection": "close"},
                )
                assert answer.json()["data"]["reason"] == "OTT_EXPIRED"
            subprocess.run(
                [sys.executable, "manage.py", "run_reaper", "--once"],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                timeout=60,
            )
            text = client.get("/metrics").text
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=20)
    assert 'playwave_verify_total{game="multigame",result="OTT_EXPIRED"} 30.0' in text
    # Every family from the start, in multiprocess mode too: the engine's, and per game at 0.
    assert 'playwave_games_sessions{state="started"} 0.0' in text
    assert 'playwave_sessions_ended_total{game="multigame",reason="normal"} 0.0' in text
    assert "_created" not in text
    last_run = re.search(r"^playwave_reaper_last_run_timestamp_seconds (\S+)$", text, re.MULTILINE)
    assert last_run is not None and float(last_run.group(1)) > time.time() - 120
    writers = {path.stem.rsplit("_", 1)[-1] for path in multiproc.glob("*.db")}
    assert len(writers) >= 2  # a gunicorn worker and the reaper process each wrote their own


def test_dashboard_panels_are_described_variable_driven_and_legended() -> None:
    board = dashboard()
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert {"datasource", "instance", "game"} <= set(variables)
    assert variables["instance"]["includeAll"] and variables["game"]["includeAll"]
    panels = board["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    assert sum(p["type"] == "stat" for p in panels) >= 4
    for panel in panels:
        title = panel["title"]
        assert len(panel.get("description", "")) > 20, title
        assert panel["datasource"]["uid"] == "${datasource}", title
        for target in panel["targets"]:
            expr, legend = target["expr"], target["legendFormat"]
            assert "$instance" in expr, title
            # Rates over the scrape-aware interval, never a fixed window.
            assert not re.search(r"\[\d+[smh]\]", expr), (title, expr)
            if "rate(" in expr:
                assert "[$__rate_interval]" in expr, (title, expr)
            # A legend made for this panel: its own labels, not a catch-all template.
            used = set(re.findall(r"{{(\w+)}}", legend))
            assert legend and len(used) <= 1, (title, legend)
            assert all(re.search(rf"\b{label}\b", expr) for label in used), (title, legend)


def panel_queries() -> list[tuple[str, str]]:
    substitutions = {"$__rate_interval": "30s", "$__range": "10m", "$instance": ".*", "$game": ".*"}
    queries = []
    for panel in dashboard()["panels"]:
        for target in panel["targets"]:
            expr = target["expr"]
            for variable, value in substitutions.items():
                expr = expr.replace(variable, value)
            queries.append((f"{panel['title']} [{target['refId']}]", expr))
    return queries


def series_count(prometheus: str, promql: str) -> int | str:
    try:
        answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=5)
    except httpx.HTTPError:
        return 0  # still starting
    body = answer.json()
    if body.get("status") != "success":
        return f"{body.get('errorType')}: {body.get('error')}"
    return sum(1 for r in body["data"]["result"] if r["value"][1] not in ("NaN", "+Inf", "-Inf"))


class EngineInThread:
    """A games runtime ticking one live game on its own event loop, as an ASGI process does."""

    def __init__(self) -> None:
        import threading

        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import asyncio

        from django.core.cache import cache

        from games.engine import builtin_rulesets
        from games.runtime import Runtime

        async def main() -> None:
            runtime = Runtime(store=cache, layer=None, tick_seconds=0.05)
            live = await runtime.create(builtin_rulesets()["tag"], None)
            while not self.stop.is_set():
                await asyncio.sleep(0.05)
            await runtime.release(live)
            await runtime.stop()

        asyncio.run(main())

    def __enter__(self) -> EngineInThread:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=20)


@pytest.mark.django_db(transaction=True)
def test_every_dashboard_panel_returns_data_for_scripted_traffic(prometheus: str) -> None:
    import uuid
    from datetime import timedelta

    from django.utils import timezone

    from sessions.lifecycle import Touch
    from sessions.reaper import Reaper

    start = timezone.now()
    game = make_game("panelgame", "Panel Game", 10)
    cafe = billing.create_cafe("Panel Cafe", ["10.0.0.0/24"], balance=5000, now=start)
    # 15 G-coin: the first minute is paid, the second is not (grace), and the runway is short.
    dry = billing.create_cafe("Dry Cafe", ["10.0.1.0/24"], balance=15, now=start)
    server = GameServer(game.key)
    playing = server.start(open_pc(cafe, "P-0"), game, user="0")
    broke = server.start(open_pc(dry, "D-0"), game, user="d")
    game_sessions.touch_session(
        game.game,
        uuid.UUID(broke.removeprefix("gs_")),
        "d",
        now=start + timedelta(seconds=61),
        why=Touch.HEARTBEAT,
    )

    queries = panel_queries()
    counts: dict[str, int | str] = {}
    deadline = time.monotonic() + 90
    with EngineInThread():
        round_ = 0
        while time.monotonic() < deadline:
            # One round of ordinary traffic, repeated so every rate has two scrapes to span.
            round_ += 1
            now = timezone.now()
            server.heartbeat(playing, user="0")
            seat = open_pc(cafe, f"P-{round_}")
            gs = server.start(seat, game, user=str(round_))
            if round_ % 2:
                server.end(gs)
            else:
                launchers.end_launcher_session(seat.launcher, now=now)  # due now: reaper lag
            Reaper().iterate()
            billing.topup(cafe.pk, 100, now=now)
            Client().get("/admin/login/")
            Client().get("/healthz")
            counts = {name: series_count(prometheus, expr) for name, expr in queries}
            if all(isinstance(n, int) and n > 0 for n in counts.values()):
                break
            time.sleep(0.5)  # polling another process (Prometheus) until it has scraped
        empty = {name: n for name, n in counts.items() if not (isinstance(n, int) and n > 0)}
        assert not empty, empty
        # The rules evaluate cleanly on the real series (no matching errors), and of them only
        # the one this traffic calls for is on its way: the dry cafe's.
        health: dict[str, str] = {}
        pending: set[str] = set()
        while time.monotonic() < deadline + 30:
            Reaper().iterate()
            server.heartbeat(playing, user="0")
            rules = httpx.get(f"{prometheus}/api/v1/rules", timeout=5).json()["data"]["groups"]
            health = {
                r["name"]: r["health"] + (f": {r['lastError']}" if r.get("lastError") else "")
                for g in rules
                for r in g["rules"]
            }
            alerts = httpx.get(f"{prometheus}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
            pending = {a["labels"]["alertname"] for a in alerts}
            if set(health.values()) == {"ok"} and pending:
                break
            time.sleep(0.5)  # polling another process (Prometheus) until it has evaluated
    assert set(health.values()) == {"ok"}, health
    assert pending == {"PlaywaveCafesRunningDry"}, pending
