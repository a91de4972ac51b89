"""The `hubops webhook` commands' work: ask the runtime, and wait for a test event's attempt.

A test event is queued by the runtime and sent by its delivery worker; the
command then watches the delivery log for the first attempt of that message.
An embedded runtime (a SQLite path) has no worker of its own: the attempt is
made by a `hubops serve` on the same database, or not within the wait.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from hubops.client import RuntimeClient

TEST_WAIT_SECONDS = 30.0
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class SentTestEvent:
    message_id: str
    attempt: dict[str, Any] | None  # the first attempt as the delivery log shows it; None: none yet

    @property
    def succeeded(self) -> bool:
        code = self.attempt.get("statusCode") if self.attempt else None
        return code is not None and 200 <= int(code) < 300


async def send_test_and_wait(
    runtime: str, tenant: str, webhook: str, wait: float = TEST_WAIT_SECONDS
) -> SentTestEvent:
    """Send a test event and wait up to `wait` seconds for its first attempt."""
    async with RuntimeClient.open(runtime) as client:
        message_id = await client.send_test_event(tenant, webhook)
        deadline = time.monotonic() + wait
        while True:
            attempts = await client.delivery_attempts(tenant, webhook)
            mine = [a for a in attempts if a.get("messageId") == message_id]
            if mine:
                return SentTestEvent(message_id, mine[-1])  # newest first: the last is the first
            if time.monotonic() >= deadline:
                return SentTestEvent(message_id, None)
            await asyncio.sleep(POLL_SECONDS)


async def replay_webhook(runtime: str, tenant: str, webhook: str, since: str, only: str) -> int:
    """Queue the webhook's messages created since `since` again; how many were queued."""
    async with RuntimeClient.open(runtime) as client:
        return await client.replay(tenant, webhook, since, only)
