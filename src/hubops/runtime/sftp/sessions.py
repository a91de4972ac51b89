"""Who is logged in over SFTP: public keys of SftpUser resources, checked at login and again.

* Authentication: public keys only (no passwords, no keyboard-interactive).
  The login is `TENANT.NAME`; the key must be one of `sftp-user/NAME`'s
  `publicKeys` as applied now, read from the database at each login
  (`lookup`).
* Every few seconds each open connection's user is checked again
  (`Connection.recheck`, driven by the server): a key removed from the
  manifests (or a deleted user) ends its sessions, and a change of stores
  takes effect.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
from sqlalchemy import Engine, select

from hubops.manifest.ssh_keys import key_identity
from hubops.runtime.catalog.processor import UploadProcessor
from hubops.runtime.db import reading
from hubops.runtime.lookups import tenant_id
from hubops.runtime.sftp import tree
from hubops.runtime.tables import resources

log = logging.getLogger("hubops.sftp")


@dataclass(frozen=True)
class Login:
    tenant: str
    tenant_id: int
    user: str
    stores: frozenset[str]


def lookup(engine: Engine, username: str, identity: str) -> Login | None:
    """The login of `TENANT.NAME` with this key, if the key is one of the user's keys now."""
    tenant, dot, user = username.partition(".")
    if not dot or not tenant or not user:
        return None
    with reading(engine) as conn:
        found = tenant_id(conn, tenant)
        if found is None:
            return None
        rows = conn.execute(
            select(resources.c.address, resources.c.body).where(
                resources.c.tenant_id == found,
                resources.c.kind.in_(("store", "sftp-user")),
            )
        ).all()
    stores = {r.address.removeprefix("store/") for r in rows if r.address.startswith("store/")}
    body = next((r.body for r in rows if r.address == f"sftp-user/{user}"), None)
    if body is None or identity not in body.get("publicKeys", []):
        return None
    allowed = stores if body.get("stores") is None else stores & set(body["stores"])
    return Login(tenant, found, user, frozenset(allowed))


@dataclass
class Service:
    """Everything the SSH and SFTP objects of every connection share."""

    engine: Engine
    uploads: UploadProcessor
    root: Path
    connections: set[Connection] = field(default_factory=set)

    def tenant_root(self, tenant: str) -> Path:
        return self.root / tenant

    @property
    def spool(self) -> Path:
        return self.root / ".spool"


class Connection(asyncssh.SSHServer):
    """One client connection: authentication and the user it logged in as."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.login: Login | None = None
        self.identity: str | None = None
        self.username = ""
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self.service.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.service.connections.discard(self)

    def begin_auth(self, username: str) -> bool:
        self.username = username
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        identity = key_identity(key.export_public_key("openssh").decode())
        found = await asyncio.to_thread(lookup, self.service.engine, username, identity)
        if found is None:
            log.info("sftp: refused a key for %s", username[:100])
            return False
        self.login, self.identity = found, identity
        await asyncio.to_thread(
            tree.ensure_tree, self.service.tenant_root(found.tenant), found.stores
        )
        return True

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    async def recheck(self) -> None:
        if self.login is None or self.identity is None:
            return
        found = await asyncio.to_thread(lookup, self.service.engine, self.username, self.identity)
        if found is None:
            log.info("sftp: %s lost its key or user; ending its sessions", self.username[:100])
            self.close()
        elif found.stores != self.login.stores:
            await asyncio.to_thread(
                tree.ensure_tree, self.service.tenant_root(found.tenant), found.stores
            )
            self.login = found
