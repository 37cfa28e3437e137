#!/usr/bin/env python3
"""Checks that every PromQL expression in the Grafana dashboards and the Prometheus rules parses and names only
metrics the services export.

A renamed or misspelt metric does not fail anywhere else: the panel just goes empty and the alert never fires. This
check turns that into a failed `make test`.

    check_dashboards.py [METRICS_FILE]

METRICS_FILE lists exported metric names, one per line (# comments allowed); by default
infra/prometheus/exported-metrics.txt. A histogram's `_bucket`, `_sum` and `_count` series count as exported when
its base name is listed. Series recorded by the rules themselves (`record:` in alerts.yml) count as exported too.

Also checks the dashboards' own consistency: unique `uid`s, unique panel ids, and every panel reading the
provisioned Prometheus datasource (directly, or through the dashboard's `${datasource}` variable). Needs the Python
packages promql-parser and PyYAML (check-infra.sh installs them). Exits 1 on any problem.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import promql_parser
import yaml

REPO = Path(__file__).resolve().parents[2]
DASHBOARD_DIR = REPO / "infra/grafana/dashboards"
RULE_FILES = [REPO / "infra/prometheus/alerts.yml"]
DATASOURCE_FILE = REPO / "infra/grafana/provisioning/datasources/prometheus.yaml"
DEFAULT_METRICS_FILE = REPO / "infra/prometheus/exported-metrics.txt"
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

# Grafana replaces these before the query reaches Prometheus; any duration or label value parses the same.
GRAFANA_DURATION_VARIABLE = re.compile(r"\$__(rate_interval|interval|range)(_ms|_s)?\b|\$\{__(rate_interval|interval|range)\}")
GRAFANA_VARIABLE = re.compile(r"\$\{\w+(:\w+)?\}|\$\w+")
LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?P<expr>.+?)\s*,\s*\w+\s*\)\s*$")
QUERY_RESULT = re.compile(r"^\s*query_result\((?P<expr>.*)\)\s*$")


def read_metric_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(line)
    return names


def is_known(name: str, known: set[str]) -> bool:
    if name in known:
        return True
    return any(name.endswith(suffix) and name[: -len(suffix)] in known for suffix in HISTOGRAM_SUFFIXES)


def metric_names(node) -> set[str]:
    """Every metric name an expression selects, by walking promql_parser's syntax tree."""
    if isinstance(node, promql_parser.VectorSelector):
        names = {node.name} if node.name else set()
        # {__name__="x"} is a selector by name too.
        for matcher in node.matchers.matchers:
            if matcher.name == "__name__" and matcher.op == promql_parser.MatchOp.Equal:
                names.add(matcher.value)
        return names
    if isinstance(node, promql_parser.MatrixSelector):
        return metric_names(node.vector_selector)
    if isinstance(node, promql_parser.BinaryExpr):
        return metric_names(node.lhs) | metric_names(node.rhs)
    if isinstance(node, promql_parser.AggregateExpr):
        names = metric_names(node.expr)
        if node.param is not None:
            names |= metric_names(node.param)
        return names
    if isinstance(node, promql_parser.Call):
        names = set()
        for arg in node.args:
            names |= metric_names(arg)
        return names
    if isinstance(node, (promql_parser.ParenExpr, promql_parser.UnaryExpr, promql_parser.SubqueryExpr)):
        return metric_names(node.expr)
    return set()  # number and string literals


def to_promql(grafana_expr: str) -> str:
    """Turns a Grafana panel query into plain PromQL by filling in its template variables."""
    expr = GRAFANA_DURATION_VARIABLE.sub("5m", grafana_expr)
    return GRAFANA_VARIABLE.sub("x", expr)


def dashboard_expressions(dashboard: dict):
    """(where, expression) for every query in a dashboard: panel targets (rows nest panels) and query variables."""

    def panels(items):
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))

    for panel in panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield f"panel {panel.get('title')!r} ({target.get('refId')})", target["expr"]

    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if not query:
            continue
        # label_values(selector, label) and query_result(expr) wrap PromQL; label_values(label) has none.
        match = LABEL_VALUES.match(query) or QUERY_RESULT.match(query)
        if match:
            yield f"variable ${variable.get('name')}", match.group("expr")


def rule_expressions(path: Path):
    for group in yaml.safe_load(path.read_text()).get("groups", []):
        for rule in group.get("rules", []):
            name = rule.get("alert") or rule.get("record")
            yield f"rule {name!r} (group {group.get('name')})", rule["expr"]


def recorded_names(paths) -> set[str]:
    names = set()
    for path in paths:
        for group in yaml.safe_load(path.read_text()).get("groups", []):
            names |= {rule["record"] for rule in group.get("rules", []) if "record" in rule}
    return names


def check_dashboard_consistency(files, datasource_uid: str) -> list[str]:
    problems = []
    uids: dict[str, str] = {}
    for path in files:
        dashboard = json.loads(path.read_text())
        uid = dashboard.get("uid")
        if not uid:
            problems.append(f"{path.name}: no uid (links and provisioning need a stable one)")
        elif uid in uids:
            problems.append(f"{path.name}: uid {uid!r} also used by {uids[uid]}")
        else:
            uids[uid] = path.name
        if not dashboard.get("title"):
            problems.append(f"{path.name}: no title")

        ids = set()
        stack = list(dashboard.get("panels", []))
        while stack:
            panel = stack.pop()
            stack.extend(panel.get("panels", []))
            if panel.get("id") in ids:
                problems.append(f"{path.name}: panel id {panel.get('id')} used twice")
            ids.add(panel.get("id"))
            if panel.get("type") == "row":
                continue
            for holder in [panel, *panel.get("targets", [])]:
                source = holder.get("datasource")
                if isinstance(source, dict) and source.get("uid") not in (datasource_uid, "${datasource}", None):
                    problems.append(
                        f"{path.name}: panel {panel.get('title')!r} reads datasource {source.get('uid')!r}, "
                        f"not the provisioned {datasource_uid!r}"
                    )
    return problems


def main() -> int:
    metrics_file = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_METRICS_FILE
    known = read_metric_names(metrics_file) | recorded_names(RULE_FILES)

    datasource_uid = yaml.safe_load(DATASOURCE_FILE.read_text())["datasources"][0]["uid"]
    dashboard_files = sorted(DASHBOARD_DIR.glob("*.json"))
    problems = check_dashboard_consistency(dashboard_files, datasource_uid)

    sources = [(path, dashboard_expressions(json.loads(path.read_text()))) for path in dashboard_files]
    sources += [(path, rule_expressions(path)) for path in RULE_FILES]

    checked = 0
    for path, expressions in sources:
        for where, expr in expressions:
            checked += 1
            try:
                tree = promql_parser.parse(to_promql(expr))
            except Exception as error:  # the parser raises plain ValueErrors/RuntimeErrors with the position
                problems.append(f"{path.name}: {where}: does not parse: {error}\n    {expr}")
                continue
            unknown = sorted(name for name in metric_names(tree) if not is_known(name, known))
            if unknown:
                problems.append(f"{path.name}: {where}: unknown metric {', '.join(unknown)}\n    {expr}")

    for problem in problems:
        print(f"FAIL {problem}")
    print(
        f"check_dashboards: {checked} expressions in {len(sources)} files against {metrics_file.name} "
        f"({len(known)} names): {len(problems)} problems"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
