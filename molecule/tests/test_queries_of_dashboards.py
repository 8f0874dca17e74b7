"""Proof that the dashboards show real data: every query of every panel of
grafana/dashboards runs against the real Prometheus and the real app-db (as the
dashboards' read-only role, as Grafana would) after the demo path and some
traffic, and must succeed with a non-empty result.

Runs after test_platform.py (the demo path) and test_prometheus.py (targets up).
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from platform_demo import ROW, group_vars

from tests import dashboards

# Panels that may be empty on a healthy platform, with the reason. Keep it short.
LEGITIMATELY_EMPTY: dict[str, str] = {}
LOKI_SKIP = (
    "Loki is not installed: Grafana's packages cannot be downloaded on these machines "
    "(mlops_grafana_stack_enabled is false), so its LogQL panels are not run"
)
SQL_HOURS = 6  # the dashboards' default time range
RANGE_SECONDS = 30 * 60


class AppDb:
    """psql as the dashboards' read-only role, over loopback like Grafana's datasource."""

    def __init__(self, password: str, single: bool) -> None:
        ports = group_vars("ports")["mlops_ports"]
        self.port = ports["postgres_single"] if single else ports["postgres_app"]
        self.user = group_vars("databases")["mlops_postgres_dashboards_user"]
        self.env = {**os.environ, "PGPASSWORD": password}

    def run(self, sql: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                "app",
                "-X",
                "-v",
                "ON_ERROR_STOP=1",
                "-At",
                "-c",
                sql,
            ],
            check=False,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )

    def rows(self, sql: str) -> list[str]:
        done = self.run(sql)
        assert done.returncode == 0, f"{sql}\n{done.stderr}"
        return [line for line in done.stdout.splitlines() if line]


@pytest.fixture(scope="module")
def app_db(platform, host):
    return AppDb(platform.secret("postgres_dashboards"), "single" in host.backend.get_hostname())


@pytest.fixture(scope="module")
def traffic(platform, prometheus):
    """Predictions and a few bad requests, then wait until Prometheus has scraped them."""
    for _ in range(40):
        assert platform.api.post("/invocations", json=ROW).status_code == 200
    assert (
        platform.api.post(
            "/invocations", data="{not json", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert (
        platform.api.post(
            "/invocations", data="x", headers={"Content-Type": "text/plain"}
        ).status_code
        == 415
    )
    # Rate panels need two samples of a series in their window: the 400 and 415
    # series are new, so wait for their second scrape, not their first.
    deadline = time.monotonic() + 90
    probe = (
        'count(count_over_time(mlops_http_requests_total{endpoint="/invocations",'
        ' status=~"400|415"}[5m]) >= 2) == 2'
    )
    while not prom(prometheus, "/api/v1/query", {"query": probe}):
        assert time.monotonic() < deadline, "Prometheus did not scrape the traffic"
        time.sleep(5)


def prom(prometheus, path: str, params: dict) -> list:
    answer = prometheus.get(path, params=params).json()
    assert answer["status"] == "success", f"{params}: {answer.get('error')}"
    return answer["data"]["result"] if "result" in answer.get("data", {}) else answer["data"]


def variable_values(board: dict, prometheus, app_db: AppDb) -> dict[str, list[str]]:
    """Every value of each variable, as Grafana lists them with 'All' selected."""
    values = {}
    for var in board["templating"]["list"]:
        kind = var["datasource"]["type"]
        if kind == "prometheus":
            metric, label = (
                var["query"]["query"].removeprefix("label_values(").rstrip(")").split(", ")
            )
            found = prom(prometheus, f"/api/v1/label/{label}/values", {"match[]": metric})
        elif kind == "grafana-postgresql-datasource":
            found = app_db.rows(var["query"])
        else:
            continue
        assert found, f"variable {var['name']} of {board['uid']} has no values"
        values[var["name"]] = found
    return values


CASES = [(q, board) for board in dashboards.load().values() for q in dashboards.queries(board)]


@pytest.mark.parametrize(("query", "board"), CASES, ids=[q.name for q, _ in CASES])
def test_panel_query_returns_real_data(query, board, traffic, prometheus, app_db):
    kind = query.datasource["type"]
    if kind == "loki":
        pytest.skip(LOKI_SKIP)
    values = variable_values(board, prometheus, app_db)
    if kind == "prometheus":
        promql = dashboards.expand(query.text, values, dashboards.promql_regex)
        now = time.time()
        if query.instant:
            result = prom(prometheus, "/api/v1/query", {"query": promql})
        else:
            result = prom(
                prometheus,
                "/api/v1/query_range",
                {"query": promql, "start": now - RANGE_SECONDS, "end": now, "step": 15},
            )
        empty = not result
    else:
        sql = dashboards.expand(
            dashboards.sql_time_filter(query.text, SQL_HOURS), values, dashboards.sql_list
        )
        empty = not app_db.rows(sql)
    if query.name in LEGITIMATELY_EMPTY:
        return
    assert not empty, f"{query.name} returned nothing: {query.text}"


def test_the_dashboards_role_cannot_write(app_db):
    for sql in (
        "INSERT INTO registry_events (model_name, kind, key) VALUES ('x', 'tag', 'x')",
        "DELETE FROM predictions",
        "CREATE TABLE grafana_was_here (x int)",
    ):
        done = app_db.run(sql)
        assert done.returncode != 0 and "permission denied" in done.stderr, sql
