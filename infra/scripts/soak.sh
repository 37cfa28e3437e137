#!/usr/bin/env bash
# `make soak`: workers killed with SIGKILL at random points under load.
#
#   infra/scripts/soak.sh [SECONDS] [KILLS]      (defaults: 240 s, 300 kill attempts ≈ 250 kills: restarts take time)
#
# Runs the release binary's roles as separate processes — `joxai ingress`, `joxai notifier`, and two
# replicas each of `joxai worker ticket|escalation|ai` — on a private nats-server and a fresh database,
# while a driver (16 simulated customers, each with a WebSocket to the notifier) posts chat messages.
# A killer SIGKILLs a random worker every SECONDS/KILLS seconds on average (jittered, so kills land
# anywhere: mid-handler, between the database commit and the ack, during start-up) and starts it again.
# At the end, once the backlog has drained (nothing pending on the broker, Postgres' ledger still),
# it checks in Postgres and on the sockets that every accepted customer message is stored once and has
# exactly one bot reply or one escalation, that every message was pushed exactly once and the answers in
# question order, and prints the figures (infra/scripts/chat_check.py). Exit status 1 on any loss or
# duplicate. The customers are infra/scripts/chat_driver.py, shared with `make cluster-chaos`.
#
# Environment: JOXAI_SOAK_BIN (a prebuilt joxai binary; default: build release), JOXAI_SOAK_KEEP=1
# (keep the database and logs), JOXAI_SOAK_CUSTOMERS (default 16).
source "$(dirname "$0")/lib.sh"
cd "$JOXAI_ROOT"
DURATION="${1:-240}"
KILLS="${2:-300}"
CUSTOMERS="${JOXAI_SOAK_CUSTOMERS:-16}"

if [ -z "${JOXAI_SOAK_BIN:-}" ]; then
  log "building the release binary"
  nice -n 10 cargo build --release -q -p joxai
  JOXAI_SOAK_BIN="$CARGO_TARGET_DIR/release/joxai"
fi
ensure_postgres

RUN="$(mktemp -d "${TMPDIR:-/tmp}/joxai-soak.XXXXXX")"
PIDS=()
NATS_PID=""
DB="joxai_t_soak_$(python3 -c 'import uuid; print(uuid.uuid4().hex[:10])')"
cleanup() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  [ -n "$NATS_PID" ] && kill "$NATS_PID" 2>/dev/null || true
  if [ "${JOXAI_SOAK_KEEP:-0}" != 1 ]; then
    psql_admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$RUN"
  else
    log "kept: database $DB, logs in $RUN"
  fi
}
trap cleanup EXIT

NATS_PORT="$(free_port)"
NATS_MONITOR_PORT="$(free_port)"
# The configuration every dev server runs (TLS, one user per role, fsync before every
# acknowledgement); each role below connects with its own identity, as in a deployment.
bash "$JOXAI_ROOT/infra/scripts/nats-security.sh" "$RUN/nats-security"
NATS_SECURITY="$RUN/nats-security"
"$(nats_server_bin)" -c "$NATS_SECURITY/nats.conf" -a 127.0.0.1 -p "$NATS_PORT" -m "$NATS_MONITOR_PORT" -js -sd "$RUN/nats" -l "$RUN/nats.log" </dev/null >/dev/null 2>&1 &
NATS_PID=$!
wait_port 127.0.0.1 "$NATS_PORT" 10 || die "nats-server did not start"
psql_admin -c "CREATE DATABASE $DB" >/dev/null

export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export NATS_URL="nats://127.0.0.1:$NATS_PORT"
# Loopback callers are rate-limited by default; this harness drives the product from loopback.
export JOXAI_RATE_LIMIT_EXEMPT_LOOPBACK=true
export JOXAI_NATS_PREFIX="soak${DB: -8}"
export JOXAI_NATS_STREAM_MAX_BYTES=$((256 * 1024 * 1024))
export JOXAI_JWT_SECRET="$(random_secret)"
export JOXAI_WIDGET_SECRET="$(random_secret)"
export JOXAI_DB_POOL_SIZE=4
export JOXAI_DRAIN_SECONDS=2
export RUST_LOG="${RUST_LOG:-warn}"
# Short ack waits so a killed worker's messages come back in seconds, not the production 30–60 s;
# the same relation holds (ack_wait > handler timeout > AI deadline).
export JOXAI_WORKERS__TICKET__ACK_WAIT_MS=5000 JOXAI_WORKERS__TICKET__HANDLER_TIMEOUT_MS=4000
export JOXAI_WORKERS__ESCALATION__ACK_WAIT_MS=5000 JOXAI_WORKERS__ESCALATION__HANDLER_TIMEOUT_MS=4000
export JOXAI_WORKERS__AI__ACK_WAIT_MS=8000 JOXAI_WORKERS__AI__HANDLER_TIMEOUT_MS=6000 JOXAI_AI_TIMEOUT_MS=4000
for kind in TICKET ESCALATION AI; do
  export "JOXAI_WORKERS__${kind}__RETRY_MIN_MS=100" "JOXAI_WORKERS__${kind}__RETRY_MAX_MS=2000"
done
export JOXAI_DEMO_PASSWORD="soak-password-123"
# Migrate, then seed the demo staff and knowledge base the offline responder answers from.
nats_client_env operator
{ "$JOXAI_SOAK_BIN" migrate && "$JOXAI_SOAK_BIN" seed-demo; } >"$RUN/migrate.log" 2>&1 || { cat "$RUN/migrate.log"; die "migration failed"; }

start_role() { # name role args...
  local name="$1" role="$2"; shift 2
  local port; port="$(free_port)"
  nats_client_env "$role"
  # Metrics on a port of its own choosing: nothing scrapes them here, and many processes run at once.
  JOXAI_HTTP_ADDR="127.0.0.1:$port" JOXAI_METRICS_ADDR=127.0.0.1:0 setsid "$JOXAI_SOAK_BIN" "$@" </dev/null >>"$RUN/$name.log" 2>&1 &
  echo "$! $port"
}
read -r INGRESS_PID INGRESS_PORT < <(start_role ingress ingress ingress); PIDS+=("$INGRESS_PID")
read -r NOTIFIER_PID NOTIFIER_PORT < <(start_role notifier notifier notifier); PIDS+=("$NOTIFIER_PID")
SLOTS=(ticket ticket escalation escalation ai ai)
declare -a WORKER_PIDS
for i in "${!SLOTS[@]}"; do
  read -r pid _ < <(start_role "worker-$i-${SLOTS[$i]}" "${SLOTS[$i]}" worker "${SLOTS[$i]}")
  WORKER_PIDS[$i]="$pid"
done
wait_port 127.0.0.1 "$INGRESS_PORT" 30 || die "the ingress did not start (see $RUN/ingress.log)"
wait_port 127.0.0.1 "$NOTIFIER_PORT" 30 || die "the notifier did not start"
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$INGRESS_PORT/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
log "soak: ${DURATION}s, ~${KILLS} worker kills, $CUSTOMERS customers; ingress :$INGRESS_PORT, notifier :$NOTIFIER_PORT, nats :$NATS_PORT, db $DB"

python3 "$JOXAI_ROOT/infra/scripts/chat_driver.py" --ingress "$INGRESS_PORT" --notifier "$NOTIFIER_PORT" \
  --seconds "$DURATION" --customers "$CUSTOMERS" --out "$RUN/driver.json" &
DRIVER_PID=$!
PIDS+=("$DRIVER_PID")

# The killer.
kills=0
started=$SECONDS
interval_ms=$(( DURATION * 1000 / KILLS ))
while (( SECONDS - started < DURATION )); do
  sleep "$(awk -v r="$RANDOM" -v m="$interval_ms" 'BEGIN { printf "%.3f", (m * 2 * r / 32768) / 1000 }')"
  i=$(( RANDOM % ${#SLOTS[@]} ))
  kill -9 "${WORKER_PIDS[$i]}" 2>/dev/null && kills=$((kills + 1))
  wait "${WORKER_PIDS[$i]}" 2>/dev/null || true
  read -r pid _ < <(start_role "worker-$i-${SLOTS[$i]}" "${SLOTS[$i]}" worker "${SLOTS[$i]}")
  WORKER_PIDS[$i]="$pid"
done
PIDS+=("${WORKER_PIDS[@]}")
log "load stopped after $kills kills; waiting for the backlog to drain"

if ! drained="$(wait_for_drain "$DB" 240 "$NATS_MONITOR_PORT")"; then
  log "the backlog did not drain within ${drained}s (broker backlog: $(consumer_backlog "$NATS_MONITOR_PORT"))"
fi
touch "$RUN/driver.json.stop"
wait "$DRIVER_PID" || die "the driver failed"

python3 "$JOXAI_ROOT/infra/scripts/chat_check.py" --db "$DB" --driver "$RUN/driver.json" \
  --title "soak figures (${DURATION} s)" --figure "worker kills (SIGKILL)=$kills" --figure "drained after load (s)=$drained"
