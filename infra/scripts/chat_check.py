#!/usr/bin/env python3
"""The invariants of a fault-injection run, checked from the outside: Postgres and the sockets.

    chat_check.py --db DATABASE --driver driver.json [--title TEXT] [--figure "name=value" ...]

Reads what the customers were told was accepted and what their sockets received (chat_driver.py's
output), and what Postgres holds, and checks that every accepted customer message is stored once;
has exactly one bot reply or its conversation's one ticket; that every stored customer and bot
message was pushed to its customer exactly once; that the bot's answers arrived in the order of
their questions; and that there is no dead letter. Prints the figures (with the run's own, given as
--figure) and exits 1 on any loss or duplicate. --json writes the same figures as JSON.
"""
import argparse, json, subprocess, sys

p = argparse.ArgumentParser()
p.add_argument("--db", required=True)
p.add_argument("--driver", required=True)
p.add_argument("--title", default="figures")
p.add_argument("--figure", action="append", default=[], help="an extra line to print: name=value")
p.add_argument("--json")
args = p.parse_args()


def q(sql):
    out = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", args.db, "-qtA", "-F", "|", "-c", sql],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("|") for line in out.splitlines() if line]


d = json.load(open(args.driver))
accepted = {(c, m) for c, m, _ in d["accepted"]}
# Only the run's own conversations: the demo data seeded beside them (weeks of past conversations)
# was never pushed to anyone.
RUN = "conversation_id = ANY('{%s}'::uuid[])" % ",".join(sorted({c for c, _ in accepted}))
stored = q(f"SELECT conversation_id, client_message_id FROM messages WHERE sender = 'customer' AND {RUN}")
stored_keys = [tuple(r) for r in stored]
not_stored = len(accepted - set(stored_keys))
dup_stored = len(stored_keys) - len(set(stored_keys))
ledger = q(f"""WITH c AS (SELECT m.id,
    (SELECT count(*) FROM messages b WHERE b.sender = 'bot' AND b.in_reply_to = m.id) AS replies,
    EXISTS (SELECT 1 FROM tickets t WHERE t.conversation_id = m.conversation_id) AS escalated
  FROM messages m WHERE m.sender = 'customer' AND m.{RUN})
  SELECT count(*) FILTER (WHERE replies = 0 AND NOT escalated), count(*) FILTER (WHERE replies > 1) FROM c""")[0]
unanswered, doubled = int(ledger[0]), int(ledger[1])
dup_tickets = int(q(f"SELECT count(*) FROM (SELECT conversation_id FROM tickets WHERE {RUN} GROUP BY conversation_id HAVING count(*) > 1) d")[0][0])
tickets = int(q(f"SELECT count(*) FROM tickets WHERE {RUN}")[0][0])
dead = int(q("SELECT count(*) FROM dead_letters")[0][0])
# Every customer and bot message of the run's conversations was pushed to its customer.
expected = q(f"""SELECT m.id, m.sender, m.conversation_id, coalesce(m.client_message_id, ''),
    to_char(m.created_at, 'HH24:MI:SS.MS') FROM messages m WHERE m.sender IN ('customer', 'bot') AND m.{RUN}""")
pushes = d["pushes"]
missing = [r for r in expected if pushes.get(r[0], 0) == 0]
dup_pushes = sum(1 for r in expected if pushes.get(r[0], 0) > 1)
bot = sum(1 for r in expected if r[1] == "bot")
# The bot's answers arrive in the order of their questions, per conversation.
question_index = {mid: int(cid[1:]) for _, cid, mid in d["accepted"] if mid and cid[1:].isdigit()}
out_of_order = 0
for conv, replied_to in d["answers"].items():
    order = [question_index[m] for m in replied_to if m in question_index]
    out_of_order += sum(1 for a, b in zip(order, order[1:]) if b < a)

losses = not_stored + unanswered + dead + len(missing)
duplicates = dup_stored + doubled + dup_tickets + dup_pushes
figures = [tuple(f.split("=", 1)) for f in args.figure]
lines = [f"{args.title}:"]
lines += [f"  {name:<28}{value}" for name, value in figures]
lines += [
    f"  {'customer messages accepted':<28}{len(accepted)}   (503s and refused connections retried: {d['refused']})",
    f"  {'stored':<28}{len(stored_keys)}",
    f"  {'bot replies':<28}{bot}",
    f"  {'tickets (escalations)':<28}{tickets}",
    f"  {'pushes received':<28}{sum(pushes.values())}   (socket reconnects {d.get('reconnects', 0)}, resyncs {d.get('resyncs', 0)}, refused sockets {d['unauthorized']})",
    f"  {'answers out of order':<28}{out_of_order}",
    f"  {'losses':<28}{losses}   (not stored {not_stored}, unanswered {unanswered}, dead letters {dead}, pushes missing {len(missing)})",
    f"  {'duplicates':<28}{duplicates}   (messages {dup_stored}, replies {doubled}, tickets {dup_tickets}, pushes {dup_pushes})",
]
print("\n" + "\n".join(lines) + "\n")
# Name what is missing, so a failure says where to look (the conversation's first message points
# at the socket's subscription, a late one at the drain).
for mid, sender, conv, cid, at in missing[:20]:
    print(f"  push missing: {sender} message {mid} ({cid or 'reply'}) of conversation {conv}, stored at {at}")
if args.json:
    json.dump({"accepted": len(accepted), "stored": len(stored_keys), "bot_replies": bot, "tickets": tickets,
               "pushes": sum(pushes.values()), "losses": losses, "duplicates": duplicates,
               "out_of_order": out_of_order, "dead_letters": dead, "resyncs": d.get("resyncs", 0),
               **{k: v for k, v in figures}}, open(args.json, "w"))
sys.exit(1 if losses or duplicates or out_of_order else 0)
