"""The alert rules and the Grafana dashboard in ops/: valid, about real metrics, and runnable.

promtool and prometheus come from Debian's prometheus package (`make check-ops` installs it).
"""

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

from tests.conftest import ROOT, free_port
from tests.ops.conftest import ApiServer

pytestmark = pytest.mark.integration

OPS = ROOT / "ops"
DASHBOARD = OPS / "grafana" / "dashboards" / "scribe-rabbit.json"
ALERTS = OPS / "prometheus" / "alerts.yml"
METRIC = re.compile(r"\bscribe_rabbit_[a-z_]+")

needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool missing: `make check-ops` installs it"
)


def _dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def _exprs() -> list[str]:
    return [t["expr"] for p in _dashboard()["panels"] for t in p.get("targets", [])]


def _as_query(expr: str) -> str:
    """A dashboard expression as Prometheus sees it once Grafana has filled its variables."""
    return expr.replace("$__rate_interval", "1m")


def _exported_names() -> set[str]:
    """Every sample name the code can export (created metrics and the scrape-time gauges)."""
    from prometheus_client import REGISTRY

    import app.ops.metrics  # noqa: F401  (registers the metrics)

    names = set(REGISTRY._names_to_collectors)  # type: ignore[attr-defined]
    return names | {
        "scribe_rabbit_component_up",
        "scribe_rabbit_queue_depth",
        "scribe_rabbit_jobs_active",
    }


def test_dashboard_json_is_well_formed() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] == "scribe-rabbit-overview" and dashboard["title"]
    assert dashboard["schemaVersion"] >= 36
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert {"type", "title", "gridPos"} <= set(panel)
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}"
            assert panel["targets"] and all(t["expr"] and t["refId"] for t in panel["targets"])


def test_dashboard_and_alerts_name_only_metrics_the_code_exports() -> None:
    exported = _exported_names()
    wanted = set(METRIC.findall(DASHBOARD.read_text())) | set(METRIC.findall(ALERTS.read_text()))
    assert wanted, "no metric referenced"
    assert wanted <= exported, sorted(wanted - exported)
    # The names operators of the original design rely on are all on the dashboard.
    for name in (
        "scribe_rabbit_jobs_submitted_total",
        "scribe_rabbit_jobs_completed_total",
        "scribe_rabbit_jobs_failed_total",
        "scribe_rabbit_job_duration_seconds_bucket",
        "scribe_rabbit_queue_depth",
    ):
        assert name in DASHBOARD.read_text()


@needs_promtool
def test_alert_rules_pass_promtool_check_and_unit_tests() -> None:
    check = subprocess.run(
        ["promtool", "check", "rules", str(ALERTS)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    unit = subprocess.run(
        ["promtool", "test", "rules", "alerts.test.yml"],
        cwd=OPS / "prometheus",
        capture_output=True,
        text=True,
    )
    assert unit.returncode == 0, unit.stdout + unit.stderr


@needs_promtool
def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": _as_query(e)}
                    for i, e in enumerate(_exprs())
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump(rules))
    check = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.fixture()
def prometheus(api_server: ApiServer, tmp_path: Path) -> Iterator[str]:
    """A real Prometheus scraping the API every second, with the alert rules loaded."""
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus missing: `make check-ops` installs it")
    shutil.copy(ALERTS, tmp_path / "alerts.yml")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["alerts.yml"],
        "scrape_configs": [
            {
                "job_name": "scribe-api",
                "static_configs": [{"targets": [api_server.url.removeprefix("http://")]}],
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(15)


def _query(base: str, expr: str) -> dict[str, Any]:
    response = httpx.get(f"{base}/api/v1/query", params={"query": expr}, timeout=10)
    assert response.status_code == 200, (expr, response.text)
    body = dict(response.json())
    assert body["status"] == "success", (expr, body)
    return body


def test_dashboard_queries_and_alert_rules_run_on_a_real_prometheus(
    prometheus: str, client: Any, api_key: str
) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            up = _query(prometheus, 'up{job="scribe-api"}')["data"]["result"]
            if up and up[0]["value"][1] == "1":
                break
        except (httpx.HTTPError, AssertionError):
            pass
        time.sleep(0.5)
    else:
        raise AssertionError("Prometheus never scraped the API")
    client.get("/api/v1/jobs", headers={"X-API-Key": api_key})
    time.sleep(3)  # a few scrapes, so rates have two points
    results = {expr: _query(prometheus, _as_query(expr))["data"]["result"] for expr in _exprs()}
    with_data = {expr for expr, result in results.items() if result}
    assert any("scribe_rabbit_component_up" in e for e in with_data)
    assert any("scribe_rabbit_queue_depth" in e for e in with_data)
    assert any("http_request_duration_seconds_count" in e for e in with_data)
    rules = httpx.get(f"{prometheus}/api/v1/rules", timeout=10).json()["data"]["groups"]
    assert {g["name"] for g in rules} >= {"scribe-rabbit-availability", "scribe-rabbit-jobs"}
    deadline = time.monotonic() + 10
    while (
        any(r.get("health") != "ok" for g in rules for r in g["rules"])
        and time.monotonic() < deadline
    ):
        time.sleep(1)
        rules = httpx.get(f"{prometheus}/api/v1/rules", timeout=10).json()["data"]["groups"]
    broken = [
        (r["name"], r.get("lastError"))
        for g in rules
        for r in g["rules"]
        if r.get("health") != "ok"
    ]
    assert not broken, broken
