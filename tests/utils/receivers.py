"""Real receivers on loopback for the notification channels: an HTTP server that answers as a
generic webhook, a DingTalk robot, a WeCom robot or a Feishu bot would (checking signatures the
way those services document), and an SMTP server (aiosmtpd). Each records what it received."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from pipeline.broker import free_port


@dataclass(frozen=True)
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HttpReceiver:
    """``kind`` is webhook, dingtalk, wecom or feishu. ``statuses`` are the HTTP statuses of
    the next replies (then 200); ``hold`` keeps each request open until it is set (a receiver
    that is slow to answer, for killing the sender mid-send)."""

    def __init__(self, kind: str, secret: str | None = None) -> None:
        self.kind = kind
        self.secret = secret
        self.received: list[Received] = []
        self.statuses: deque[int] = deque()
        self.hold = threading.Event()
        self.hold.set()
        self.waiting = threading.Event()  # a request is being held
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                parts = urlsplit(self.path)
                request = Received(parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()},
                                   {k.lower(): v for k, v in self.headers.items()}, body)
                with receiver._lock:
                    receiver.received.append(request)
                    status = receiver.statuses.popleft() if receiver.statuses else 200
                if status == 200 and not receiver._signed(request):
                    status = 401
                if not receiver.hold.is_set():
                    receiver.waiting.set()
                    receiver.hold.wait(30)
                reply = receiver._reply(request) if status == 200 else {"error": status}
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/{kind}?access_token=t0k"

    def _reply(self, request: Received) -> dict[str, Any]:
        return {"webhook": self._webhook, "dingtalk": self._dingtalk, "wecom": self._wecom,
                "feishu": self._feishu}[self.kind](request)

    def _signed(self, request: Received) -> bool:
        """A generic webhook refuses (401) a request whose signature is wrong."""
        if self.kind != "webhook" or self.secret is None:
            return True
        timestamp = request.headers.get("x-yuqing-timestamp", "")
        expected = "sha256=" + hmac.new(self.secret.encode(), f"{timestamp}.".encode()
                                        + request.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(request.headers.get("x-yuqing-signature", ""), expected)

    def _webhook(self, request: Received) -> dict[str, Any]:
        return {"ok": True}

    def _dingtalk(self, request: Received) -> dict[str, Any]:
        # DingTalk's documented check: timestamp (ms) within an hour, sign = base64(HMAC-SHA256
        # keyed by the secret over "timestamp\nsecret"), sent URL-encoded.
        if self.secret is not None:
            timestamp = request.query.get("timestamp", "0")
            string = f"{timestamp}\n{self.secret}".encode()
            sign = base64.b64encode(hmac.new(self.secret.encode(), string,
                                             hashlib.sha256).digest()).decode()
            if (abs(time.time() * 1000 - int(timestamp)) > 3600_000
                    or request.query.get("sign") != sign):
                return {"errcode": 310000, "errmsg": "sign not match"}
        if request.json().get("msgtype") != "markdown":
            return {"errcode": 40035, "errmsg": "missing msgtype"}
        return {"errcode": 0, "errmsg": "ok"}

    def _wecom(self, request: Received) -> dict[str, Any]:
        content = request.json().get("markdown", {}).get("content", "")
        if len(content.encode()) > 4096:
            return {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
        return {"errcode": 0, "errmsg": "ok"}

    def _feishu(self, request: Received) -> dict[str, Any]:
        # Feishu's documented check: sign = base64(HMAC-SHA256 keyed by "timestamp\nsecret" over
        # an empty message), timestamp in seconds within an hour.
        body = request.json()
        if self.secret is not None:
            timestamp = str(body.get("timestamp", "0"))
            sign = base64.b64encode(hmac.new(f"{timestamp}\n{self.secret}".encode(), b"",
                                             hashlib.sha256).digest()).decode()
            if abs(time.time() - int(timestamp)) > 3600 or body.get("sign") != sign:
                return {"code": 19021, "msg": "sign match fail or timestamp is not within one "
                        "hour from current time"}
        return {"code": 0, "msg": "success", "data": {}}

    def __enter__(self) -> Self:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.hold.set()
        self._server.shutdown()
        self._server.server_close()


class SmtpReceiver:
    """An SMTP server on loopback that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[Envelope] = []
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        self.messages.append(message_from_bytes(envelope.original_content or b""))
        return "250 OK"

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._controller.stop()
