# Shared by `make cluster` and `make cluster-chaos`: the production topology on loopback.
# Source it after lib.sh. Every process it starts is remembered by name in $CLUSTER_DIR/pids/, so a
# scenario can kill, pause or restart one by name, and cluster_stop ends them all.
#
#   NATS:   3 nodes (client ports $NATS_BASE+0..2, monitoring +10..12, routes +20..22), JetStream
#           on each, R3 streams, TLS and one user per role (nats-security.sh), fsync before every ack
#   JoxAI:  ingress-1/2, notifier-1/2, ticket-1/2, escalation-1/2, ai-1/2, each its own process and
#           NATS identity, on one Postgres database; HTTP ports from $HTTP_BASE (see cluster_http_port)
#
# Ports: JOXAI_CLUSTER_NATS_PORT (default 4401) and JOXAI_CLUSTER_HTTP_PORT (default 5401); each
# process's /metrics listener is 100 above its HTTP port.

CLUSTER_NATS_BASE="${JOXAI_CLUSTER_NATS_PORT:-4401}"
CLUSTER_HTTP_BASE="${JOXAI_CLUSTER_HTTP_PORT:-5401}"
CLUSTER_NODES=(1 2 3)

nats_client_port() { echo $(( CLUSTER_NATS_BASE + $1 - 1 )); }
nats_monitor_port() { echo $(( CLUSTER_NATS_BASE + 10 + $1 - 1 )); }
nats_route_port() { echo $(( CLUSTER_NATS_BASE + 20 + $1 - 1 )); }
nats_monitor_ports() { local n; for n in "${CLUSTER_NODES[@]}"; do nats_monitor_port "$n"; done; }

# HTTP port of a JoxAI process by name: ingress-N, notifier-N, ticket-N, escalation-N, ai-N (N ≤ 9).
cluster_http_port() { # name
  local kind="${1%-*}" n="${1##*-}" offset
  case "$kind" in
    # Offsets that keep clear of 5432 (Postgres) with the default base.
    ingress) offset=10 ;; notifier) offset=20 ;; ticket) offset=40 ;; escalation) offset=50 ;; ai) offset=60 ;;
    *) die "unknown process $1" ;;
  esac
  echo $(( CLUSTER_HTTP_BASE + offset + n - 1 ))
}

# Prepare CLUSTER_DIR (stores, logs, pids) and the security material; the stores start empty.
# Each process serves /metrics on a loopback port of its own, 100 above its HTTP port.
cluster_metrics_port() { # name
  echo $(( $(cluster_http_port "$1") + 100 ))
}

cluster_init() { # dir
  CLUSTER_DIR="$1"
  mkdir -p "$CLUSTER_DIR/pids" "$CLUSTER_DIR/logs"
  rm -rf "$CLUSTER_DIR"/nats-[0-9] "$CLUSTER_DIR"/pids/* "$CLUSTER_DIR"/logs/*
  local routes=() n
  for n in "${CLUSTER_NODES[@]}"; do routes+=("$(nats_route_port "$n")"); done
  bash "$JOXAI_ROOT/infra/scripts/nats-security.sh" "$CLUSTER_DIR/nats-security" joxai "${routes[@]}"
  NATS_SECURITY="$CLUSTER_DIR/nats-security"
  NATS_BIN="$(nats_server_bin)"
  for n in "${CLUSTER_NODES[@]}"; do
    if port_open 127.0.0.1 "$(nats_client_port "$n")" || port_open 127.0.0.1 "$(nats_route_port "$n")"; then
      die "port $(nats_client_port "$n") or $(nats_route_port "$n") is taken (another cluster running?); set JOXAI_CLUSTER_NATS_PORT"
    fi
  done
}

pid_of() { cat "$CLUSTER_DIR/pids/$1" 2>/dev/null || true; }
alive() { local pid; pid="$(pid_of "$1")"; [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

cluster_start_nats() { # node
  local n="$1"
  mkdir -p "$CLUSTER_DIR/nats-$n"
  setsid "$NATS_BIN" -c "$NATS_SECURITY/node-$(nats_route_port "$n").conf" -a 127.0.0.1 \
    -p "$(nats_client_port "$n")" -m "$(nats_monitor_port "$n")" -sd "$CLUSTER_DIR/nats-$n" \
    -l "$CLUSTER_DIR/logs/nats-$n.log" </dev/null >/dev/null 2>&1 &
  echo $! >"$CLUSTER_DIR/pids/nats-$n"
  disown $!  # killed on purpose by the scenarios: no "Killed" notice from the shell
  wait_port 127.0.0.1 "$(nats_client_port "$n")" 15 || die "nats node $n did not start; see $CLUSTER_DIR/logs/nats-$n.log"
}

# Wait until every running node says it is healthy (/healthz: JetStream up, caught up with its peers).
cluster_wait_nats_ready() { # seconds
  local i n ok
  for ((i = 0; i < $1 * 2; i++)); do
    ok=1
    for n in "${CLUSTER_NODES[@]}"; do
      alive "nats-$n" || continue
      curl -fsS "http://127.0.0.1:$(nats_monitor_port "$n")/healthz" >/dev/null 2>&1 || ok=0
    done
    [ "$ok" = 1 ] && return 0
    sleep 0.5
  done
  return 1
}

# NATS_URL for a process: every node, starting with a different one per process, so connections
# spread over the cluster and a process can start while any node is down.
cluster_nats_url() { # index
  local urls=() i n
  for ((i = 0; i < ${#CLUSTER_NODES[@]}; i++)); do
    n="${CLUSTER_NODES[$(( ($1 + i) % ${#CLUSTER_NODES[@]} ))]}"
    urls+=("nats://127.0.0.1:$(nats_client_port "$n")")
  done
  (IFS=,; echo "${urls[*]}")
}

# The environment every JoxAI process shares. DB is the database name.
cluster_env() { # db
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$1"
  export JOXAI_NATS_PREFIX=joxai
  # The product's production setting: every stream on three nodes, so one node may fail.
  export JOXAI_NATS_REPLICAS=3
  export JOXAI_NATS_STREAM_MAX_BYTES=$((256 * 1024 * 1024))
  export JOXAI_JWT_SECRET="${JOXAI_JWT_SECRET:-$(random_secret)}"
  export JOXAI_WIDGET_SECRET="${JOXAI_WIDGET_SECRET:-$(random_secret)}"
  export JOXAI_DB_POOL_SIZE="${JOXAI_DB_POOL_SIZE:-4}"
  export JOXAI_RATE_LIMIT_EXEMPT_LOOPBACK=true
  export JOXAI_DEMO_PASSWORD="${JOXAI_DEMO_PASSWORD:-$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')}"
  export RUST_LOG="${RUST_LOG:-warn}"
}

cluster_migrate() { # bin
  nats_client_env operator
  NATS_URL="$(cluster_nats_url 0)" "$1" migrate >"$CLUSTER_DIR/logs/migrate.log" 2>&1 \
    && NATS_URL="$(cluster_nats_url 0)" "$1" seed-demo >>"$CLUSTER_DIR/logs/migrate.log" 2>&1 \
    || { cat "$CLUSTER_DIR/logs/migrate.log"; die "migration failed"; }
}

# Start the JoxAI process NAME (ingress-1, ticket-2, ...) from BIN, appending to its log.
cluster_start() { # bin name
  local bin="$1" name="$2" kind="${2%-*}" n="${2##*-}" args role
  case "$kind" in
    ingress) args=(ingress); role=ingress ;;
    notifier) args=(notifier); role=notifier ;;
    *) args=(worker "$kind"); role="$kind" ;;
  esac
  (
    nats_client_env "$role"
    export NATS_URL; NATS_URL="$(cluster_nats_url "$n")"
    export JOXAI_HTTP_ADDR="127.0.0.1:$(cluster_http_port "$name")"
    export JOXAI_METRICS_ADDR="127.0.0.1:$(cluster_metrics_port "$name")"
    exec setsid "$bin" "${args[@]}" </dev/null >>"$CLUSTER_DIR/logs/$name.log" 2>&1
  ) &
  echo $! >"$CLUSTER_DIR/pids/$name"
  disown $!
}

# Wait until NAME answers /readyz (Postgres and NATS reachable).
cluster_wait_ready() { # name seconds
  local i port; port="$(cluster_http_port "$1")"
  for ((i = 0; i < $2 * 5; i++)); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
    alive "$1" || return 1
    sleep 0.2
  done
  return 1
}

# Stop NAME with SIGNAL (TERM: graceful, KILL: crash) and wait until it is gone.
cluster_stop() { # name [signal]
  local pid; pid="$(pid_of "$1")"
  [ -n "$pid" ] || return 0
  kill -CONT "$pid" 2>/dev/null || true
  kill -"${2:-TERM}" "$pid" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$CLUSTER_DIR/pids/$1"
}

# Stop every process this cluster started: JoxAI first (so nothing is left half-published), then NATS.
cluster_stop_all() {
  local f name
  [ -n "${CLUSTER_DIR:-}" ] && [ -d "$CLUSTER_DIR/pids" ] || return 0
  for f in "$CLUSTER_DIR"/pids/*; do
    [ -e "$f" ] || continue
    name="$(basename "$f")"
    case "$name" in nats-*) ;; *) kill -CONT "$(cat "$f")" 2>/dev/null || true; kill -TERM "$(cat "$f")" 2>/dev/null || true ;; esac
  done
  sleep 2
  for f in "$CLUSTER_DIR"/pids/*; do
    [ -e "$f" ] || continue
    kill -CONT "$(cat "$f")" 2>/dev/null || true
    kill -9 "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
}

# The names of the JoxAI processes of the standard topology.
CLUSTER_PROCESSES=(ingress-1 ingress-2 notifier-1 notifier-2 ticket-1 ticket-2 escalation-1 escalation-2 ai-1 ai-2)
