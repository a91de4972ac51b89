"""The one exception hierarchy of hubops.

Core code raises these and never prints or exits; the CLI renders them once,
at the edge (`cli.run`), and maps them to exit code 1. Nothing here may carry
a secret value: messages name files, fields and addresses, never what a
secret holds.

    HubopsError
    ├── ConfigError              manifests, catalog or secrets files are invalid
    │                            (carries every Diagnostic of the run)
    ├── SecretsError             sops could not be run at all
    ├── UsageError               a flag or argument that cannot work
    │   ├── DestroyRefused       an apply would delete more than --max-destroy allows,
    │   │                        or all of a tenant, without --allow-destroy (plan.guards)
    │   ├── SavedPlanOutdated    a saved plan no longer says what would be applied
    │   │                        (plan.guards)
    │   └── RuntimeConfigError   the runtime's environment cannot work (runtime.settings)
    └── RuntimeClientError       the runtime could not be reached or refused a request
        ├── StaleStateError      a tenant's live revision moved since the plan was made (409)
        └── ChangeRejected       the runtime found a change invalid (422), or a change
                                 set cannot be sent at all

The runtime's HTTP errors are a tree of their own (`runtime.errors.ApiError`):
they become responses, which the client maps back to `RuntimeClientError`s.
"""

from __future__ import annotations

from collections.abc import Sequence

from hubops.diagnostics import Diagnostic


class HubopsError(Exception):
    """Base of every error hubops reports to a user."""

    exit_code = 1

    def format_message(self) -> str:
        return str(self)


class UsageError(HubopsError):
    """The command line asks for something that cannot work."""


class DestroyRefused(UsageError):
    """An apply would delete more than allowed; `--allow-destroy` says it is intended."""


class SavedPlanOutdated(UsageError):
    """A saved plan does not match what planning again gives now; plan again."""


class SecretsError(HubopsError):
    """The sops binary is missing or unusable; per-file failures are diagnostics instead."""


class ConfigError(HubopsError):
    """The desired state could not be loaded; holds every problem found, sorted."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics)
        errors = sum(1 for d in self.diagnostics if d.severity == "error")
        super().__init__(f"{errors} error(s) in the manifests")


class RuntimeClientError(HubopsError):
    """The runtime could not be reached or refused a request."""


class StaleStateError(RuntimeClientError):
    """The tenant's live revision moved since the plan was made."""


class ChangeRejected(RuntimeClientError):
    """The runtime found a change invalid (422), or the change set cannot be sent at all."""
