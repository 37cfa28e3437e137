#!/usr/bin/env bash
# Start a throw-away all-in-one JoxAI for browser tests: our test NATS, a fresh database, a unique
# subject prefix, known demo password. Prints "PID URL" on the last line; stop it with `kill PID`.
#
#   read -r PID URL < <(infra/scripts/serve-for-tests.sh 5055 | tail -n1)
source "$(dirname "$0")/lib.sh"
cd "$JOXAI_ROOT"
PORT="${1:-5055}"
TEST_NATS_PORT="${JOXAI_TEST_NATS_PORT:-4224}"
ensure_nats "$TEST_NATS_PORT" "$JOXAI_CACHE/nats-test" "${JOXAI_TEST_NATS_MONITOR_PORT:-8224}"
nats_client_env operator
ensure_postgres
NAME="joxai_t_e2e_$(python3 -c 'import uuid; print(uuid.uuid4().hex[:12])')"
psql_admin -c "CREATE DATABASE $NAME" >/dev/null
cargo build -q -p joxai >&2
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$NAME"
export NATS_URL="nats://127.0.0.1:$TEST_NATS_PORT"
# Loopback callers are rate-limited by default; this harness drives the product from loopback.
export JOXAI_RATE_LIMIT_EXEMPT_LOOPBACK=true
export JOXAI_NATS_PREFIX="e2e${NAME: -8}"
export JOXAI_NATS_STREAM_MAX_BYTES=$((16 * 1024 * 1024))
export JOXAI_HTTP_ADDR="127.0.0.1:$PORT"
# Nothing scrapes metrics here, and other servers may run at once: any free port.
export JOXAI_METRICS_ADDR=127.0.0.1:0
export JOXAI_DEMO_PASSWORD="${JOXAI_DEMO_PASSWORD:-e2e-password-123}"
export JOXAI_DEMO_MODE=true
export JOXAI_FRONTENDS_DIR="$JOXAI_ROOT/frontends"
export RUST_LOG="${RUST_LOG:-warn}"
LOG="$JOXAI_CACHE/e2e-$PORT.log"
setsid "$CARGO_TARGET_DIR/debug/joxai" all --seed-demo </dev/null >"$LOG" 2>&1 &
PID=$!
for _ in $(seq 300); do
  if curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; then
    echo "$PID http://127.0.0.1:$PORT"; exit 0
  fi
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.1
done
cat "$LOG" >&2
die "JoxAI did not become ready on port $PORT"
