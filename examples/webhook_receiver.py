"""A webhook receiver that checks darkroom's signatures before trusting a delivery.

    DARKROOM_WEBHOOK_SECRET=whsec_... python examples/webhook_receiver.py --port 9000

It answers 204 to an authentic delivery (and prints it as one JSON line), 400 to anything
else. Receivers should answer quickly and do the work afterwards: darkroom waits at most
DARKROOM_WEBHOOK_TIMEOUT_S for the answer. Deliveries are at least once: use the
``webhook-id`` header to recognise a message you have already handled.
"""

from __future__ import annotations

import argparse
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from darkroom.webhooks.signing import WebhookVerificationError, verify


def make_handler(secret: str) -> type[BaseHTTPRequestHandler]:
    seen: set[str] = set()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            try:
                verify(secret, dict(self.headers.items()), body)  # the raw body, unparsed
            except WebhookVerificationError as exc:
                self.send_error(400, str(exc))
                return
            message_id = self.headers["webhook-id"]
            if message_id not in seen:  # a redelivery of a handled message: nothing to do
                seen.add(message_id)
                event = json.loads(body)
                job = event["data"]
                line = {"id": message_id, "type": event["type"], "job": job["id"]}
                print(
                    json.dumps(line | {"outputs": [o["url"] for o in job["outputs"]]}), flush=True
                )
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    return Receiver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    secret = os.environ["DARKROOM_WEBHOOK_SECRET"]
    server = ThreadingHTTPServer((args.host, args.port), make_handler(secret))
    print(f"listening on http://{args.host}:{args.port}/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
