"""A crowdfund webhook receiver: verifies each delivery with the Standard Webhooks library.

    pip install standardwebhooks
    WEBHOOK_SECRET=whsec_... python3 examples/webhook_receiver.py 9000

Register it with `POST /api/v1/me/webhooks {"url": "http://127.0.0.1:9000/hook", "events": ["*"]}`
(http on loopback needs WEBHOOK_ALLOW_PRIVATE=on on the server: development only) and put the
`secret` of the answer in WEBHOOK_SECRET. Each verified event is printed as one JSON line.
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook

verifier = Webhook(os.environ["WEBHOOK_SECRET"])
seen = set()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            # Checks the signature and that webhook-timestamp is within 5 minutes of now.
            event = verifier.verify(body, dict(self.headers))
        except Exception as error:  # a forged or replayed request
            self.send_response(400)
            self.end_headers()
            print(json.dumps({"refused": str(error)}), flush=True)
            return
        # A delivery may come twice (a retry after a lost answer): webhook-id tells.
        message_id = self.headers["webhook-id"]
        if message_id not in seen:
            seen.add(message_id)
            print(json.dumps({"webhook_id": message_id, "verified": True, "event": event}), flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 9000), Handler).serve_forever()
