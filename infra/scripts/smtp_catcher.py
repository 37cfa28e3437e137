"""A local SMTP server for tests and the demo: every message it accepts is written as one JSON file
(recipients, subject, plain text, HTML, Message-ID) in a folder. Loopback only.

    python3 smtp_catcher.py PORT FOLDER
"""
import email
import email.policy
import json
import os
import sys
import time

from aiosmtpd.controller import Controller


class Catcher:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = message.get_body(("plain",))
        html = message.get_body(("html",))
        self.count += 1
        record = {
            "to": envelope.rcpt_tos,
            "from": envelope.mail_from,
            "subject": str(message["subject"]),
            "message_id": str(message["message-id"]),
            "text": text.get_content() if text else "",
            "html": html.get_content() if html else "",
        }
        name = os.path.join(self.folder, f"{time.time_ns()}-{self.count}.json")
        with open(name + ".tmp", "w") as f:
            json.dump(record, f, ensure_ascii=False)
        os.rename(name + ".tmp", name)  # readers never see half a file
        return "250 Message accepted for delivery"


if __name__ == "__main__":
    port, folder = int(sys.argv[1]), sys.argv[2]
    os.makedirs(folder, exist_ok=True)
    controller = Controller(Catcher(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"SMTP catcher on 127.0.0.1:{port}, emails in {folder}", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()
