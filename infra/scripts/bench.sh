#!/usr/bin/env bash
# `make bench`: the standard performance scenario, in under 3 minutes once the release build is done.
#
# Builds the release binaries, starts a throw-away all-in-one JoxAI (release build, RUST_LOG=warn,
# fresh database, unique subject prefix) on our test NATS and the local Postgres, then runs:
#   1. cold start of `joxai all` to /readyz (fresh database, then a restart on the migrated one);
#   2. a step ramp: the knee (p99 <= 25 ms and achieved >= 90 % of offered), then on while the server
#      keeps up (achieved >= 90 %), for the highest sustained rate;
#   3. 300 chat turns/s for 15 s (with CPU per turn per process, and a perf profile if asked);
#   4. the ceiling: the same writes and publishes straight to Postgres and NATS;
#   5. 10,000 idle WebSockets on a notifier process of its own (its memory) and event delivery latency
#      under 1k/5k/20k pushes/s;
# and prints a summary with the machine described. Phases 2–4 run twice, once against the test NATS
# (every acknowledged publish fsynced: `sync_interval: always`, as the product is deployed) and once
# against a second nats-server with the same TLS and users but NATS's default lazy fsync, so the cost
# of durability is always printed beside the durable figures. Everything talks to 127.0.0.1 only; the
# database, streams and processes are removed at the end, whatever happens.
#
# Knobs (environment): BENCH_PORT (5077), BENCH_RAMP ("50,100,200,300,400,500,600,800,1000,1200,1600,2000,2400,3200"),
# BENCH_SOCKETS (10000), BENCH_OUT (a directory for the JSON summaries; default a temp dir),
# BENCH_PHASES ("ramp rate ceiling ws": which phases to run), BENCH_RATE (300) and BENCH_RATE_SECS (15)
# for the fixed-rate phase, BENCH_PERF (1: sample every process's stacks with `perf` during the
# fixed-rate phase and print where the CPU went, by process and by function), BENCH_WS_PROCESS (notifier:
# the sockets go to a `joxai notifier` of its own; all: to the all-in-one), BENCH_LAZY (1: also measure
# with lazy fsync; 0: durable only), BENCH_LAZY_NATS_PORT (4225: the lazy-fsync server's port).
source "$(dirname "$0")/lib.sh"
cd "$JOXAI_ROOT"

PORT="${BENCH_PORT:-5077}"
URL="http://127.0.0.1:$PORT"
RAMP="${BENCH_RAMP:-50,100,200,300,400,500,600,800,1000,1200,1600,2000,2400,3200}"
SOCKETS="${BENCH_SOCKETS:-10000}"
OUT="${BENCH_OUT:-$(mktemp -d -t joxai-bench.XXXXXX)}"
mkdir -p "$OUT"
TEST_NATS_PORT="${JOXAI_TEST_NATS_PORT:-4224}"
NATS="nats://127.0.0.1:$TEST_NATS_PORT"
BIN="$CARGO_TARGET_DIR/release/joxai"
LOADGEN="$CARGO_TARGET_DIR/release/joxai-loadgen"
BENCH_STARTED=$SECONDS
PHASES=" ${BENCH_PHASES:-ramp rate ceiling ws} "
RATE="${BENCH_RATE:-300}"
RATE_SECS="${BENCH_RATE_SECS:-15}"
phase() { [[ "$PHASES" == *" $1 "* ]]; }

log "building release binaries (target: $CARGO_TARGET_DIR)"
# Two builds, not one with both packages: together cargo would unify their features and rebuild
# half the workspace with a different hash from `cargo build -p joxai`.
nice -n 10 cargo build --release -q -p joxai
nice -n 10 cargo build --release -q -p joxai-loadgen
BUILD_SECS=$((SECONDS - BENCH_STARTED))

# 10k sockets need 10k descriptors on each side; ask for as many as the hard limit allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" -ge $((SOCKETS + 1000)) ] || { SOCKETS=$(( $(ulimit -n) - 1000 )); log "descriptor limit $(ulimit -n): testing $SOCKETS sockets"; }

ensure_nats "$TEST_NATS_PORT" "$JOXAI_CACHE/nats-test" "${JOXAI_TEST_NATS_MONITOR_PORT:-8224}"
# The all-in-one and the load generator connect as the operator (the generator reads the same
# JOXAI_NATS_* settings); the separate notifier as the notifier.
nats_client_env operator
ensure_postgres
# The product's default intent model blends the sentence encoder; measure that (JOXAI_ENCODER=off measures the
# TF-IDF model alone).
if [ "${JOXAI_ENCODER:-on}" != off ]; then
  "$JOXAI_ROOT/infra/scripts/fetch-encoder.sh" >/dev/null || log "the sentence encoder could not be fetched: measuring the TF-IDF model alone"
fi
# Databases left by earlier test runs keep autovacuum busy (a worker visits each one in turn),
# which would count as Postgres CPU here: drop them first, as `make test` does.
drop_test_databases
NAME="joxai_bench_$(python3 -c 'import uuid; print(uuid.uuid4().hex[:12])')"
psql_admin -c "CREATE DATABASE $NAME" >/dev/null
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$NAME"
export NATS_URL="$NATS"
# Loopback callers are rate-limited by default; this harness drives the product from loopback.
export JOXAI_RATE_LIMIT_EXEMPT_LOOPBACK=true
export JOXAI_NATS_PREFIX="bench${NAME: -8}"
export JOXAI_NATS_STREAM_MAX_BYTES=$((256 * 1024 * 1024))
export JOXAI_HTTP_ADDR="127.0.0.1:$PORT"
export JOXAI_DEMO_PASSWORD="bench-password-123"
export JOXAI_DEMO_MODE=true
# One signing key for every process of this bench (the all-in-one issues the tokens a separate notifier checks).
JOXAI_JWT_SECRET="bench-$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
export JOXAI_JWT_SECRET
export JOXAI_FRONTENDS_DIR="$JOXAI_ROOT/frontends"
export RUST_LOG=warn
LOG="$OUT/joxai.log"
PID=""

NOTIFIER_PID=""
LAZY_NATS_PORT="${BENCH_LAZY_NATS_PORT:-4225}"
LAZY_STORE="$JOXAI_CACHE/nats-bench-lazy"
# A second nats-server like the test one (same TLS, users and permissions) but with NATS's default
# fsync (every 2 minutes): what the figures would be without the durability guarantee.
start_lazy_nats() {
  local bin
  bin="$(nats_server_bin)"
  stop_lazy_nats
  rm -rf "$LAZY_STORE" && mkdir -p "$LAZY_STORE"
  grep -v 'sync_interval' "$NATS_SECURITY/nats.conf" >"$LAZY_STORE/nats.conf"
  setsid "$bin" -c "$LAZY_STORE/nats.conf" -a 127.0.0.1 -p "$LAZY_NATS_PORT" -js -sd "$LAZY_STORE" \
    -l "$LAZY_STORE/nats.log" -P "$LAZY_STORE/nats.pid" </dev/null >/dev/null 2>&1 &
  wait_port 127.0.0.1 "$LAZY_NATS_PORT" 10 || die "the lazy-fsync nats-server did not start; see $LAZY_STORE/nats.log"
}
stop_lazy_nats() {
  local pid
  pid="$(cat "$LAZY_STORE/nats.pid" 2>/dev/null || true)"
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && { for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done; }
  rm -f "$LAZY_STORE/nats.pid"
}
cleanup() {
  [ -n "$NOTIFIER_PID" ] && kill "$NOTIFIER_PID" 2>/dev/null
  stop_lazy_nats
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && { for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done; }
  psql_admin -c "DROP DATABASE IF EXISTS $NAME WITH (FORCE)" >/dev/null 2>&1 || true
  # The product's streams for this prefix on the durable server (the ceiling removes its own; the
  # lazy server's store is deleted whole).
  python3 - "$TEST_NATS_PORT" "${JOXAI_NATS_PREFIX^^}" <<'EOF' >/dev/null 2>&1 || true
import json, os, socket, ssl, sys, time
port, prefix = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.recv(4096)  # INFO, in clear; then TLS and the operator's credentials, as every client
ca = os.environ.get("JOXAI_NATS_TLS_CA")
if ca:
    s = ssl.create_default_context(cafile=ca).wrap_socket(s, server_hostname="127.0.0.1")
connect = {"verbose": False, "user": os.environ.get("JOXAI_NATS_USER"), "pass": os.environ.get("JOXAI_NATS_PASSWORD")}
# JetStream API requests need a reply subject to be served.
s.sendall(f"CONNECT {json.dumps(connect)}\r\nSUB _INBOX_operator.bench 1\r\n".encode())
for kind in ("COMMANDS", "EVENTS", "DLQ"):
    s.sendall(f"PUB $JS.API.STREAM.DELETE.{prefix}_{kind} _INBOX_operator.bench 0\r\n\r\n".encode())
s.sendall(b"PING\r\n")
time.sleep(0.5)
s.close()
EOF
  rm -rf "$LAZY_STORE"
}
trap cleanup EXIT

# Start the release binary; sets PID and READY_MS (milliseconds from exec to /readyz answering 200).
start_server() { # extra args...
  local t0
  t0=$(date +%s%N)
  setsid "$BIN" all "$@" </dev/null >>"$LOG" 2>&1 &
  PID=$!
  for _ in $(seq 3000); do
    if curl -fsS -o /dev/null "$URL/readyz" 2>/dev/null; then
      READY_MS=$(( ($(date +%s%N) - t0) / 1000000 )); return 0
    fi
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.01
  done
  cat "$LOG" >&2
  die "JoxAI did not become ready on port $PORT"
}

log "cold start: fresh database (migrations + demo seed + intent model)"
start_server --seed-demo
COLD_FRESH_MS=$READY_MS
kill "$PID"; for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.05; done
log "cold start: restart on the migrated database"
start_server
COLD_RESTART_MS=$READY_MS
log "JoxAI ready (pid $PID): ${COLD_FRESH_MS} ms fresh, ${COLD_RESTART_MS} ms restart"

# Wait (at most 60 s) until the workers' consumers have nothing pending, so one phase's backlog does
# not count against the next.
settle() {
  local pending
  for _ in $(seq 120); do
    pending=$(curl -fsS "$URL/metrics" 2>/dev/null | awk '/^joxai_consumer_(ack_)?pending_messages/ { s += $2 } END { print s + 0 }')
    [ "${pending:-1}" = "0" ] && return 0
    sleep 0.5
  done
  log "still ${pending:-?} messages pending after 60 s; carrying on"
}

run() { # name timeout-seconds args...
  local name="$1" limit="$2"; shift 2
  settle
  log "$name"
  timeout --kill-after=5 "$limit" "$LOADGEN" --url "$URL" --json "$OUT/$name.json" "$@" | tee "$OUT/$name.txt" \
    || log "$name did not finish (exit $?); its figures are missing from the summary"
}

# CPU time (user + system, in clock ticks) of a set of processes, from /proc/PID/stat.
cpu_ticks() { # pids...
  local total=0 pid fields
  for pid in "$@"; do
    fields=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
    set -- $fields
    total=$(( total + ${12} + ${13} ))
  done
  echo "$total"
}

# The ramp, the fixed rate (with CPU per turn per process) and the ceiling against the NATS at
# $NATS_URL, whose pid file is $1; the JSON files are named with suffix $2 ("" durable, "-lazy").
measure() { # nats-pid-file suffix
  local nats_pid_file="$1" sfx="$2"
  if phase ramp; then
    run "ramp$sfx" 120 ramp --rates "$RAMP" --step-secs 4 --warmup 1.5 --customers 1000 --drain-secs 3 --profile
  fi
  # Where the CPU goes during the fixed-rate phase: per process, per turn (and by function with perf).
  if phase rate; then
    local nats_pid pg_pids before after perf_pid=""
    nats_pid="$(cat "$nats_pid_file" 2>/dev/null || true)"
    pg_pids="$(pgrep -u postgres -d ' ' postgres || true)"
    before="$(cpu_ticks "$PID") $(cpu_ticks ${nats_pid:-}) $(cpu_ticks $pg_pids)"
    if [ "${BENCH_PERF:-0}" = 1 ] && [ -z "$sfx" ] && command -v perf >/dev/null; then
      settle
      # Skip the warm-up, sample the measured seconds (every CPU, 999 Hz, with call stacks).
      ( sleep 3; exec perf record -q -e cpu-clock -F 999 -a -g -o "$OUT/perf.data" -- sleep "$RATE_SECS" ) >/dev/null 2>&1 &
      perf_pid=$!
    fi
    run "rate$sfx" 60 rate --rate "$RATE" --duration "$RATE_SECS" --warmup 3 --customers 500 --profile
    pg_pids="$(pgrep -u postgres -d ' ' postgres || true)"
    after="$(cpu_ticks "$PID") $(cpu_ticks ${nats_pid:-}) $(cpu_ticks $pg_pids)"
    echo "$before $after $(getconf CLK_TCK) $RATE $RATE_SECS" >"$OUT/cpu$sfx.txt"
    if [ -n "$perf_pid" ]; then
      wait "$perf_pid" || true
      {
        # (`|| true`: an empty report must not end the bench.)
        echo "== CPU by process during $RATE turns/s (perf, every CPU; tokio-rt-worker = joxai and the load generator)"
        perf report -i "$OUT/perf.data" --sort comm --no-children -g none --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -12 || true
        for who in "postgres:--comms postgres" "nats-server:--comms nats-server" "joxai:--pid $PID"; do
          echo "== ${who%%:*}: hottest functions"
          # shellcheck disable=SC2086 # the filter is two words on purpose
          perf report -i "$OUT/perf.data" ${who#*:} --sort dso,sym --no-children -g none --stdio 2>/dev/null \
            | grep -v '^#' | grep -v '^$' | head -25 || true
        done
      } >"$OUT/perf.txt"
      cat "$OUT/perf.txt"
    fi
  fi
  if phase ceiling; then
    run "ceiling$sfx" 60 ceiling --nats-url "$NATS_URL" --concurrency 16,64 --duration 4
  fi
}

log "durable streams (sync_interval: always, as deployed)"
measure "$JOXAI_CACHE/nats-test/nats.pid" ""
# The sockets go to a notifier process of its own (`joxai notifier`, as a bank would deploy it: the
# issue's "one notifier process"), beside the all-in-one, which still opens the sessions and, like
# every notifier, also reads the pushed events. BENCH_WS_PROCESS=all measures the all-in-one's sockets.
if phase ws; then
  WS_PID="$PID" WS_URL="$URL"
  if [ "${BENCH_WS_PROCESS:-notifier}" = notifier ]; then
    WS_PORT=$((PORT + 1))
    WS_URL="http://127.0.0.1:$WS_PORT"
    NOTIFIER_ENV=()
    if [ -n "$NATS_SECURITY" ]; then
      NOTIFIER_ENV=(JOXAI_NATS_USER=notifier "JOXAI_NATS_PASSWORD=$(tr -d '\n' <"$NATS_SECURITY/credentials/notifier")")
    fi
    env "${NOTIFIER_ENV[@]}" JOXAI_HTTP_ADDR="127.0.0.1:$WS_PORT" setsid "$BIN" notifier </dev/null >>"$OUT/notifier.log" 2>&1 &
    NOTIFIER_PID=$!
    for _ in $(seq 1000); do curl -fsS -o /dev/null "$WS_URL/readyz" 2>/dev/null && break; sleep 0.01; done
    WS_PID="$NOTIFIER_PID"
  fi
  run ws 240 ws --sockets "$SOCKETS" --subscribers 200 --push-rates 1000,5000,20000 --push-secs 4 --pid "$WS_PID" \
    --ws-url "$WS_URL" --nats-url "$NATS" --nats-prefix "$JOXAI_NATS_PREFIX"
fi

# The same phases with NATS's default lazy fsync, for comparison: a fresh all-in-one on a second
# nats-server (same TLS, users and permissions) and the same database.
if [ "${BENCH_LAZY:-1}" != 0 ] && { phase ramp || phase rate || phase ceiling; }; then
  log "lazy fsync (NATS's default: acknowledged before the disk has it), for comparison"
  if [ -n "$NOTIFIER_PID" ]; then kill "$NOTIFIER_PID" 2>/dev/null || true; NOTIFIER_PID=""; fi
  kill "$PID" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.05; done
  start_lazy_nats
  export NATS_URL="nats://127.0.0.1:$LAZY_NATS_PORT"
  start_server
  measure "$LAZY_STORE/nats.pid" "-lazy"
fi

python3 - "$OUT" "$COLD_FRESH_MS" "$COLD_RESTART_MS" "$BUILD_SECS" "$((SECONDS - BENCH_STARTED))" <<'EOF'
import json, os, sys
out, fresh, restart, build, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
def load(name):
    try:
        return json.load(open(os.path.join(out, name + ".json")))
    except Exception:
        return {}
ws = load("ws")
m = next((load(n).get("machine") for n in ("ramp", "rate", "ramp-lazy", "ws") if load(n).get("machine")), {})
print()
print("=" * 78)
print(f"JoxAI bench — {m.get('cpus')} CPUs ({m.get('cpu_model')}), {m.get('memory_gib')} GiB RAM, "
      f"load average at start {m.get('load_average')}")
print("Everything (NATS, Postgres, JoxAI all-in-one, the load generator) shares this machine.")
print(f"cold start to /readyz: {fresh} ms on a fresh database (migrate + seed), {restart} ms on restart")
for title, sfx in (("DURABLE streams (sync_interval: always, as deployed)", ""),
                   ("LAZY fsync (NATS's default), for comparison", "-lazy")):
    ramp, rate, ceil = load("ramp" + sfx), load("rate" + sfx), load("ceiling" + sfx)
    if not (ramp or rate or ceil):
        continue
    print(f"-- {title}")
    knee = ramp.get("knee")
    if knee:
        l = knee["latency"]
        print(f"knee: {knee['offered_per_s']:.0f} turns/s offered, {knee['achieved_per_s']:.0f} achieved, "
              f"p50 {l['p50_ms']:.1f} / p90 {l['p90_ms']:.1f} / p99 {l['p99_ms']:.1f} / p99.9 {l['p999_ms']:.1f} / max {l['max_ms']:.1f} ms")
    elif ramp:
        print("knee: no ramp step met p99 <= 25 ms")
    try:
        b_j, b_n, b_p, a_j, a_n, a_p, tck, per_s, secs = (int(x) for x in open(os.path.join(out, f"cpu{sfx}.txt")).read().split())
        turns = per_s * (secs + 3)
        ms = lambda before, after: (after - before) * 1000 / tck / turns
        print(f"CPU per turn at {per_s} turns/s (warm-up included, all processes' user + system): joxai {ms(b_j, a_j):.2f} ms, "
              f"Postgres {ms(b_p, a_p):.2f} ms, nats-server {ms(b_n, a_n):.2f} ms")
    except Exception:
        pass
    r = rate.get("result")
    if r:
        l = r["latency"]
        print(f"{r.get('offered_per_s', 0):.0f} turns/s for {r.get('measured_secs', 0):.0f} s: achieved {r['achieved_per_s']:.0f}/s, p50 {l['p50_ms']:.1f} / p99 {l['p99_ms']:.1f} / "
              f"max {l['max_ms']:.1f} ms, errors {sum(r['errors'][k] for k in ('http_errors','http_timeouts','shed_by_generator','missing_replies'))}")
    top = ramp.get("highest_sustained")
    if top:
        l = top["latency"]
        print(f"highest sustained (achieved >= 90 % of offered): {top['offered_per_s']:.0f} offered, "
              f"{top['achieved_per_s']:.0f} achieved, p50 {l['p50_ms']:.1f} / p99 {l['p99_ms']:.1f} / max {l['max_ms']:.1f} ms")
    c = ceil.get("ceiling_turns_per_s")
    if c:
        print(f"ceiling (Postgres + NATS alone, same writes/publishes): {c:.0f} turns/s")
        parts = []
        if knee:
            parts.append(f"{knee['achieved_per_s'] / c:.2f} at the knee")
        if top:
            parts.append(f"{top['achieved_per_s'] / c:.2f} at the highest sustained rate")
        if parts:
            print("throughput / ceiling: " + "; ".join(parts))
if ws:
    idle = ws.get("server_rss_kib_idle")
    if idle:
        who = "a notifier process of its own" if os.environ.get("BENCH_WS_PROCESS", "notifier") == "notifier" else "the all-in-one process"
        print(f"{ws['sockets']} idle WebSockets on {who}: RSS {idle/1024:.0f} MiB "
              f"({ws.get('server_kib_per_socket') or 0:.1f} KiB/socket over the {ws['server_rss_kib_before']/1024:.0f} MiB baseline)")
    for p in ws.get("phases", []):
        l = p["latency"]
        print(f"  {p['push_rate']:.0f} pushes/s: delivered {p['delivered']}/{p['published']}, p50 {l['p50_ms']:.1f} / "
              f"p99 {l['p99_ms']:.1f} / max {l['max_ms']:.1f} ms, resync frames {p['resync_frames']}")
print(f"release build {build} s; whole bench {total} s; JSON and logs in {out}")
print("=" * 78)
EOF
# Card-data redaction runs on every message and staff field: typical messages and 1 MB of hostile input.
log "redaction speed (nlu/examples/redact_speed.rs)"
nice -n 10 cargo run --release -q -p joxai-nlu --example redact_speed | tee "$OUT/redact_speed.txt"
