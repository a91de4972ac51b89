"""`hubops webhook test|replay`: a test event to one webhook, or its messages sent again."""

from __future__ import annotations

import asyncio

import click

from hubops.cli.options import runtime_option
from hubops.errors import UsageError
from hubops.render.escape import printable
from hubops.utc import format_utc, parse_utc
from hubops.webhook_actions import TEST_WAIT_SECONDS, replay_webhook, send_test_and_wait


@click.group("webhook")
def webhook_group() -> None:
    """Test a webhook, or send its messages again."""


@webhook_group.command("test")
@click.argument("tenant")
@click.argument("name")
@runtime_option
def test_command(tenant: str, name: str, runtime: str) -> int:
    """Send a signed webhook.test event to webhook NAME of TENANT and show the first attempt.

    Waits up to 30 s. Exit 0 when the endpoint answered 2xx, 1 otherwise.
    """
    outcome = asyncio.run(send_test_and_wait(runtime, tenant, name))
    where = printable(f"{tenant}/{name}")
    attempt = outcome.attempt
    if attempt is None:
        click.echo(
            f"Test event {outcome.message_id} to {where}: no attempt within "
            f"{TEST_WAIT_SECONDS:g} s; is `hubops serve` running for this runtime?",
            err=True,
        )
        return 1
    code = attempt.get("statusCode")
    latency = attempt.get("latencyMs")
    line = (
        f"Test event {outcome.message_id} to {where}: "
        f"{code if code is not None else 'no answer'}"
        f"{f' in {latency} ms' if latency is not None else ''}"
    )
    if not outcome.succeeded and attempt.get("error"):
        line += f" ({printable(str(attempt['error']))})"
    click.echo(line, err=not outcome.succeeded)
    return 0 if outcome.succeeded else 1


@webhook_group.command("replay")
@click.argument("tenant")
@click.argument("name")
@click.option(
    "--since",
    required=True,
    metavar="ISO",
    help="Messages created at or after this time (ISO 8601 with a timezone).",
)
@click.option("--all", "everything", is_flag=True, help="Every message, not only failed ones.")
@runtime_option
def replay_command(tenant: str, name: str, since: str, everything: bool, runtime: str) -> None:
    """Send webhook NAME of TENANT its failed messages since --since again (--all: every one).

    Each message keeps its own webhook-id.
    """
    try:
        moment = parse_utc(since)
    except ValueError:
        raise UsageError(
            "--since must be an ISO 8601 time with a timezone, e.g. 2026-01-31T00:00:00Z"
        ) from None
    only = "all" if everything else "failed"
    count = asyncio.run(replay_webhook(runtime, tenant, name, format_utc(moment), only))
    what = "messages" if everything else "failed messages"
    click.echo(f"Queued {count} {what} for {printable(f'{tenant}/{name}')} again.")
