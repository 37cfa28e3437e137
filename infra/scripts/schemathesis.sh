#!/usr/bin/env bash
# `infra/scripts/schemathesis.sh [MAX_EXAMPLES]`: property-based API testing of a
# running instance from its own OpenAPI document. Installs schemathesis (PyPI) into
# ~/.cache/joxai/st-venv if missing, starts a throw-away instance with serve-for-tests.sh, signs in as
# the demo admin, and runs every operation with the checks `not_a_server_error` (no 5xx) and
# `response_schema_conformance` (responses match the schema) — once as the admin, once as a chat
# customer on the widget's endpoints. Prints a summary; exit 1 on failures.
source "$(dirname "$0")/lib.sh"
cd "$JOXAI_ROOT"
MAX_EXAMPLES="${1:-20}"
VENV="$JOXAI_CACHE/st-venv"
if [ ! -x "$VENV/bin/schemathesis" ]; then
  log "installing schemathesis from PyPI into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check schemathesis
fi
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
read -r PID URL < <(infra/scripts/serve-for-tests.sh "$PORT" | tail -n1)
trap 'kill "$PID" 2>/dev/null || true' EXIT
TOKEN="$(curl -fsS -XPOST "$URL/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"admin@joxai.local\",\"password\":\"${JOXAI_DEMO_PASSWORD:-e2e-password-123}\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
CUSTOMER_TOKEN="$(curl -fsS -XPOST "$URL/api/v1/chat/sessions" -H 'content-type: application/json' -d '{}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"

# run NAME TOKEN [schemathesis options…]: one pass; prints its summary, returns its status.
run() {
  local name="$1" token="$2"
  shift 2
  local report="$JOXAI_CACHE/schemathesis-$PORT-$name.txt"
  log "schemathesis ($name) against $URL/api/v1/openapi.json (max $MAX_EXAMPLES examples per operation; full output: $report)"
  set +e
  "$VENV/bin/schemathesis" run "$URL/api/v1/openapi.json" \
    --url "$URL" \
    -H "Authorization: Bearer $token" \
    --checks not_a_server_error,response_schema_conformance \
    --max-examples "$MAX_EXAMPLES" \
    --request-timeout 10 \
    --workers 2 \
    --no-color "$@" >"$report" 2>&1
  local status=$?
  set -e
  sed -n '/SUMMARY/,$p' "$report" | head -n 60
  [ $status -eq 0 ] || grep -E "^(_+ |[0-9]+\. |    [A-Z][a-z]+ )" "$report" | head -n 80
  return $status
}

status=0
# 1. Signed in as the demo admin. The admin's session must survive the run: logout, password
# changes and user updates (which can deactivate or demote the admin itself) would end it and turn
# every later call into a 401, so those operations are excluded here; joxai/tests/desk_*.rs cover them.
run staff "$TOKEN" --exclude-path-regex '(/auth/(logout|password)|/users/\{id\}(/password)?)$' || status=1
# 2. The customer's side (the widget's API) with a real customer token, so these operations get past
# authentication instead of answering 401 to the admin's token.
run customer "$CUSTOMER_TOKEN" --include-path-regex '^/api/v1/chat/' || status=1
exit $status
