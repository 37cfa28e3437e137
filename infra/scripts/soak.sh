#!/usr/bin/env bash
# `make soak` — issue 8, item 3: workers killed with SIGKILL at random points under load.
#
#   infra/scripts/soak.sh [SECONDS] [KILLS]      (defaults: 240 s, 300 kill attempts ≈ 250 kills: restarts take time)
#
# Runs the release binary's roles as separate processes — `joxai ingress`, `joxai notifier`, and two
# replicas each of `joxai worker ticket|escalation|ai` — on a private nats-server and a fresh database,
# while a driver (16 simulated customers, each with a WebSocket to the notifier) posts chat messages.
# A killer SIGKILLs a random worker every SECONDS/KILLS seconds on average (jittered, so kills land
# anywhere: mid-handler, between the database commit and the ack, during start-up) and starts it again.
# At the end, once the backlog has drained, it checks in Postgres and on the sockets that every
# accepted customer message is stored once and has exactly one bot reply or one escalation, that every
# reply was pushed exactly once, and prints the figures. Exit status 1 on any loss or duplicate.
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
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

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
# The configuration every dev server runs (TLS, one user per role, fsync before every
# acknowledgement); each role below connects with its own identity, as in a deployment.
bash "$JOXAI_ROOT/infra/scripts/nats-security.sh" "$RUN/nats-security"
NATS_SECURITY="$RUN/nats-security"
"$(nats_server_bin)" -c "$NATS_SECURITY/nats.conf" -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$RUN/nats" -l "$RUN/nats.log" </dev/null >/dev/null 2>&1 &
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

python3 - "$INGRESS_PORT" "$NOTIFIER_PORT" "$DURATION" "$CUSTOMERS" "$RUN/driver.json" <<'PY' &
# The driver: customers post messages (retrying 503s with the same client id, as the widget does)
# and hold a WebSocket each; stdlib only (a minimal RFC 6455 client).
import base64, json, os, random, socket, struct, sys, threading, time, urllib.error, urllib.request

ingress, notifier, duration, customers, out = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
# Questions the bot answers from the knowledge base; the policy sends some to a person anyway
# (every conversation may end in one escalation), so customers start a new conversation now and then.
TEXTS = ["what is my balance?", "how long does a transfer take?", "what are your opening hours?",
         "how do I activate my new card?", "what savings plans do you have?", "what are the fees for international transfers?",
         "cuánto tarda una transferencia?", "what loans do you offer?"]
MESSAGES_PER_CONVERSATION = 6
stop_posting, stop_reading = threading.Event(), threading.Event()
lock = threading.Lock()
accepted, pushes, refused, unauthorized = [], {}, [0], [0]

def api(method, path, body=None, token=None):
    req = urllib.request.Request(f"http://127.0.0.1:{ingress}{path}", method=method,
                                 data=None if body is None else json.dumps(body).encode())
    if body is not None: req.add_header("content-type", "application/json")
    if token: req.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=15) as r:
        return r.status, json.loads(r.read() or b"{}")

class Ws:
    def __init__(self, token):
        self.s = socket.create_connection(("127.0.0.1", notifier))
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f"GET /api/v1/ws HTTP/1.1\r\nHost: 127.0.0.1:{notifier}\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf: buf += self.s.recv(4096)
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        assert b" 101 " in head.split(b"\r\n")[0], head
        self.send(json.dumps({"type": "auth", "token": token}))
        self.s.settimeout(0.5)
    def send(self, text, opcode=0x1):
        data, mask = text.encode() if isinstance(text, str) else text, os.urandom(4)
        n = len(data)
        head = bytes([0x80 | opcode]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n))
        self.s.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))
    def frames(self):
        """Complete frames in the buffer: (opcode, payload)."""
        while True:
            if len(self.buf) < 2: return
            op, n, at = self.buf[0] & 0x0F, self.buf[1] & 0x7F, 2
            if n == 126:
                if len(self.buf) < 4: return
                n, at = struct.unpack(">H", self.buf[2:4])[0], 4
            elif n == 127:
                if len(self.buf) < 10: return
                n, at = struct.unpack(">Q", self.buf[2:10])[0], 10
            if len(self.buf) < at + n: return
            payload, self.buf = self.buf[at:at + n], self.buf[at + n:]
            yield op, payload

def customer(i):
    while not stop_posting.is_set():
        conversation(i)

def conversation(i):
    try:
        _, session = api("POST", "/api/v1/chat/sessions", {})
    except Exception as e:
        print(f"customer {i}: no session: {e}", file=sys.stderr); time.sleep(1); return
    conv, token = session["conversation_id"], session["token"]
    ws = Ws(token)
    def read():
        while not stop_reading.is_set():
            try:
                chunk = ws.s.recv(65536)
                if not chunk: break
                ws.buf += chunk
            except socket.timeout:
                continue
            except OSError:
                break
            for op, payload in ws.frames():
                if op == 0x9: ws.send(payload, 0xA); continue
                if op != 0x1: continue
                frame = json.loads(payload)
                if frame.get("type") == "error" and frame.get("code") == "unauthorized":
                    with lock: unauthorized[0] += 1
                if frame.get("type") == "event" and frame["event"]["type"] == "message.created":
                    mid = frame["event"]["payload"]["message"]["id"]
                    with lock: pushes[mid] = pushes.get(mid, 0) + 1
    reader = threading.Thread(target=read, daemon=True); reader.start()
    n = 0
    while not stop_posting.is_set() and n < MESSAGES_PER_CONVERSATION:
        cid = f"m{n}"
        body = {"client_message_id": cid, "text": random.choice(TEXTS)}
        for _ in range(200):
            try:
                status, _ = api("POST", f"/api/v1/chat/conversations/{conv}/messages", body, token)
                if status == 202:
                    with lock: accepted.append([conv, cid])
                    break
            except urllib.error.HTTPError as e:
                if e.code != 503: raise
            except OSError:
                pass
            with lock: refused[0] += 1
            time.sleep(0.5)
        n += 1
        stop_posting.wait(random.uniform(1.0, 3.0))
    if not stop_posting.is_set():
        # This conversation is done: keep its socket until the end, so late pushes are still counted.
        readers.append(reader)
    else:
        reader.join()

readers = []

threads = [threading.Thread(target=customer, args=(i,)) for i in range(customers)]
for t in threads: t.start()
time.sleep(duration); stop_posting.set()
# Keep reading while the backlog drains; the shell signals the end by creating out + ".stop".
while not os.path.exists(out + ".stop"): time.sleep(0.2)
time.sleep(3); stop_reading.set()
for t in threads + readers: t.join()
json.dump({"accepted": accepted, "pushes": pushes, "refused": refused[0], "unauthorized": unauthorized[0]}, open(out, "w"))
PY
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

q() { psql -h 127.0.0.1 -U postgres -d "$DB" -qtA -c "$1"; }
LEDGER="WITH c AS (SELECT m.id, m.conversation_id,
    (SELECT count(*) FROM messages b WHERE b.sender = 'bot' AND b.in_reply_to = m.id) AS replies,
    EXISTS (SELECT 1 FROM tickets t WHERE t.conversation_id = m.conversation_id) AS escalated
  FROM messages m WHERE m.sender = 'customer')
  SELECT count(*), count(*) FILTER (WHERE replies = 0 AND NOT escalated) FROM c"
previous=""
for _ in $(seq 120); do
  now="$(q "$LEDGER")"
  [ "${now#*|}" = 0 ] && [ "$now" = "$previous" ] && break
  previous="$now"
  sleep 2
done
touch "$RUN/driver.json.stop"
wait "$DRIVER_PID" || die "the driver failed"

q "SELECT m.conversation_id || ' ' || m.client_message_id FROM messages m WHERE sender = 'customer'" >"$RUN/stored.txt"
q "SELECT id FROM messages WHERE sender = 'bot'" >"$RUN/bot.txt"
q "SELECT id FROM messages WHERE sender = 'customer'" >"$RUN/customer.txt"
python3 - "$RUN" "$kills" "$DURATION" "$(q "$LEDGER")" \
  "$(q "SELECT count(*) FROM messages m WHERE sender = 'customer' AND (SELECT count(*) FROM messages b WHERE b.sender = 'bot' AND b.in_reply_to = m.id) > 1")" \
  "$(q "SELECT count(*) FROM (SELECT conversation_id FROM tickets GROUP BY conversation_id HAVING count(*) > 1) d")" \
  "$(q "SELECT count(*) FROM tickets")" \
  "$(q "SELECT count(*) FROM dead_letters")" <<'PY'
import json, sys
run, kills, duration, ledger, doubled, dup_tickets, tickets, dead = sys.argv[1:9]
stored_total, unanswered = map(int, ledger.split("|"))
d = json.load(open(f"{run}/driver.json"))
accepted = {f"{c} {m}" for c, m in d["accepted"]}
stored = [l for l in open(f"{run}/stored.txt").read().split("\n") if l]
not_stored = len(accepted - set(stored))
dup_stored = len(stored) - len(set(stored))
bot = [l for l in open(f"{run}/bot.txt").read().split("\n") if l]
cust = [l for l in open(f"{run}/customer.txt").read().split("\n") if l]
pushes = d["pushes"]
missing_pushes = sum(1 for m in bot + cust if pushes.get(m, 0) == 0)
dup_pushes = sum(1 for m in bot + cust if pushes.get(m, 0) > 1)
losses = not_stored + unanswered + int(dead) + missing_pushes
duplicates = dup_stored + int(doubled) + int(dup_tickets) + dup_pushes
print(f"""
soak figures ({duration} s):
  worker kills (SIGKILL)      {kills}
  customer messages accepted  {len(accepted)}   (503s retried: {d['refused']})
  stored                      {len(stored)}
  bot replies                 {len(bot)}
  tickets (escalations)       {tickets}
  pushes received             {sum(pushes.values())}   (sockets refused by the notifier: {d['unauthorized']})
  losses                      {losses}   (not stored {not_stored}, unanswered {unanswered}, dead letters {dead}, pushes missing {missing_pushes})
  duplicates                  {duplicates}   (messages {dup_stored}, replies {doubled}, tickets {dup_tickets}, pushes {dup_pushes})
""")
sys.exit(1 if losses or duplicates else 0)
PY
