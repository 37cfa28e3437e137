#!/usr/bin/env bash
# `make cluster` — the production topology on one machine, on loopback:
#
#   a 3-node nats-server cluster (routes between the nodes, JetStream on each, every stream on all
#   three nodes: JOXAI_NATS_REPLICAS=3), with the TLS, the one-user-per-role permissions and the
#   fsync-before-ack of nats-security.sh, the routes themselves TLS-verified and password-protected;
#   and separate processes: 2 ingresses, 2 notifiers, 2 ticket workers, 2 escalation classifiers,
#   2 AI responders, all on one local Postgres database.
#
# Clients spread themselves over the two ingresses and the two notifiers (as a load balancer in
# front would); each process knows every NATS node and starts on a different one. It prints where
# everything is and runs until Ctrl-C, then stops every process it started and drops its database.
#
# Environment: JOXAI_CLUSTER_BIN (a prebuilt joxai; default: build release), JOXAI_CLUSTER_NATS_PORT
# (4401: client ports 4401-4403, monitoring 4411-4413, routes 4421-4423), JOXAI_CLUSTER_HTTP_PORT
# (5401: ingresses 5411-5412, notifiers 5421-5422, ticket workers 5441-5442, escalation 5451-5452,
# AI 5461-5462), JOXAI_CLUSTER_KEEP=1 (keep the database). State: $JOXAI_CACHE/cluster.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster-lib.sh"
cd "$JOXAI_ROOT"

if [ -z "${JOXAI_CLUSTER_BIN:-}" ]; then
  log "building the release binary"
  nice -n 10 cargo build --release -q -p joxai
  JOXAI_CLUSTER_BIN="$CARGO_TARGET_DIR/release/joxai"
fi
ensure_postgres
DB="joxai_t_cluster_$(python3 -c 'import uuid; print(uuid.uuid4().hex[:10])')"
cleanup() {
  trap - EXIT INT TERM
  log "stopping the cluster"
  cluster_stop_all
  if [ "${JOXAI_CLUSTER_KEEP:-0}" != 1 ]; then
    psql_admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  else
    log "kept: database $DB"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cluster_init "$JOXAI_CACHE/cluster"
for n in "${CLUSTER_NODES[@]}"; do cluster_start_nats "$n"; done
cluster_wait_nats_ready 30 || die "the NATS cluster did not become healthy; see $CLUSTER_DIR/logs/nats-*.log"
psql_admin -c "CREATE DATABASE $DB" >/dev/null
cluster_env "$DB"
cluster_migrate "$JOXAI_CLUSTER_BIN"
for name in "${CLUSTER_PROCESSES[@]}"; do cluster_start "$JOXAI_CLUSTER_BIN" "$name"; done
for name in "${CLUSTER_PROCESSES[@]}"; do
  cluster_wait_ready "$name" 60 || die "$name did not become ready; see $CLUSTER_DIR/logs/$name.log"
done

{
  echo
  echo "JoxAI cluster is up (database $DB, state and logs in $CLUSTER_DIR):"
  for n in "${CLUSTER_NODES[@]}"; do
    printf '  nats-%s        tls://127.0.0.1:%s   monitoring http://127.0.0.1:%s   routes :%s   pid %s\n' \
      "$n" "$(nats_client_port "$n")" "$(nats_monitor_port "$n")" "$(nats_route_port "$n")" "$(pid_of "nats-$n")"
  done
  for name in "${CLUSTER_PROCESSES[@]}"; do
    printf '  %-13s http://127.0.0.1:%s (/readyz)   metrics http://127.0.0.1:%s/metrics   pid %s\n' \
      "$name" "$(cluster_http_port "$name")" "$(cluster_metrics_port "$name")" "$(pid_of "$name")"
  done
  echo
  echo "  API:       http://127.0.0.1:$(cluster_http_port ingress-1)/api/v1  or  http://127.0.0.1:$(cluster_http_port ingress-2)/api/v1"
  echo "  WebSocket: ws://127.0.0.1:$(cluster_http_port notifier-1)/api/v1/ws  or  ws://127.0.0.1:$(cluster_http_port notifier-2)/api/v1/ws"
  echo "  Staff: admin@joxai.local / supervisor@joxai.local / agent@joxai.local, password: $JOXAI_DEMO_PASSWORD"
  echo "  Logs: $CLUSTER_DIR/logs/.  Ctrl-C stops everything."
  echo
} >&2
declare -A reported=()
while true; do
  for name in "${CLUSTER_PROCESSES[@]}" nats-1 nats-2 nats-3; do
    if ! alive "$name" && [ -z "${reported[$name]:-}" ]; then
      log "WARNING: $name has exited; see $CLUSTER_DIR/logs/$name.log"
      reported[$name]=1
    fi
  done
  sleep 5
done
