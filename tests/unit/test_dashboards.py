"""Structure of the dashboards in grafana/dashboards: stable unique uids, datasources
that the grafana_stack role provisions, defined variables, units, no hard-coded hosts."""

from __future__ import annotations

import re

import pytest
import yaml

from tests import dashboards

PROVISIONED = {
    d["uid"]: d["type"]
    for d in yaml.safe_load(
        (dashboards.REPO / "ansible/roles/grafana_stack/vars/main.yml").read_text()
    )["__grafana_stack_datasources"]
}
BOARDS = dashboards.load()
EXPECTED = {"model-serving", "model-quality", "pipelines", "platform", "logs"}
# an address, a host name or an instance label in a query would tie it to one machine
HARD_CODED = re.compile(r"127\.0\.0\.1|localhost|mlops-molecule|\binstance\s*=~?\s*\"|:\d{4,5}\b")


def test_the_five_dashboards_exist_with_stable_unique_uids():
    assert {name.removesuffix(".json") for name in BOARDS} == EXPECTED
    uids = [b["uid"] for b in BOARDS.values()]
    assert len(set(uids)) == len(uids)
    for name, board in BOARDS.items():
        assert board["uid"] == "mlops-" + name.removesuffix(".json"), name
        assert board["title"] and board["description"], name


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_every_panel_uses_a_provisioned_datasource(name):
    board = BOARDS[name]
    for panel in dashboards.panels(board):
        if panel["type"] == "row":
            continue
        ds = panel["datasource"]
        assert PROVISIONED.get(ds["uid"]) == ds["type"], (panel["title"], ds)
    for query in dashboards.queries(board):
        assert PROVISIONED.get(query.datasource["uid"]) == query.datasource["type"], query.name
        assert query.text.strip(), f"{query.name} has no query"
    for var in board["templating"]["list"]:
        assert PROVISIONED.get(var["datasource"]["uid"]) == var["datasource"]["type"], var["name"]


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_every_variable_a_query_uses_is_defined(name):
    board = BOARDS[name]
    defined = {v["name"] for v in board["templating"]["list"]}
    for query in dashboards.queries(board):
        unknown = dashboards.variables_used(query.text) - defined - dashboards.BUILTINS
        assert not unknown, f"{query.name} uses undefined {unknown}"


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_no_query_is_tied_to_one_host(name):
    for query in dashboards.queries(BOARDS[name]):
        assert not HARD_CODED.search(query.text), query.name


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_panels_have_unique_ids_units_and_fit_the_grid(name):
    board = BOARDS[name]
    ids = [p["id"] for p in dashboards.panels(board)]
    assert len(set(ids)) == len(ids)
    for panel in dashboards.panels(board):
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        if panel["type"] == "timeseries":
            assert panel["fieldConfig"]["defaults"].get("unit"), f"{panel['title']} has no unit"


def test_expand_formats_variables_as_grafana_does():
    values = {"model": ["iris-v2.1", "o'brien"]}
    promql = dashboards.expand(
        'x{model=~"$model"}[$__rate_interval]', values, dashboards.promql_regex
    )
    # a regex character is escaped with a doubled backslash inside the PromQL string
    assert promql == 'x{model=~"(iris-v2\\\\.1|o\'brien)"}[5m]'
    sql = dashboards.sql_time_filter("WHERE m IN (${model}) AND $__timeFilter(t)", hours=6)
    sql = dashboards.expand(sql, values, dashboards.sql_list)
    assert (
        sql
        == "WHERE m IN ('iris-v2.1','o''brien') AND t BETWEEN now() - interval '6 hours' AND now()"
    )
