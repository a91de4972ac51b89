"""The runtime's two HTTP APIs, told apart by path prefix where a rule differs between them."""

from __future__ import annotations

PARTNER_PREFIX = "/v1/"  # what partners call with a tenant's ApiToken
ADMIN_PREFIX = "/admin/"  # what plan and apply call with an admin token
