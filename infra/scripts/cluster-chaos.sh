#!/usr/bin/env bash
# `make cluster-chaos` — faults on the production topology under load, then the invariants.
#
#   infra/scripts/cluster-chaos.sh [short]
#
# Starts the topology of `make cluster` (3 NATS nodes with R3 streams, 2 of every JoxAI role as
# separate processes) on a fresh database, and runs 16 customers (infra/scripts/chat_driver.py,
# shared with `make soak`) spread over both ingresses and both notifiers while, one after another:
#
#   1. a NATS node is SIGKILLed and started again, then a second one;
#   2. a node is paused (SIGSTOP) for longer than the cluster's heartbeats and elections, then resumed;
#   3. one worker of each kind is SIGKILLed at random and started again;
#   4. every process is restarted in turn, JoxAI roles then NATS nodes (a rolling upgrade);
#   5. the AI responders are scaled from 2 to 4 and back while traffic flows.
#
# After each fault the broker's backlog of the worker consumers must settle (nothing pending, no
# more unacknowledged than the steady load holds) within JOXAI_CHAOS_DRAIN_BOUND seconds (60). At the
# end it checks from Postgres and the sockets (chat_check.py) that every accepted message was stored
# once, answered or escalated once, pushed once to its customer (resume allowed), answers in question
# order, no dead letter; prints the figures, with the consumer lag the workers reported on /metrics
# (joxai_consumer_pending_messages, sampled every second into lag.csv); exits 1 on any failure.
# `short` runs fewer, shorter faults (under 3 minutes with a built binary).
#
# Environment: JOXAI_CHAOS_BIN (prebuilt joxai; default: build release), JOXAI_CHAOS_KEEP=1 (keep
# the database and logs), JOXAI_CHAOS_CUSTOMERS (16), JOXAI_CLUSTER_NATS_PORT / JOXAI_CLUSTER_HTTP_PORT
# (as for make cluster), JOXAI_CHAOS_STATE (where its state and logs go; default
# $JOXAI_CACHE/cluster-chaos).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster-lib.sh"
cd "$JOXAI_ROOT"
MODE="${1:-full}"
CUSTOMERS="${JOXAI_CHAOS_CUSTOMERS:-16}"
DRAIN_BOUND="${JOXAI_CHAOS_DRAIN_BOUND:-60}"
# Messages handed out and not yet acknowledged under the steady load (16 customers): the backlog has
# settled when nothing waits undelivered and no more than this is in flight.
STEADY_ACK_PENDING="${JOXAI_CHAOS_STEADY_ACK_PENDING:-8}"

if [ -z "${JOXAI_CHAOS_BIN:-}" ]; then
  log "building the release binary"
  nice -n 10 cargo build --release -q -p joxai
  JOXAI_CHAOS_BIN="$CARGO_TARGET_DIR/release/joxai"
fi
BIN="$JOXAI_CHAOS_BIN"
ensure_postgres
DB="joxai_t_cluster_$(python3 -c 'import uuid; print(uuid.uuid4().hex[:10])')"
RUN="${JOXAI_CHAOS_STATE:-$JOXAI_CACHE/cluster-chaos}"
DRIVER_PID=""; SAMPLER_PID=""
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$SAMPLER_PID" ]; then kill "$SAMPLER_PID" 2>/dev/null || true; fi
  if [ -n "$DRIVER_PID" ]; then kill "$DRIVER_PID" 2>/dev/null || true; fi
  cluster_stop_all
  if [ "${JOXAI_CHAOS_KEEP:-0}" != 1 ]; then
    psql_admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  else
    log "kept: database $DB, logs in $RUN/logs"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cluster_init "$RUN"
rm -f "$RUN"/driver.json* "$RUN/lag.csv" "$RUN/faults.txt"
for n in "${CLUSTER_NODES[@]}"; do cluster_start_nats "$n"; done
cluster_wait_nats_ready 30 || die "the NATS cluster did not become healthy"
psql_admin -c "CREATE DATABASE $DB" >/dev/null
cluster_env "$DB"
export JOXAI_DRAIN_SECONDS=2
# Short ack waits, as in the soak, so a killed worker's messages come back in seconds; the same
# relation holds (ack_wait > handler timeout > AI deadline).
export JOXAI_WORKERS__TICKET__ACK_WAIT_MS=5000 JOXAI_WORKERS__TICKET__HANDLER_TIMEOUT_MS=4000
export JOXAI_WORKERS__ESCALATION__ACK_WAIT_MS=5000 JOXAI_WORKERS__ESCALATION__HANDLER_TIMEOUT_MS=4000
export JOXAI_WORKERS__AI__ACK_WAIT_MS=8000 JOXAI_WORKERS__AI__HANDLER_TIMEOUT_MS=6000 JOXAI_AI_TIMEOUT_MS=4000
for kind in TICKET ESCALATION AI; do
  export "JOXAI_WORKERS__${kind}__RETRY_MIN_MS=100" "JOXAI_WORKERS__${kind}__RETRY_MAX_MS=2000"
done
cluster_migrate "$BIN"
for name in "${CLUSTER_PROCESSES[@]}"; do cluster_start "$BIN" "$name"; done
for name in "${CLUSTER_PROCESSES[@]}"; do cluster_wait_ready "$name" 60 || die "$name did not become ready"; done
mapfile -t MONITORS < <(nats_monitor_ports)

# Consumer lag as the workers report it on /metrics, every second, from whichever workers run.
sample_lag() {
  local start=$SECONDS name port
  echo "seconds,process,worker,pending,ack_pending" >"$RUN/lag.csv"
  while true; do
    for f in "$RUN"/pids/ticket-* "$RUN"/pids/escalation-* "$RUN"/pids/ai-*; do
      [ -e "$f" ] || continue
      name="$(basename "$f")"; port="$(cluster_metrics_port "$name")"
      curl -fsS -m 1 "http://127.0.0.1:$port/metrics" 2>/dev/null | awk -v t=$(( SECONDS - start )) -v p="$name" '
        /^joxai_consumer_pending_messages\{/ { match($0, /worker="[a-z]+"/); w = substr($0, RSTART + 8, RLENGTH - 9); pending[w] = $NF }
        /^joxai_consumer_ack_pending_messages\{/ { match($0, /worker="[a-z]+"/); w = substr($0, RSTART + 8, RLENGTH - 9); ack[w] = $NF }
        END { for (w in pending) printf "%s,%s,%s,%s,%s\n", t, p, w, pending[w], ack[w] }' >>"$RUN/lag.csv" || true
    done
    # The broker's own count (every second; the workers refresh their gauges every 5 s).
    read -r pending ack < <(consumer_backlog "${MONITORS[@]}")
    [ "$pending" = -1 ] || echo "$(( SECONDS - start )),broker,all,$pending,$ack" >>"$RUN/lag.csv"
    sleep 1
  done
}
sample_lag & SAMPLER_PID=$!

python3 "$JOXAI_ROOT/infra/scripts/chat_driver.py" --ingress "$(cluster_http_port ingress-1),$(cluster_http_port ingress-2)" \
  --notifier "$(cluster_http_port notifier-1),$(cluster_http_port notifier-2)" --seconds 3600 \
  --customers "$CUSTOMERS" --out "$RUN/driver.json" 2>"$RUN/logs/driver.log" &
DRIVER_PID=$!
log "chaos ($MODE): $CUSTOMERS customers on ingresses :$(cluster_http_port ingress-1),:$(cluster_http_port ingress-2), notifiers :$(cluster_http_port notifier-1),:$(cluster_http_port notifier-2); db $DB; logs $RUN/logs"

FAILED=0; KILLS=0; RESTARTS=0; PAUSES=0; MAX_SETTLE=0
fault() { log "fault: $*"; echo "$(date +%T) $*" >>"$RUN/faults.txt"; }
# After a fault: wait until the broker's backlog has settled; record how long it took.
settle() { # what
  local start=$SECONDS pending ack
  while (( SECONDS - start < DRAIN_BOUND )); do
    read -r pending ack < <(consumer_backlog "${MONITORS[@]}")
    if [ "$pending" = 0 ] && (( ack <= STEADY_ACK_PENDING )); then
      local took=$(( SECONDS - start ))
      (( took > MAX_SETTLE )) && MAX_SETTLE=$took
      log "  settled in ${took}s after $1"
      echo "$(date +%T)   settled in ${took}s" >>"$RUN/faults.txt"
      return 0
    fi
    sleep 1
  done
  log "  NOT settled within ${DRAIN_BOUND}s after $1 (backlog: pending $pending, unacknowledged $ack)"
  echo "$(date +%T)   NOT settled within ${DRAIN_BOUND}s" >>"$RUN/faults.txt"
  FAILED=1
  return 0
}
restart_role() { # name signal
  cluster_stop "$1" "$2"
  [ "$2" = KILL ] && KILLS=$((KILLS + 1))
  cluster_start "$BIN" "$1"
  RESTARTS=$((RESTARTS + 1))
  cluster_wait_ready "$1" 60 || { log "  $1 did not come back"; FAILED=1; }
}
restart_nats() { # node signal down_seconds
  cluster_stop "nats-$1" "$2"
  [ "$2" = KILL ] && KILLS=$((KILLS + 1))
  sleep "$3"
  cluster_start_nats "$1"
  RESTARTS=$((RESTARTS + 1))
  cluster_wait_nats_ready 60 || { log "  nats-$1 did not become healthy again"; FAILED=1; }
}
pick() { local a=("$@"); echo "${a[$(( RANDOM % ${#a[@]} ))]}"; }

sleep 15  # traffic first, so every fault lands on a busy system

# CPU per chat turn by role over a quiet minute-part of steady load (the capacity model in
# docs/deployment.md): CPU time from /proc of every process of a role, divided by the customer
# messages stored meanwhile. Postgres is every postgres process on the machine, so anything else
# using it at the same time counts too.
cpu_ticks() { local pid sum=0 t; for pid in "$@"; do t="$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)"; sum=$((sum + t)); done; echo "$sum"; }
role_pids() { local f; for f in "$RUN"/pids/"$1"*; do [ -e "$f" ] && cat "$f"; done; }
turns() { psql -h 127.0.0.1 -U postgres -d "$DB" -qtA -c "SELECT count(*) FROM messages WHERE sender = 'customer'"; }
CPU_ROLES=(ingress notifier ticket escalation ai nats)
declare -A cpu_before
for r in "${CPU_ROLES[@]}"; do mapfile -t pids < <(role_pids "$r"); cpu_before[$r]="$(cpu_ticks "${pids[@]}")"; done
mapfile -t pg_pids < <(pgrep -x postgres || true)
pg_before="$(cpu_ticks "${pg_pids[@]}")"; turns_before="$(turns)"
sleep "${JOXAI_CHAOS_MEASURE_SECONDS:-$([ "$MODE" = short ] && echo 10 || echo 30)}"
turns_during=$(( $(turns) - turns_before ))
mapfile -t pg_pids < <(pgrep -x postgres || true)
CPU_PER_TURN="turns $turns_during; ms of CPU per turn:"
hz="$(getconf CLK_TCK)"
for r in "${CPU_ROLES[@]}"; do
  mapfile -t pids < <(role_pids "$r")
  CPU_PER_TURN+=" $r $(awk -v a="${cpu_before[$r]}" -v b="$(cpu_ticks "${pids[@]}")" -v n="$turns_during" -v hz="$hz" 'BEGIN { printf "%.1f", n ? (b - a) * 1000 / hz / n : 0 }'),"
done
CPU_PER_TURN+=" postgres $(awk -v a="$pg_before" -v b="$(cpu_ticks "${pg_pids[@]}")" -v n="$turns_during" -v hz="$hz" 'BEGIN { printf "%.1f", n ? (b - a) * 1000 / hz / n : 0 }')"
log "steady load: $CPU_PER_TURN"
if [ "$MODE" = short ]; then DOWN=3; PAUSE=8; else DOWN=8; PAUSE=15; fi

fault "SIGKILL nats-2, ${DOWN}s down, start it again"
restart_nats 2 KILL "$DOWN"; settle "nats-2 killed"
if [ "$MODE" != short ]; then
  fault "SIGKILL nats-3, ${DOWN}s down, start it again"
  restart_nats 3 KILL "$DOWN"; settle "nats-3 killed"
fi
fault "SIGSTOP nats-1 for ${PAUSE}s, then SIGCONT"
kill -STOP "$(pid_of nats-1)"; sleep "$PAUSE"; kill -CONT "$(pid_of nats-1)"; PAUSES=$((PAUSES + 1))
cluster_wait_nats_ready 60 || { log "  nats-1 did not recover from the pause"; FAILED=1; }
settle "nats-1 paused"
for kind in ticket escalation ai; do
  victim="$(pick "$kind-1" "$kind-2")"
  fault "SIGKILL $victim"
  restart_role "$victim" KILL
done
settle "a worker of each kind killed"
if [ "$MODE" = short ]; then ROLLING=(ingress-1 notifier-1 ticket-1 ai-2); NODES=(3); else ROLLING=("${CLUSTER_PROCESSES[@]}"); NODES=(1 2 3); fi
fault "rolling restart: ${ROLLING[*]}, then nats ${NODES[*]}"
for name in "${ROLLING[@]}"; do restart_role "$name" TERM; sleep 1; done
for n in "${NODES[@]}"; do restart_nats "$n" TERM 0; done
settle "the rolling restart"
# A backlog to scale against: both AI responders away for a while (the lag rises), then four of
# them (it falls), then back to two.
fault "no AI responder for ${DOWN}s, then scale the AI responders 0 → 4 → 2"
cluster_stop ai-1 TERM; cluster_stop ai-2 TERM
sleep "$DOWN"
for name in ai-1 ai-2 ai-3 ai-4; do cluster_start "$BIN" "$name"; RESTARTS=$((RESTARTS + 1)); done
for name in ai-1 ai-2 ai-3 ai-4; do cluster_wait_ready "$name" 60 || { log "  $name did not start"; FAILED=1; }; done
sleep 15
cluster_stop ai-3 TERM; cluster_stop ai-4 TERM
settle "scaling"

touch "$RUN/driver.json.halt"
log "load stopped; waiting for the backlog to drain"
if ! drained="$(JOXAI_DRAIN_CONSUMERS="ticket-worker escalation-classifier ai-responder" wait_for_drain "$DB" 120 "${MONITORS[@]}")"; then
  log "the backlog did not drain within ${drained}s"; FAILED=1
fi
touch "$RUN/driver.json.stop"
wait "$DRIVER_PID" || { log "the driver failed (see $RUN/logs/driver.log)"; FAILED=1; }
DRIVER_PID=""
kill "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=""

# The lag the workers reported: the highest pending (and unacknowledged) count per kind.
LAG="$(awk -F, 'NR > 1 && $2 != "broker" { seen[$3] = 1; if ($4 + 0 > p[$3] + 0) { p[$3] = $4; pt[$3] = $1 } if ($5 + 0 > a[$3] + 0) a[$3] = $5 }
  END { for (w in seen) printf "%s: pending max %d at %ds, unacknowledged max %d; ", w, p[w], pt[w], a[w] }' "$RUN/lag.csv")"
MAX_LAG="$(awk -F, 'NR > 1 && $2 != "broker" && $4 + 0 > m { m = $4 + 0 } END { print m + 0 }' "$RUN/lag.csv")"
BROKER_LAG="$(awk -F, '$2 == "broker" { if ($4 + 0 > p) { p = $4 + 0; pt = $1 } if ($4 + $5 > b) b = $4 + $5 } END { printf "pending max %d at %ds, pending + unacknowledged max %d", p, pt, b }' "$RUN/lag.csv")"
cat "$RUN/faults.txt" >&2
status=0
python3 "$JOXAI_ROOT/infra/scripts/chat_check.py" --db "$DB" --driver "$RUN/driver.json" --json "$RUN/figures.json" \
  --title "cluster-chaos figures ($MODE)" \
  --figure "NATS nodes / JoxAI processes=3 / ${#CLUSTER_PROCESSES[@]} (+2 while scaled)" \
  --figure "kills (SIGKILL)=$KILLS" --figure "restarts=$RESTARTS" --figure "pauses (SIGSTOP)=$PAUSES" \
  --figure "max consumer lag (workers)=$MAX_LAG   ($LAG)" \
  --figure "consumer lag (broker)=$BROKER_LAG" \
  --figure "longest settle after a fault=${MAX_SETTLE}s (bound ${DRAIN_BOUND}s)" \
  --figure "drained after load (s)=$drained" --figure "steady load=$CPU_PER_TURN" || status=1
[ "$FAILED" = 0 ] || { log "a fault did not settle or a process did not come back (see above)"; status=1; }
exit "$status"
