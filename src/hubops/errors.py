"""The one exception hierarchy of hubops.

Core code raises these and never prints or exits; the CLI renders them once,
at the edge, and maps them to exit code 1. Nothing here may carry a secret
value: messages name files, fields and addresses, never what a secret holds.

    HubopsError
    ├── ConfigError          manifests, catalog or secrets files are invalid
    │                        (carries every Diagnostic of the run)
    ├── SecretsError         sops could not be run at all
    └── UsageError           a flag or argument that cannot work
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


class SecretsError(HubopsError):
    """The sops binary is missing or unusable; per-file failures are diagnostics instead."""


class ConfigError(HubopsError):
    """The desired state could not be loaded; holds every problem found, sorted."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics)
        errors = sum(1 for d in self.diagnostics if d.severity == "error")
        super().__init__(f"{errors} error(s) in the manifests")
