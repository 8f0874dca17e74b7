"""The dashboards of grafana/dashboards, read the way Grafana reads them.

Shared by the structure test (tests/unit) and the query proof on the converged
host (molecule/tests): both need every query of every panel, and the query
proof needs Grafana's variables and macros expanded as Grafana expands them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DASHBOARDS = REPO / "grafana" / "dashboards"

# Grafana's own variables and macros, which need no definition in a dashboard
BUILTINS = {"__rate_interval", "__interval", "__auto", "__range", "__timeFilter", "__all"}
VARIABLE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")


@dataclass(frozen=True)
class Query:
    dashboard: str  # uid
    panel: str  # title
    ref: str  # refId
    datasource: dict
    text: str  # PromQL, SQL or LogQL as written in the panel
    instant: bool

    @property
    def name(self) -> str:
        return f"{self.dashboard} / {self.panel} / {self.ref}"


def load() -> dict[str, dict]:
    """Every dashboard by file name."""
    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def panels(board: dict) -> Iterator[dict]:
    """Every panel, including those inside collapsed rows."""
    for panel in board.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def queries(board: dict) -> Iterator[Query]:
    for panel in panels(board):
        for target in panel.get("targets", []):
            text = target.get("expr") or target.get("rawSql") or ""
            yield Query(
                board["uid"],
                panel["title"],
                target["refId"],
                target.get("datasource") or panel["datasource"],
                text,
                bool(target.get("instant")),
            )


def variables_used(text: str) -> set[str]:
    return {a or b for a, b in VARIABLE.findall(text)}


def expand(
    text: str,
    values: dict[str, list[str]],
    quote: Callable[[list[str]], str],
    rate_interval: str = "5m",
) -> str:
    """Replace $var and ${var} with the values Grafana would put there ('All' selected)."""
    text = text.replace("$__rate_interval", rate_interval).replace("$__auto", rate_interval)
    text = text.replace("$__interval", rate_interval)

    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        return match.group(0) if name in BUILTINS else quote(values[name])

    return VARIABLE.sub(value, text)


def promql_regex(values: list[str]) -> str:
    """A multi-value variable in PromQL: an alternation, each value's regex characters
    escaped with a doubled backslash inside the PromQL string (as Grafana does)."""
    escaped = (re.sub(r"[\\^$*+?.()|\[\]{}/]", r"\\\\\g<0>", v) for v in values)
    return "(" + "|".join(escaped) + ")" if values else ".*"


def sql_list(values: list[str]) -> str:
    """A multi-value variable in SQL: quoted, comma-separated (Grafana's sqlstring format)."""
    return ",".join("'" + v.replace("'", "''") + "'" for v in values) or "NULL"


def sql_time_filter(sql: str, hours: int) -> str:
    """Grafana's $__timeFilter(col) macro, for the last `hours` hours."""
    return re.sub(
        r"\$__timeFilter\((\w+)\)",
        lambda m: f"{m.group(1)} BETWEEN now() - interval '{hours} hours' AND now()",
        sql,
    )
