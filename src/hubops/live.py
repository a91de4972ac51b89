"""One tenant as the runtime holds it: the live side of every plan, in the core's own shape.

The client builds it from the admin API's answer (`GET /admin/v1/tenants/{name}`)
and hands it on unchanged: the planner diffs its `state`, reuses its recorded
secrets digest and fingerprints, notes its pending connection requests, and
`status` shows its revision and last apply. A tenant the runtime does not
hold is `LiveTenant.absent(name)`: revision 0 and an empty state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hubops.state import State

# How many tenants one bulk read of live state (`getTenantStates`) may name.
MAX_TENANT_STATES = 100


@dataclass(frozen=True)
class FailingWebhook:
    """A webhook whose endpoint has failed since its last success, or that the runtime
    switched off (a 410, or too long without a success)."""

    name: str
    enabled: bool
    failing_since: str | None
    last_error: str | None
    disabled_reason: str | None


@dataclass
class LiveTenant:
    name: str
    revision: int = 0
    state: State = field(default_factory=dict)
    # What the last apply recorded about the secrets files: their digest, and the
    # fingerprint of every entry (secret address -> fingerprint).
    secrets_digest: str | None = None
    fingerprints: dict[str, str] = field(default_factory=dict)
    # {"at", "by", "commit"} of the last change set, as the runtime reports it.
    last_applied: dict[str, Any] | None = None
    # Retailers whose connection requests await review (not state: nothing to diff).
    pending_connections: list[str] = field(default_factory=list)
    # The configuration digest the last apply recorded (`manifest.snapshot`), and the
    # revision that apply made.
    config_digest: str | None = None
    config_revision: int | None = None

    def unchanged_since_apply(self, digest: str | None) -> bool:
        """Whether files of `digest` made this state and nothing changed it since (SPEC 8).

        Every change to live state bumps the revision (the runtime's one write
        path), so an unmoved revision means no drift can hide behind the digest.
        """
        return (
            digest is not None
            and self.config_digest == digest
            and self.config_revision == self.revision
        )

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> LiveTenant:
        """The admin API's `TenantOut` (of `getTenant` or `getTenantStates`)."""
        recorded = data.get("secrets") or {}
        config = data.get("config") or {}
        return cls(
            name=data["name"],
            revision=int(data["revision"]),
            state=data["state"],
            secrets_digest=recorded.get("digest"),
            fingerprints=recorded.get("fingerprints") or {},
            last_applied=data.get("lastApplied"),
            pending_connections=list(data.get("pendingConnections") or []),
            config_digest=config.get("digest"),
            config_revision=config.get("revision"),
        )

    @classmethod
    def absent(cls, name: str) -> LiveTenant:
        return cls(name=name)

    def failing_webhooks(self) -> list[FailingWebhook]:
        """From the informational `health` and `disabledReason` of its webhook bodies."""
        found = []
        for address, body in sorted(self.state.items()):
            if not address.startswith("webhook/"):
                continue
            health = body.get("health") or {}
            reason = body.get("disabledReason") if not body.get("enabled") else None
            if health.get("failingSince") is None and reason is None:
                continue
            found.append(
                FailingWebhook(
                    name=address.removeprefix("webhook/"),
                    enabled=bool(body.get("enabled")),
                    failing_since=health.get("failingSince"),
                    last_error=health.get("lastError"),
                    disabled_reason=reason,
                )
            )
        return found
