"""`hubops token new` and `hubops webhook-secret new`: mint secrets to paste into `sops edit`."""

from __future__ import annotations

import click

from hubops.tokens import new_token, new_webhook_secret


@click.group("token")
def token_group() -> None:
    """Partner API tokens."""


@token_group.command("new")
def token_new() -> None:
    """Print a fresh hub_ token (and nothing else)."""
    click.echo(new_token())


@click.group("webhook-secret")
def webhook_secret_group() -> None:
    """Webhook signing secrets."""


@webhook_secret_group.command("new")
@click.option("--bytes", "num_bytes", type=click.IntRange(24, 64), default=32, show_default=True)
def webhook_secret_new(num_bytes: int) -> None:
    """Print a fresh Standard Webhooks whsec_ signing secret (and nothing else)."""
    click.echo(new_webhook_secret(num_bytes))
