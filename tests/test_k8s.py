"""deploy/k8s (kubernetes=true): every overlay builds with the machine's `kubectl kustomize`, and
every object it produces passes `kubernetes-validate --strict` for each Kubernetes version the
docs support. Then what the objects say is checked against the rendered service."""

from __future__ import annotations

import ast
import functools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from tests.matrix import WIDE, Combination
from tests.support import Renders

# docs/operations.md names the same range; kubernetes-validate ships their schemas.
KUBERNETES_VERSIONS = ("1.32.0", "1.33.0", "1.34.0", "1.35.0", "1.36.0", "1.37.0")
OVERLAYS = ("dev", "prod")
K8S_COMBOS = [c for c in WIDE if c.data.get("kubernetes")]
# Settings that come from the Secret, not the ConfigMap.
SECRET_SETTINGS = {
    "SECRET_KEY",
    "REFRESH_TOKEN_SECRET",
    "MFA_ENCRYPTION_KEY",
    "SQLALCHEMY_DATABASE_URI",
    "REDIS_URL",
    "FIRST_ADMIN_EMAIL",
    "FIRST_ADMIN_PASSWORD",
    "SMTP_USER",
    "SMTP_PASSWORD",
    "SENTRY_DSN",
}


def build(project: Path, overlay: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is needed to build the kustomize overlays (it works offline)"
    result = subprocess.run(
        [kubectl, "kustomize", str(project / "deploy" / "k8s" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@functools.cache
def schema_errors(document: str, version: str) -> str | None:
    """`kubernetes-validate --strict` of one object (as canonical JSON) for one version: most
    objects are the same in many combinations, and each is validated once per test process."""
    obj = json.loads(document)
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        where = ".".join(map(str, error.path))
        return f"{obj['kind']}/{obj['metadata']['name']}: {where}: {error.message}"
    return None


def component(obj: dict[str, Any]) -> str | None:
    return obj["metadata"].get("labels", {}).get("app.kubernetes.io/component")


def by_kind(objects: list[dict[str, Any]], worker: bool = False) -> dict[str, dict[str, Any]]:
    """The API's objects (and the shared ones) by kind, or with `worker` the job worker's
    (task_queue=redis): each side has at most one object of a kind."""
    chosen = [obj for obj in objects if (component(obj) == "worker") == worker]
    kinds = [obj["kind"] for obj in chosen]
    assert len(kinds) == len(set(kinds)), kinds
    return {obj["kind"]: obj for obj in chosen}


@pytest.mark.parametrize("combo", K8S_COMBOS, ids=[c.id for c in K8S_COMBOS])
def test_overlays_build_and_validate_strictly(render: Renders, combo: Combination) -> None:
    project = render(**combo.data)
    for overlay in OVERLAYS:
        for obj in build(project, overlay):
            document = json.dumps(obj, sort_keys=True)
            for version in KUBERNETES_VERSIONS:
                if error := schema_errors(document, version):
                    pytest.fail(f"{overlay}, Kubernetes {version}: {error}")


def test_the_option_adds_exactly_deploy_k8s(render: Renders) -> None:
    with_it = render(kubernetes=True)
    without = render()
    assert not (without / "deploy").exists()
    assert (with_it / "deploy" / "k8s" / "base" / "kustomization.yaml").is_file()
    answers = yaml.safe_load(
        (render(docker=False, kubernetes=True) / ".copier-answers.yml").read_text()
    )
    assert not (render(docker=False, kubernetes=True) / "deploy").exists()
    assert answers.get("kubernetes") in (None, False), "not asked without docker"


@pytest.fixture(
    scope="module",
    params=[
        ("postgresql", "memory", False),
        ("postgresql", "redis", True),
        ("mysql", "redis", True),
    ],
    ids=["postgresql-memory", "postgresql-redis-email", "mysql-redis-email"],
)
def project(request: pytest.FixtureRequest, render: Renders) -> Path:
    database, storage, email = request.param
    return render(
        kubernetes=True,
        database=database,
        rate_limiting=True,
        rate_limit_storage=storage,
        email=email,
    )


def settings_fields(project: Path) -> set[str]:
    tree = ast.parse((project / "app" / "core" / "config.py").read_text())
    settings = next(
        node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Settings"
    )
    return {
        node.target.id
        for node in settings.body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    }


def test_every_setting_comes_from_the_configmap_or_the_secret(project: Path) -> None:
    settings_come_from_the_configmap_or_the_secret(project)


def settings_come_from_the_configmap_or_the_secret(project: Path) -> None:
    objects = by_kind(build(project, "prod"))
    config = set(objects["ConfigMap"]["data"])
    secret_readme = (project / "deploy" / "k8s" / "README.md").read_text()
    secrets = {name for name in SECRET_SETTINGS if name in secret_readme}
    assert config.isdisjoint(SECRET_SETTINGS), "secrets never go in the ConfigMap"
    missing = settings_fields(project) - config - secrets
    assert missing == set(), f"settings neither in the ConfigMap nor in the Secret: {missing}"
    for container in pod_containers(objects["Deployment"]) + pod_containers(objects["Job"]):
        refs = {
            ref.get("configMapRef", ref.get("secretRef", {}))["name"]
            for ref in container["envFrom"]
        }
        assert refs == {objects["ConfigMap"]["metadata"]["name"], "my-service-secrets"}


def pod_containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj["spec"]["template"]["spec"]
    return list(spec.get("initContainers", [])) + list(spec["containers"])


def test_the_deployment_runs_the_image_as_built_with_probes_at_the_root(project: Path) -> None:
    objects = by_kind(build(project, "prod"))
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    api = next(c for c in pod["containers"] if c["name"] == "api")
    assert "command" not in api and "args" not in api, "the image's entrypoint and CMD"
    assert api["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert api["startupProbe"]["httpGet"]["path"] == "/health/live"
    assert api["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    for container in pod_containers(objects["Deployment"]) + pod_containers(objects["Job"]):
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["resources"]["requests"]
    # The multiprocess metrics directory is a writable emptyDir.
    config = objects["ConfigMap"]["data"]
    mounts = {m["mountPath"]: m["name"] for m in api["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts[config["PROMETHEUS_MULTIPROC_DIR"]]]
    assert "emptyDir" in volumes[mounts["/tmp"]]
    # Kubernetes waits longer than the drain plus the grace period for requests in flight.
    drain = float(config["SHUTDOWN_DRAIN_SECONDS"])
    graceful = float(config["UVICORN_TIMEOUT_GRACEFUL_SHUTDOWN"])
    assert drain + graceful < pod["terminationGracePeriodSeconds"]
    assert "replicas" not in objects["Deployment"]["spec"], "the HPA owns the replica count"


def test_migrations_run_in_a_job_that_new_pods_wait_for(project: Path) -> None:
    objects = by_kind(build(project, "prod"))
    job = objects["Job"]["spec"]["template"]["spec"]
    assert job["containers"][0]["command"] == ["alembic", "upgrade", "head"]
    assert job["restartPolicy"] == "Never"
    init = objects["Deployment"]["spec"]["template"]["spec"]["initContainers"][0]
    assert "alembic current" in init["command"][-1]
    assert "(head)" in init["command"][-1]


def test_backing_services_are_references_not_deployments(project: Path) -> None:
    for overlay in OVERLAYS:
        objects = build(project, overlay)
        images = {
            c["image"]
            for obj in objects
            if obj["kind"] in ("Deployment", "Job", "StatefulSet")
            for c in pod_containers(obj)
        }
        assert all("postgres" not in image and "redis" not in image for image in images)
        assert {obj["kind"] for obj in objects} >= {
            "Deployment",
            "Service",
            "ConfigMap",
            "Job",
            "NetworkPolicy",
            "HorizontalPodAutoscaler",
        }
    prod = by_kind(build(project, "prod"))
    assert prod["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1
    assert prod["HorizontalPodAutoscaler"]["spec"]["minReplicas"] >= 2


def egress_ports(policy: dict[str, Any]) -> set[int]:
    return {port["port"] for rule in policy["spec"]["egress"] for port in rule["ports"]}


def named_ports(project: Path, config: dict[str, str]) -> dict[str, int]:
    """Every port the pods are told to connect to: the ConfigMap's `*_PORT` settings, and the
    ports of the URLs the Secret holds (the README's `kubectl create secret` command)."""
    ports = {name: int(value) for name, value in config.items() if name.endswith("_PORT")}
    readme = (project / "deploy" / "k8s" / "README.md").read_text()
    for name, url in re.findall(r"--from-literal=(\w+)='(\w+://[^']*)'", readme):
        port = urlsplit(url).port
        assert port, f"{name} in the README names no port: {url}"
        ports[name] = port
    return ports


def test_egress_allows_every_port_the_pods_are_given_and_nothing_else(project: Path) -> None:
    """A port in the configuration without egress to it is a feature that silently fails in
    the cluster (mail dropped, Redis unreachable); a port open to no setting is a hole."""
    for overlay in OVERLAYS:
        objects = by_kind(build(project, overlay))
        ports = named_ports(project, objects["ConfigMap"]["data"])
        settings = settings_fields(project)
        expected = {"SQLALCHEMY_DATABASE_URI"} | (settings & {"REDIS_URL", "SMTP_PORT"})
        assert set(ports) == expected, "every backing service's port is named"
        dns = {53}
        assert egress_ports(objects["NetworkPolicy"]) == dns | set(ports.values()), overlay


def test_the_api_port_and_its_metrics_are_open_to_named_namespaces_only(project: Path) -> None:
    """/metrics shares port 8000 with the API, and a NetworkPolicy filters by port and peer,
    never by path: the port admits the namespaces the README names, never every pod."""
    readme = (project / "deploy" / "k8s" / "README.md").read_text()
    for overlay in OVERLAYS:
        objects = by_kind(build(project, overlay))
        rules = objects["NetworkPolicy"]["spec"]["ingress"]
        peers = []
        for rule in rules:
            assert rule.get("from"), "a rule without `from` admits every pod and address"
            assert [port["port"] for port in rule["ports"]] == [8000]
            peers += rule["from"]
        assert all(set(peer) == {"namespaceSelector"} for peer in peers), peers
        selectors = [peer["namespaceSelector"]["matchLabels"] for peer in peers]
        # Set by the API server: no other namespace can take the name by labelling itself.
        assert {"kubernetes.io/metadata.name": "monitoring"} in selectors
        for labels in selectors:
            for key, value in labels.items():
                assert f"{key}={value}" in readme or f"`{value}`" in readme, (key, value)
        annotations = objects["Service"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == "8000"


def test_the_migration_job_may_log_in_as_a_role_of_its_own(project: Path) -> None:
    """The schema's owner migrates; the API's login needs only DML. The Job reads its database
    URL from a Secret of its own when there is one (an optional key that is missing sets
    nothing, so the shared URL from envFrom stays), and the API's pods never see that Secret."""
    objects = by_kind(build(project, "prod"))
    migrate = objects["Job"]["spec"]["template"]["spec"]["containers"][0]
    env = {var["name"]: var for var in migrate.get("env", [])}
    assert env["SQLALCHEMY_DATABASE_URI"]["valueFrom"]["secretKeyRef"] == {
        "name": "my-service-migration",
        "key": "SQLALCHEMY_DATABASE_URI",
        "optional": True,
    }
    assert {"secretRef": {"name": "my-service-secrets"}} in migrate["envFrom"], "the fallback"
    for container in pod_containers(objects["Deployment"]):
        assert "my-service-migration" not in json.dumps(container)
    readme = (project / "deploy" / "k8s" / "README.md").read_text()
    assert "kubectl -n my-service create secret generic my-service-migration" in readme
    assert "GRANT SELECT, INSERT, UPDATE, DELETE" in readme


def test_a_daily_cronjob_prunes_tokens_as_the_migration_job_runs(project: Path) -> None:
    for overlay in OVERLAYS:
        objects = by_kind(build(project, overlay))
        cron = objects["CronJob"]["spec"]
        pod = cron["jobTemplate"]["spec"]["template"]
        prune = pod["spec"]["containers"][0]
        job = objects["Job"]["spec"]["template"]["spec"]
        migrate = job["containers"][0]
        assert prune["command"] == ["python", "-m", "app.cli", "prune-tokens"]
        assert prune["image"] == migrate["image"], "the release's image"
        assert prune["securityContext"] == migrate["securityContext"]
        assert pod["spec"]["securityContext"] == job["securityContext"]
        assert pod["spec"]["automountServiceAccountToken"] is False
        assert prune["envFrom"] == migrate["envFrom"]
        assert "env" not in prune, "the application's login, not the migration role's"
        assert prune["resources"]["requests"]
        # The NetworkPolicy selects its pods: egress to the database, nothing more.
        selector = objects["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"]
        assert selector.items() <= pod["metadata"]["labels"].items()
        minute, hour, *every_day = cron["schedule"].split()
        assert every_day == ["*", "*", "*"] and minute.isdigit() and hour.isdigit()
        assert cron["concurrencyPolicy"] == "Forbid"
        assert pod["spec"]["restartPolicy"] == "Never"


# --- the job worker (task_queue=redis) --------------------------------------------------------

WORKER_COMMAND = ["python", "-m", "app.worker"]
ALIVE = [*WORKER_COMMAND, "--alive"]


@pytest.fixture(
    scope="module",
    params=[("postgresql", "memory", True), ("mysql", "redis", False)],
    ids=["postgresql-memory-email", "mysql-redis"],
)
def worker_project(request: pytest.FixtureRequest, render: Renders) -> Path:
    """Rate-limit counters in memory: Redis is there for the queue alone."""
    database, storage, email = request.param
    return render(
        kubernetes=True,
        task_queue="redis",
        database=database,
        rate_limiting=True,
        rate_limit_storage=storage,
        email=email,
    )


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A label selector (matchLabels and matchExpressions, all four operators) against labels."""
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def pod_labels(obj: dict[str, Any]) -> dict[str, str]:
    template = obj["spec"].get("jobTemplate", {}).get("spec", obj["spec"])["template"]
    return dict(template["metadata"]["labels"])


def test_every_setting_of_the_worker_comes_from_the_configmap_or_the_secret(
    worker_project: Path,
) -> None:
    """The worker's own settings (WORKER_*) too, and REDIS_URL from the Secret."""
    settings_come_from_the_configmap_or_the_secret(worker_project)


def test_the_worker_builds_and_validates_strictly(worker_project: Path) -> None:
    for overlay in OVERLAYS:
        objects = build(worker_project, overlay)
        worker = by_kind(objects, worker=True)
        assert set(worker) >= {"Deployment", "NetworkPolicy"}, overlay
        for obj in objects:
            document = json.dumps(obj, sort_keys=True)
            for version in KUBERNETES_VERSIONS:
                if error := schema_errors(document, version):
                    pytest.fail(f"{overlay}, Kubernetes {version}: {error}")


def test_the_worker_runs_the_apis_image_and_settings_with_a_heartbeat_probe(
    worker_project: Path,
) -> None:
    objects = build(worker_project, "prod")
    api_deployment = by_kind(objects)["Deployment"]
    deployment = by_kind(objects, worker=True)["Deployment"]
    pod, api_pod = (
        deployment["spec"]["template"]["spec"],
        api_deployment["spec"]["template"]["spec"],
    )
    worker = next(c for c in pod["containers"] if c["name"] == "worker")
    api = next(c for c in api_pod["containers"] if c["name"] == "api")
    assert worker["command"] == WORKER_COMMAND
    assert "args" not in worker
    assert worker["image"] == api["image"], "the release's image"
    assert worker["envFrom"] == api["envFrom"], "the API's ConfigMap and Secret"
    assert "ports" not in worker, "the worker serves nothing"
    assert worker["livenessProbe"]["exec"]["command"] == ALIVE
    assert worker["startupProbe"]["exec"]["command"] == ALIVE
    # A check imports the app in a new interpreter: seconds of CPU on a busy node.
    for probe in ("startupProbe", "livenessProbe"):
        assert worker[probe]["timeoutSeconds"] >= 10, probe
    # No Service routes to it: readiness would only start one more interpreter per period.
    assert "readinessProbe" not in worker
    assert worker["securityContext"] == api["securityContext"]
    assert pod["securityContext"] == api_pod["securityContext"]
    assert pod["automountServiceAccountToken"] is False
    assert worker["resources"]["requests"] and worker["resources"]["limits"]["memory"]
    # The heartbeat file (WORKER_HEARTBEAT_FILE, /tmp/worker-heartbeat by default) and the
    # metrics directory the entry point creates live on a writable emptyDir.
    config = by_kind(objects)["ConfigMap"]["data"]
    heartbeat = config["WORKER_HEARTBEAT_FILE"]
    mounts = {m["mountPath"]: m["name"] for m in worker["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    for path in (heartbeat, config["PROMETHEUS_MULTIPROC_DIR"]):
        mount = next(m for m in mounts if path.startswith(m.rstrip("/") + "/"))
        assert "emptyDir" in volumes[mounts[mount]], path
    # SIGTERM: Kubernetes kills only after the grace the worker gives its jobs in flight.
    assert pod["terminationGracePeriodSeconds"] > int(config["WORKER_GRACE_SECONDS"])
    # Like the API's pods, it starts only once the schema is at its release's head.
    assert pod["initContainers"] == api_pod["initContainers"]


def test_the_worker_has_its_own_disruption_budget_and_replica_count(worker_project: Path) -> None:
    prod = build(worker_project, "prod")
    deployment = by_kind(prod, worker=True)["Deployment"]
    budget = by_kind(prod, worker=True)["PodDisruptionBudget"]
    api_budget = by_kind(prod)["PodDisruptionBudget"]
    workers = pod_labels(deployment)
    assert selects(budget["spec"]["selector"], workers)
    assert selects(deployment["spec"]["selector"], workers)
    assert not selects(api_budget["spec"]["selector"], workers), "the API's budget"
    for obj in prod:
        if obj["kind"] in ("Deployment", "Job") and obj is not deployment:
            assert not selects(budget["spec"]["selector"], pod_labels(obj)), obj["metadata"]
    assert budget["spec"]["maxUnavailable"] == 1
    assert deployment["spec"]["replicas"] >= 2, "a node drain leaves a worker running"
    assert "HorizontalPodAutoscaler" not in by_kind(prod, worker=True)
    dev = build(worker_project, "dev")
    assert by_kind(dev, worker=True)["Deployment"]["spec"]["replicas"] == 1
    assert "PodDisruptionBudget" not in by_kind(dev, worker=True), "nothing blocks a drain"
    dev_requests = by_kind(dev, worker=True)["Deployment"]["spec"]["template"]["spec"]
    assert (
        dev_requests["containers"][0]["resources"]
        != (deployment["spec"]["template"]["spec"]["containers"][0]["resources"])
    )


def test_the_worker_admits_nothing_and_reaches_what_the_api_reaches(worker_project: Path) -> None:
    for overlay in OVERLAYS:
        objects = build(worker_project, overlay)
        worker_deployment = by_kind(objects, worker=True)["Deployment"]
        policy = by_kind(objects, worker=True)["NetworkPolicy"]
        api_policy = by_kind(objects)["NetworkPolicy"]
        workers = pod_labels(worker_deployment)
        assert selects(policy["spec"]["podSelector"], workers)
        # Listing Ingress with no rule denies every connection; policies add up, so the API's
        # (port 8000 open to two namespaces) must not select the worker's pods.
        assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
        assert "ingress" not in policy["spec"]
        assert not selects(api_policy["spec"]["podSelector"], workers), overlay
        for obj in objects:
            if obj["kind"] in ("Deployment", "Job") and obj is not worker_deployment:
                assert selects(api_policy["spec"]["podSelector"], pod_labels(obj)), obj["metadata"]
                assert not selects(policy["spec"]["podSelector"], pod_labels(obj))
        assert policy["spec"]["egress"] == api_policy["spec"]["egress"]
        # DNS, the database, Redis (even with the rate-limit counters in memory), SMTP.
        ports = named_ports(worker_project, by_kind(objects)["ConfigMap"]["data"])
        assert ports["REDIS_URL"] == 6379
        assert egress_ports(policy) == {53} | set(ports.values())


def test_the_workers_scheduler_replaces_the_prune_cronjob(
    worker_project: Path, render: Renders
) -> None:
    """One pruning mechanism per mode: the CronJob without a worker, its cron with one."""
    base = worker_project / "deploy" / "k8s" / "base"
    assert (base / "worker.yaml").is_file()
    assert not (base / "prune-tokens-cronjob.yaml").exists()
    for overlay in OVERLAYS:
        assert "CronJob" not in {obj["kind"] for obj in build(worker_project, overlay)}
    readme = (worker_project / "deploy" / "k8s" / "README.md").read_text()
    assert "prune-tokens" in readme and "CronJob `" not in readme
    without = render(kubernetes=True, database="postgresql")
    assert not (without / "deploy" / "k8s" / "base" / "worker.yaml").exists()
    assert "CronJob" in {obj["kind"] for obj in build(without, "prod")}
    assert "worker" not in json.dumps(build(without, "prod"))
