"""``yuqing demo-webhook``: a local receiver for the generic webhook channel, to see
notifications arrive without a chat robot or a mail server, and a reference for writing a real
receiver: it checks what a receiver should (docs/notifications.md).

- the signature: ``X-Yuqing-Signature`` is ``sha256=`` and the HMAC-SHA256, keyed by the shared
  secret, of ``<X-Yuqing-Timestamp>.<body>``; a request without a valid one is refused (401);
- the timestamp: one older than :data:`MAX_AGE_S` is a replay and is refused (401);
- the delivery id: a message the dispatcher sent again after a crash carries the id it had,
  and is acknowledged but not shown twice.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pipeline.notify.channels import webhook_signature

MAX_AGE_S = 300
MAX_BODY_BYTES = 1_000_000
PREVIEW_CHARS = 60


@dataclass
class WebhookReceiver:
    """Serves on ``host:port`` (0: a free port) in a thread until :meth:`stop`; calls ``show``
    with each new message's JSON."""

    show: Callable[[dict[str, Any]], None]
    secret: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    seen: set[str] = field(default_factory=set)
    refused: int = 0

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:
                    self._answer(413, "body too large")
                    return
                status, reason = receiver.receive(dict(self.headers), self.rfile.read(length))
                self._answer(status, reason)

            def _answer(self, status: int, reason: str) -> None:
                body = json.dumps({"status": reason}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                """Quiet: the messages themselves are what is shown."""

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def receive(self, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        """Check one request; show it if it is new. Returns the HTTP status and why."""
        timestamp = headers.get("X-Yuqing-Timestamp", "")
        if self.secret is not None:
            expected = "sha256=" + webhook_signature(self.secret, timestamp, body)
            if not hmac.compare_digest(headers.get("X-Yuqing-Signature", ""), expected):
                return self._refuse("bad or missing signature")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_AGE_S:
            return self._refuse("timestamp missing or more than 5 minutes off")
        delivery = headers.get("X-Yuqing-Delivery", "")
        if delivery in self.seen:
            return 200, "duplicate, already shown"
        try:
            message = json.loads(body)
        except ValueError:
            return 400, "not JSON"
        self.seen.add(delivery)
        self.show(message)
        return 200, "ok"

    def _refuse(self, reason: str) -> tuple[int, str]:
        self.refused += 1
        return 401, reason

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def describe(message: dict[str, Any]) -> str:
    """A message as a few lines for a terminal: its title, then each notice's title, the first
    line of its text, and its link."""
    lines = [f"{message.get('title', '')} (rule {message.get('rule', '?')}, delivery "
             f"{message.get('delivery', '?')})"]
    for notice in message.get("notices", []):
        lines.append(f"  - {notice.get('title', '')}")
        first = (notice.get("body") or "").splitlines()[:1]
        lines += [f"    {first[0][:PREVIEW_CHARS]}"] if first else []
        lines += [f"    {notice['url']}"] if notice.get("url") else []
    return "\n".join(lines)
