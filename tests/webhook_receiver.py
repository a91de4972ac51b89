"""A real HTTP endpoint on 127.0.0.1 that records what webhooks deliver.

Each request is answered from a script of responses (status, delay,
headers, body), then 200; tests read back headers, bodies and arrival times.
When a receiver closes, every body it received must validate against the
schema of its event type in `schemas/events/` (so every delivery test also
checks the published schemas).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema

EVENT_SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "events"


@cache
def event_validator(event_type: str) -> Any:
    path = EVENT_SCHEMAS / f"{event_type}.schema.json"
    assert path.is_file(), f"no schema for event type {event_type!r} in schemas/events/"
    schema = json.loads(path.read_text())
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def schema_problems(body: bytes) -> list[str]:
    """Why a delivered body does not match its event type's schema (empty: it does)."""
    payload = json.loads(body)
    validator = event_validator(str(payload.get("type")))
    return [
        f"{payload['type']}: {e.json_path}: {e.message}" for e in validator.iter_errors(payload)
    ]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Reply:
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default 5 drops bursts of connections (retried 1 s later)
    daemon_threads = True


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: list[Reply] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                if len(body) < length:
                    return  # the sender went away mid-request (a killed runtime): not delivered
                with receiver._lock:
                    receiver.received.append(
                        Received(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            time.monotonic(),
                        )
                    )
                    reply = receiver.script.pop(0) if receiver.script else Reply()
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/orders"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        problems = [p for r in self.received for p in schema_problems(r.body)]
        assert not problems, f"delivered bodies that break their event schema: {problems}"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} deliveries, got {len(self.received)}")


def verify(secret: str, received: Received, tolerance: int = 300) -> bool:
    """An independent Standard Webhooks check, written from the specification."""
    msg_id = received.headers["webhook-id"]
    timestamp = received.headers["webhook-timestamp"]
    if abs(int(time.time()) - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{msg_id}.{timestamp}.".encode() + received.body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    offered = [
        s.split(",", 1)[1]
        for s in received.headers["webhook-signature"].split(" ")
        if s.startswith("v1,")
    ]
    return any(hmac.compare_digest(expected, sig) for sig in offered)
