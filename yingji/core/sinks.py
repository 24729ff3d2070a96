"""Loopback receivers for pages: a real SMTP server and an HTTP endpoint that keep what they get.

Tests, benchmarks and drills point the plan's channels at these instead of a carrier, so every
byte still goes through a real socket, SMTP dialogue or HTTP request.
"""

from __future__ import annotations

import json
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from .instance import free_port


class SmtpSink:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?from=yingji@hospital.example"

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


class HttpSink:
    """Answers 200 to every POST and keeps (path, JSON or form body)."""

    def __init__(self, fail_first: int = 0) -> None:
        self.requests: list[tuple[str, Any]] = []
        self.fail_first = fail_first  # answer 500 this many times first, to exercise retries
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    failing = sink.fail_first > 0
                    if failing:
                        sink.fail_first -= 1
                    if not failing:
                        try:
                            body: Any = json.loads(raw)
                        except ValueError:
                            body = raw.decode(errors="replace")
                        sink.requests.append((self.path, body))
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]

    def __enter__(self) -> HttpSink:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
