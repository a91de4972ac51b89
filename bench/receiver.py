"""A webhook endpoint on 127.0.0.1 for the benchmarks: records what arrived, when, and how often.

An asyncio server on a thread of its own: a thread per connection (what
`http.server` does) costs more CPU than the runtime's own work at a few
hundred deliveries a second on two cores, and would be what is measured.
Every delivery is kept by its `webhook-id` (how many times it came) and by
the event it carries, `(data.id, data.status)`: when that event first
arrived (wall clock, to compare with the event's own `updatedAt`), under
which webhook-ids, and in what order one order's events came. That tells
lost events, duplicates under a new id and events of one order out of order.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter, defaultdict

import orjson

Event = tuple[str, str]  # (order id, status)
NO_CONTENT = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"
HEAD_LIMIT = 64 * 1024


class Receiver:
    """Answers 204 to every POST; see the module docstring for what it records."""

    def __init__(self) -> None:
        self.ids: Counter[str] = Counter()
        self.arrived: dict[Event, float] = {}  # first arrival, time.time()
        self.updated: dict[Event, str] = {}  # the event's updatedAt, as sent
        self.ids_by_event: defaultdict[Event, set[str]] = defaultdict(set)
        self.sequence: defaultdict[str, list[str]] = defaultdict(list)  # first arrivals
        self.unreadable = 0
        self.last = 0.0
        self._lock = threading.Lock()
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(started,), daemon=True)
        self._thread.start()
        started.wait()

    def _serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._connection, "127.0.0.1", 0, backlog=1024)
        )
        self.port: int = self._server.sockets[0].getsockname()[1]
        started.set()
        self._loop.run_forever()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, ValueError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if len(head) > HEAD_LIMIT:
                    break
                length = 0
                webhook_id = ""
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    key = name.strip().lower()
                    if key == b"content-length":
                        length = int(value.strip())
                    elif key == b"webhook-id":
                        webhook_id = value.strip().decode()
                body = await reader.readexactly(length)
                self._record(webhook_id, body)
                writer.write(NO_CONTENT)
                await writer.drain()
        self._writers.discard(writer)
        writer.close()

    def _record(self, webhook_id: str, body: bytes) -> None:
        now = time.time()
        try:
            data = orjson.loads(body).get("data", {})
            event = (str(data["id"]), str(data.get("status", "")))
        except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError):
            self.unreadable += 1
            return
        with self._lock:
            if webhook_id:  # the baselines' plain posts have none
                self.ids[webhook_id] += 1
                self.ids_by_event[event].add(webhook_id)
            self.last = now
            if event not in self.arrived:
                self.arrived[event] = now
                self.updated[event] = str(data.get("updatedAt", ""))
                self.sequence[event[0]].append(event[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def deliveries(self) -> int:
        with self._lock:
            return sum(self.ids.values())

    def events(self) -> int:
        with self._lock:
            return len(self.arrived)

    def wait_for(self, count: int, timeout: float) -> bool:
        """Wait until `count` deliveries in all have arrived; False if `timeout` ran out."""
        deadline = time.monotonic() + timeout
        while self.deliveries() < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    async def _shutdown(self) -> None:
        self._server.close()
        for writer in list(self._writers):
            writer.close()  # the reader sees the end of the stream, and its task ends
        await self._server.wait_closed()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
