"""What `opentelemetry` ships around the service, checked offline: the alert rules with
promtool (Debian's `prometheus` package), every query of the Grafana dashboard parsed by
promtool too, the compose collector behind its profile, the k8s ConfigMap's OTEL_* variables.
The traces themselves are tested in the rendered suite (template/tests/test_tracing.py.jinja).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import Renders

OBSERVABILITY = Path("deploy/observability")
# Grafana's variables, as a query is sent: promtool parses what Prometheus would receive.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$job": "my-service", "${datasource}": "prom"}


@pytest.fixture(scope="module")
def traced(render: Renders) -> Path:
    return render(opentelemetry=True, kubernetes=True, sentry=True)


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("promtool")
    if executable is None:
        pytest.fail("promtool is missing: apt-get install prometheus (it ships promtool)")
    return subprocess.run(
        [executable, *map(str, args)], capture_output=True, text=True, check=False
    )


def test_the_alert_rules_are_valid_and_fire_as_their_tests_say(traced: Path) -> None:
    folder = traced / OBSERVABILITY
    checked = promtool("check", "rules", folder / "prometheus-alerts.yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", folder / "prometheus-alerts.test.yaml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def dashboard_queries(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_every_dashboard_query_parses(traced: Path, tmp_path: Path) -> None:
    dashboard = json.loads((traced / OBSERVABILITY / "grafana-dashboard.json").read_text())
    queries = dashboard_queries(dashboard)
    assert len(queries) >= 6
    variables = {name["name"] for name in dashboard["templating"]["list"]}
    rules = []
    for number, query in enumerate(queries):
        used = set(re.findall(r"\$\{?(\w+)\}?", query)) - {"__rate_interval"}
        assert used <= variables, f"a query uses an undefined variable: {query}"
        for name, value in GRAFANA_VARIABLES.items():
            query = query.replace(name, value)
        rules.append({"record": f"dashboard:query_{number}", "expr": query})
    # Recording rules are the offline way to have promtool parse expressions.
    rule_file = tmp_path / "dashboard-queries.yaml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = promtool("check", "rules", rule_file)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    metrics = {"http_requests_total", "http_request_duration_seconds_bucket"}
    assert metrics <= {m for q in queries for m in re.findall(r"http_\w+", q)}


def exported_metrics(project: Path) -> set[str]:
    """The names /metrics shows, read from the rendered app/core/metrics.py (a histogram's
    series carry suffixes), plus Prometheus's own `up`."""
    source = (project / "app" / "core" / "metrics.py").read_text()
    names = set(re.findall(r'(?:Counter|Gauge|Histogram)\(\s*"(\w+)"', source))
    suffixes = ("", "_bucket", "_count", "_sum")
    return {name + suffix for name in names for suffix in suffixes} | {"up"}


def test_the_dashboard_and_the_alerts_name_only_exported_metrics(traced: Path) -> None:
    folder = traced / OBSERVABILITY
    dashboard = json.loads((folder / "grafana-dashboard.json").read_text())
    rules = yaml.safe_load((folder / "prometheus-alerts.yaml").read_text())
    queries = dashboard_queries(dashboard)
    queries += [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    named = {m for q in queries for m in re.findall(r"\b([a-z_]+)\{", q)}
    exported = exported_metrics(traced)
    assert named <= exported, f"not exported: {sorted(named - exported)}"
    # The outbox's jobs are on the dashboard and alerted on, not only the requests.
    assert {"jobs_pending", "jobs_oldest_pending_age_seconds", "jobs_dead_letters"} <= named


def test_a_broken_query_would_be_caught(tmp_path: Path) -> None:
    rule_file = tmp_path / "broken.yaml"
    broken = {"record": "dashboard:broken", "expr": "sum by (route) (rate(http_requests_total[5m]"}
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "d", "rules": [broken]}]}))
    assert promtool("check", "rules", rule_file).returncode != 0


def test_compose_runs_the_collector_only_with_its_profile(traced: Path) -> None:
    services = yaml.safe_load((traced / "docker-compose.yml").read_text())["services"]
    collector = services["otel-collector"]
    assert collector["profiles"] == ["observability"]
    assert re.fullmatch(r"otel/opentelemetry-collector:\d+\.\d+\.\d+", collector["image"])
    config = "./deploy/observability/otel-collector.yaml:/etc/otelcol/config.yaml:ro"
    assert config in collector["volumes"]
    assert services["api"]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == (
        "http://otel-collector:4318"
    )
    pipeline = yaml.safe_load((traced / OBSERVABILITY / "otel-collector.yaml").read_text())
    assert pipeline["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    assert pipeline["service"]["pipelines"]["traces"]["receivers"] == ["otlp"]


def test_kubernetes_passes_the_standard_variables(traced: Path) -> None:
    kustomization = (traced / "deploy/k8s/base/kustomization.yaml").read_text()
    literals = dict(
        line.strip().removeprefix("- ").split("=", 1)
        for line in kustomization.splitlines()
        if line.strip().startswith("- OTEL_")
    )
    assert literals["OTEL_SERVICE_NAME"] == "my-service"
    assert literals["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio"
    assert literals["OTEL_EXPORTER_OTLP_ENDPOINT"].endswith(":4318")
    policy = (traced / "deploy/k8s/base/networkpolicy.yaml").read_text()
    assert "port: 4318" in policy, "the collector is reachable"
    assert "port: 443" in policy, "so is Sentry"


def test_the_defaults_carry_no_tracing_nor_error_reports(render: Renders) -> None:
    project = render()
    assert not (project / OBSERVABILITY).exists()
    text = "\n".join(
        path.read_text()
        for path in project.rglob("*")
        if path.is_file()
        and path.suffix in {".py", ".toml", ".yml", ".yaml", ".example"}
        and path.name != ".copier-answers.yml"  # which records `opentelemetry: false`
    )
    for word in ("opentelemetry", "OTEL_", "sentry", "SENTRY_"):
        assert word not in text
