#!/usr/bin/env python3
"""Simulated chat customers for the fault-injection runs (`make soak`, `make cluster-chaos`).

    chat_driver.py --ingress 5401,5402 --notifier 5403,5404 --seconds 240 --customers 16 --out driver.json

Each customer opens a conversation, holds a WebSocket to a notifier and posts chat messages, as the
widget does: it waits for the socket's `ready` frame before posting (events published before the
socket was subscribed are not promised to it), retries a 503 or a refused connection with the same
client message id (on the next ingress), and when its socket drops it reconnects to the next notifier
and sends `resume` after the last sequence it saw. Stdlib only (a minimal RFC 6455 client).

It stops posting after --seconds or when the file OUT.halt appears, keeps reading until the file OUT.stop appears, then until no push
has arrived for 3 s, and writes OUT: the accepted messages, how many times each message id was
pushed, the order the bot's answers arrived in, and the counts of retries, reconnects and resyncs.
The checks that read it are in chat_check.py.
"""
import argparse, base64, json, os, random, socket, struct, sys, threading, time, urllib.error, urllib.request

p = argparse.ArgumentParser()
p.add_argument("--ingress", required=True, help="comma-separated HTTP ports of the ingresses")
p.add_argument("--notifier", required=True, help="comma-separated HTTP ports of the notifiers")
p.add_argument("--seconds", type=float, required=True)
p.add_argument("--customers", type=int, default=16)
p.add_argument("--out", required=True)
args = p.parse_args()
INGRESSES = [int(x) for x in args.ingress.split(",")]
NOTIFIERS = [int(x) for x in args.notifier.split(",")]

# Questions the bot answers from the knowledge base; the policy sends some to a person anyway
# (every conversation may end in one escalation), so customers start a new conversation now and then.
TEXTS = ["what is my balance?", "how long does a transfer take?", "what are your opening hours?",
         "how do I activate my new card?", "what savings plans do you have?", "what are the fees for international transfers?",
         "cuánto tarda una transferencia?", "what loans do you offer?"]
MESSAGES_PER_CONVERSATION = 6
stop_posting, stop_reading = threading.Event(), threading.Event()
lock = threading.Lock()
accepted = []          # [conversation, client id, message id], in posting order
pushes = {}            # message id -> times pushed
answers = {}           # conversation -> question message ids the bot's answers replied to, in arrival order
counts = {"refused": 0, "unauthorized": 0, "resyncs": 0, "reconnects": 0, "failovers": 0}
last_push = [time.monotonic()]


def bump(name):
    with lock:
        counts[name] += 1


def api(port, method, path, body=None, token=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=None if body is None else json.dumps(body).encode())
    if body is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=15) as r:
        return r.status, json.loads(r.read() or b"{}")


class Ws:
    """One WebSocket connection; raises OSError when the notifier is not there."""

    def __init__(self, port, token, after=None):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f"GET /api/v1/ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.s.recv(4096)
            if not chunk:
                raise OSError("closed during the handshake")
            buf += chunk
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise OSError(f"no upgrade: {head[:80]!r}")
        # A reconnect resumes in the auth frame itself, as the widget does: the server replays what
        # was missed before any live event, so events arrive in order.
        auth = {"type": "auth", "token": token}
        if after is not None:
            auth["after"] = after
        self.send(json.dumps(auth))
        self.s.settimeout(0.5)

    def send(self, text, opcode=0x1):
        data, mask = text.encode() if isinstance(text, str) else text, os.urandom(4)
        n = len(data)
        head = bytes([0x80 | opcode]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n))
        self.s.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def frames(self):
        """Complete frames in the buffer: (opcode, payload)."""
        while True:
            if len(self.buf) < 2:
                return
            op, n, at = self.buf[0] & 0x0F, self.buf[1] & 0x7F, 2
            if n == 126:
                if len(self.buf) < 4:
                    return
                n, at = struct.unpack(">H", self.buf[2:4])[0], 4
            elif n == 127:
                if len(self.buf) < 10:
                    return
                n, at = struct.unpack(">Q", self.buf[2:10])[0], 10
            if len(self.buf) < at + n:
                return
            payload, self.buf = self.buf[at:at + n], self.buf[at + n:]
            yield op, payload


class Feed:
    """A customer's live feed: one socket at a time, reconnected with `resume` like the widget's."""

    def __init__(self, i, conv, token):
        self.i, self.conv, self.token = i, conv, token
        self.last_seq = None
        self.ready = threading.Event()
        self.attempt = 0
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not stop_reading.is_set():
            port = NOTIFIERS[(self.i + self.attempt) % len(NOTIFIERS)]
            try:
                ws = Ws(port, self.token, self.last_seq)
            except OSError:
                self.attempt += 1
                time.sleep(0.3)
                continue
            self.read(ws)
            try:
                ws.s.close()
            except OSError:
                pass
            if stop_reading.is_set():
                return
            # The notifier went away (killed, restarted): the next one, resuming where we were.
            bump("reconnects")
            self.attempt += 1
            time.sleep(0.2)

    def read(self, ws):
        while not stop_reading.is_set():
            try:
                chunk = ws.s.recv(65536)
                if not chunk:
                    return
                ws.buf += chunk
            except socket.timeout:
                continue
            except OSError:
                return
            for op, payload in ws.frames():
                if op == 0x9:
                    ws.send(payload, 0xA)
                    continue
                if op == 0x8:
                    return
                if op != 0x1:
                    continue
                frame = json.loads(payload)
                kind = frame.get("type")
                if kind == "ready":
                    if self.last_seq is None:
                        self.last_seq = frame.get("seq", 0)
                    self.ready.set()
                elif kind == "resync":
                    bump("resyncs")
                elif kind == "error" and frame.get("code") == "unauthorized":
                    bump("unauthorized")
                elif kind == "event":
                    self.last_seq = max(self.last_seq or 0, frame["seq"])
                    event = frame["event"]
                    if event["type"] != "message.created":
                        continue
                    message = event["payload"]["message"]
                    with lock:
                        pushes[message["id"]] = pushes.get(message["id"], 0) + 1
                        last_push[0] = time.monotonic()
                        if message.get("sender") == "bot" and message.get("in_reply_to") and pushes[message["id"]] == 1:
                            answers.setdefault(self.conv, []).append(message["in_reply_to"])


def post(i, path, body, token=None):
    """POST to the customer's ingress, retrying 503s and refused connections on the next one."""
    attempt = 0
    for _ in range(400):
        port = INGRESSES[(i + attempt) % len(INGRESSES)]
        try:
            return api(port, "POST", path, body, token)
        except urllib.error.HTTPError as e:
            if e.code != 503:
                raise
        except OSError:
            # Not there (stopped for a rolling restart, killed): the widget's retry goes to whichever
            # ingress the load balancer picks next.
            bump("failovers")
            attempt += 1
        bump("refused")
        time.sleep(0.5)
    raise RuntimeError(f"customer {i}: {path} was refused 400 times")


feeds = []


def conversation(i):
    try:
        _, session = post(i, "/api/v1/chat/sessions", {})
    except Exception as e:
        print(f"customer {i}: no session: {e}", file=sys.stderr)
        time.sleep(1)
        return
    conv, token = session["conversation_id"], session["token"]
    feed = Feed(i, conv, token)
    with lock:
        feeds.append(feed)
    # As the widget does: send only once the socket is subscribed.
    while not feed.ready.wait(0.5):
        if stop_posting.is_set():
            return
    n = 0
    while not stop_posting.is_set() and n < MESSAGES_PER_CONVERSATION:
        cid = f"m{n}"
        body = {"client_message_id": cid, "text": random.choice(TEXTS)}
        if n > 0:
            # As the widget does: name the previous accepted message, so this one is stored and
            # answered after it even if that one is delayed on its way.
            body["after_client_message_id"] = f"m{n - 1}"
        _, reply = post(i, f"/api/v1/chat/conversations/{conv}/messages", body, token)
        with lock:
            accepted.append([conv, cid, reply.get("message_id")])
        n += 1
        stop_posting.wait(random.uniform(1.0, 3.0))


def customer(i):
    while not stop_posting.is_set():
        conversation(i)


threads = [threading.Thread(target=customer, args=(i,)) for i in range(args.customers)]
for t in threads:
    t.start()
ends = time.monotonic() + args.seconds
while time.monotonic() < ends and not os.path.exists(args.out + ".halt"):
    time.sleep(0.2)
stop_posting.set()
for t in threads:
    t.join()
# Keep reading while the backlog drains; the shell says when it has (OUT.stop), then wait until
# the pushes have stopped coming for 3 s (at most 60 s more).
while not os.path.exists(args.out + ".stop"):
    time.sleep(0.2)
deadline = time.monotonic() + 60
while time.monotonic() < deadline and time.monotonic() - last_push[0] < 3:
    time.sleep(0.2)
stop_reading.set()
for feed in feeds:
    feed.thread.join()
with open(args.out, "w") as f:
    json.dump({"accepted": accepted, "pushes": pushes, "answers": answers, **counts}, f)
