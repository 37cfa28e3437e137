#!/usr/bin/env bash
# Write what a nats-server needs to refuse anyone who is not one of JoxAI's roles, into DIR:
#
#   ca.pem, ca.key          a private certificate authority (made once, kept)
#   server.pem, server.key  the server's certificate for localhost / 127.0.0.1 / ::1, signed by it
#   credentials/<role>      one random password per role (made once, kept, mode 0600)
#   nats.conf               TLS on every connection, one user per role with only its subjects,
#                           no anonymous user, JetStream fsync before every acknowledgement
#   with ROUTE_PORTs, for a cluster on loopback (`make cluster`):
#   route.pem, route.key    the certificate the servers show each other on their routes (server and
#                           client use, since each server dials the others), signed by the same CA
#   credentials/route       the password a server must give to join the cluster
#   node-<ROUTE_PORT>.conf  nats.conf plus a `cluster` block: routes to every other port, TLS both
#                           ways (each side verifies the other's certificate), and the route password
#
# Usage: nats-security.sh DIR [PREFIX] [ROUTE_PORT...]
#   PREFIX is the subject prefix (JOXAI_NATS_PREFIX) the permissions are written for; `*` (the
#   default) lets one server carry many prefixes, as the tests need (each test has its own), at the
#   cost that stream-level rules cannot name a stream (see docs/deployment.md).
#
# Idempotent: the CA, the certificate and the passwords are made only when missing; nats.conf is
# rewritten every time from them. Start the server with `nats-server -c DIR/nats.conf -p PORT -sd STORE`,
# a cluster member with `nats-server -c DIR/node-<ROUTE_PORT>.conf -p PORT -sd STORE`.
set -euo pipefail

DIR="${1:?usage: nats-security.sh DIR [PREFIX]}"
PREFIX="${2:-*}"
ROUTE_PORTS=("${@:3}")
ROLES=(ingress ticket escalation ai notifier operator)

mkdir -p "$DIR/credentials"
chmod 700 "$DIR" "$DIR/credentials"
cd "$DIR"

if [ ! -f ca.pem ] || [ ! -f ca.key ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=JoxAI development CA" -keyout ca.key -out ca.pem \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  rm -f server.pem
fi
if [ ! -f server.pem ] || [ ! -f server.key ]; then
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
    -keyout server.key -out server.csr 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 \
    -extfile server.ext -out server.pem 2>/dev/null
  rm -f server.csr server.ext ca.srl
fi
chmod 600 ca.key server.key
if [ "${#ROUTE_PORTS[@]}" -gt 0 ] && { [ ! -f route.pem ] || [ ! -f route.key ] || [ ca.pem -nt route.pem ]; }; then
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=joxai-nats-route" \
    -keyout route.key -out route.csr 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' >route.ext
  openssl x509 -req -in route.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 \
    -extfile route.ext -out route.pem 2>/dev/null
  rm -f route.csr route.ext ca.srl
  chmod 600 route.key
fi

for role in "${ROLES[@]}" route; do
  if [ ! -s "credentials/$role" ]; then
    (umask 077; openssl rand -hex 24 >"credentials/$role")
  fi
done
password() { tr -d '\n' <"credentials/$1"; }

# Stream names are PREFIX in capitals + _COMMANDS / _EVENTS; with a wildcard prefix any stream.
if [ "$PREFIX" = "*" ]; then
  COMMANDS='*'; EVENTS='*'
else
  STREAM_PREFIX="$(printf '%s' "$PREFIX" | tr 'a-z-' 'A-Z_')"
  COMMANDS="${STREAM_PREFIX}_COMMANDS"; EVENTS="${STREAM_PREFIX}_EVENTS"
fi
P="$PREFIX"

# What every role needs from JetStream: account and stream info, and creating or updating the
# streams (every process makes sure they exist at start-up). Replies arrive on the role's own inbox
# prefix (`_INBOX_<role>`), so no role can read another's replies or deliveries.
common() { # role
  printf '"$JS.API.INFO", "$JS.API.STREAM.INFO.*", "$JS.API.STREAM.CREATE.*", "$JS.API.STREAM.UPDATE.*"'
}
# A worker's own durable consumer: create it, read its info, pull from it, acknowledge.
durable() { # stream durable
  printf '"$JS.API.CONSUMER.CREATE.%s.%s", "$JS.API.CONSUMER.CREATE.%s.%s.>", "$JS.API.CONSUMER.DURABLE.CREATE.%s.%s", "$JS.API.CONSUMER.INFO.%s.%s", "$JS.API.CONSUMER.MSG.NEXT.%s.%s", "$JS.ACK.%s.%s.>"' \
    "$1" "$2" "$1" "$2" "$1" "$2" "$1" "$2" "$1" "$2" "$1" "$2"
}
user() { # role publish-list
  printf '    { user: "%s", password: "%s", permissions: {\n' "$1" "$(password "$1")"
  printf '        publish: { allow: [%s, %s] }\n' "$(common "$1")" "$2"
  # Every process reloads the bank's settings live when an administrator saves them.
  printf '        subscribe: { allow: ["_INBOX_%s.>", "%s.evt.settings.changed"] } } }\n' "$1" "$P"
}

tmp="$(mktemp nats.conf.XXXXXX)"
{
  cat <<EOF
# Generated by infra/scripts/nats-security.sh — edit the script, not this file.
# Every connection is TLS; every client is one of JoxAI's roles; anonymous clients are refused
# (there is no no_auth_user).
tls {
  cert_file: "$DIR/server.pem"
  key_file: "$DIR/server.key"
  timeout: 5
}
jetstream {
  # Acknowledge a publish only after the stream has fsynced it: an accepted customer message
  # survives an OS crash or a power loss, not just a process crash (the default syncs every 2 min).
  sync_interval: always
}
# Room for the frames the ingress sends while a slow fsync holds an acknowledgement.
write_deadline: "10s"
authorization {
  users = [
EOF
  # The ingress publishes the commands of the API, typing events, and replays dead letters onto the
  # subject they failed on (a command, or an event a worker consumes).
  # It also announces a saved settings change (the admin API), so every process reloads it.
  # It also publishes the email requests the email worker consumes: a customer's "email me this conversation"
  # and an admin's resend of a failed email.
  user ingress "\"$P.cmd.>\", \"$P.evt.settings.changed\", \"$P.evt.conv.*.typing\", \"$P.evt.conv.*.message.created.customer\", \"$P.evt.conv.*.message.classified\", \"$P.evt.conv.*.conversation.transcript_requested\", \"$P.evt.email.resend_requested\""
  # The ticket worker is the only writer of the conversation's events.
  user ticket "$(durable "$COMMANDS" ticket-worker), \"$P.evt.>\", \"$P.cmd.>\", \"$P.dlq.ticket\""
  user escalation "$(durable "$EVENTS" escalation-classifier), \"$P.cmd.conversation.escalate\", \"$P.evt.conv.*.message.classified\", \"$P.evt.conv.*.message.created.customer\", \"$P.dlq.escalation\""
  user ai "$(durable "$EVENTS" ai-responder), \"$P.cmd.chat.message.bot_reply\", \"$P.cmd.conversation.escalate\", \"$P.evt.conv.*.message.classified\", \"$P.dlq.ai\""
  # The notifier only reads events: ordered consumers on the events stream and single reads by
  # sequence. It publishes nothing on the product's subjects.
  user notifier "\"\$JS.API.CONSUMER.CREATE.$EVENTS\", \"\$JS.API.CONSUMER.CREATE.$EVENTS.>\", \"\$JS.API.CONSUMER.MSG.NEXT.$EVENTS.*\", \"\$JS.API.CONSUMER.DELETE.$EVENTS.*\", \"\$JS.API.CONSUMER.INFO.$EVENTS.*\", \"\$JS.API.DIRECT.GET.$EVENTS\", \"\$JS.API.DIRECT.GET.$EVENTS.>\", \"\$JS.API.STREAM.MSG.GET.$EVENTS\", \"\$JS.FC.$EVENTS.>\""
  # People (the nats CLI) and the all-in-one process, which holds every role at once.
  printf '    { user: "operator", password: "%s" }\n' "$(password operator)"
  echo "  ]"
  echo "}"
} >"$tmp"
chmod 600 "$tmp"
mv "$tmp" nats.conf

# One configuration per cluster member: the same users and TLS, and routes to the others. A server
# joins only with the route password and a certificate the CA signed, and checks the other side's.
for port in "${ROUTE_PORTS[@]}"; do
  tmp="$(mktemp node.conf.XXXXXX)"
  {
    echo "# Generated by infra/scripts/nats-security.sh — edit the script, not this file."
    echo "include ./nats.conf"
    echo "server_name: \"joxai-$port\""
    echo "cluster {"
    echo "  name: \"joxai\""
    echo "  listen: \"127.0.0.1:$port\""
    echo "  # Clients learn the other members from the one they reach, and fail over to them."
    echo "  no_advertise: false"
    echo "  authorization { user: \"route\", password: \"$(password route)\", timeout: 5 }"
    echo "  tls { cert_file: \"$DIR/route.pem\", key_file: \"$DIR/route.key\", ca_file: \"$DIR/ca.pem\", verify: true, timeout: 5 }"
    echo "  routes: ["
    for other in "${ROUTE_PORTS[@]}"; do
      [ "$other" = "$port" ] && continue
      echo "    \"nats-route://route:$(password route)@127.0.0.1:$other\""
    done
    echo "  ]"
    echo "}"
  } >"$tmp"
  chmod 600 "$tmp"
  mv "$tmp" "node-$port.conf"
done
