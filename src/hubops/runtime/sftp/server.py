"""The SFTP server: asyncssh, public keys of SftpUser resources, the virtual catalog tree.

* Authentication: public keys only (no passwords, no keyboard-interactive).
  The login is `TENANT.NAME`; the key must be one of `sftp-user/NAME`'s
  `publicKeys` as applied now, read from the database at each login.
* Only the SFTP subsystem: with an `sftp_factory` and no session factory,
  asyncssh refuses shells, exec (SCP too) and other subsystems; port, X11
  and agent forwarding are refused by the server object and options.
* Every few seconds each open connection's user is checked again: a key
  removed from the manifests (or a deleted user) ends its sessions, and a
  change of stores takes effect.
* A file written to `/catalog/<store>/` or `.../update/` becomes an upload
  (source `sftp`) when the client closes it; it waits in the spool while it
  is processed, then lands in `processed/`, with `<name>.errors.csv` beside
  it for a failed or partial upload. Files over 20 MiB are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh
from sqlalchemy import Engine, select

from hubops.manifest.ssh_keys import key_identity
from hubops.runtime.catalog import uploads
from hubops.runtime.catalog.errorfile import error_csv
from hubops.runtime.catalog.models import Upload
from hubops.runtime.catalog.parse import CSV_TYPE, JSON_TYPE, MAX_FILE_BYTES
from hubops.runtime.catalog.processor import UploadProcessor
from hubops.runtime.db import reading
from hubops.runtime.sftp import tree
from hubops.runtime.tables import resources, tenants

log = logging.getLogger("hubops.sftp")

RECHECK_SECONDS = 1.0


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
        tenant_id = conn.execute(select(tenants.c.id).where(tenants.c.name == tenant)).scalar()
        if tenant_id is None:
            return None
        rows = conn.execute(
            select(resources.c.address, resources.c.body).where(
                resources.c.tenant_id == tenant_id,
                resources.c.kind.in_(("store", "sftp-user")),
            )
        ).all()
    stores = {r.address.removeprefix("store/") for r in rows if r.address.startswith("store/")}
    body = next((r.body for r in rows if r.address == f"sftp-user/{user}"), None)
    if body is None or identity not in body.get("publicKeys", []):
        return None
    allowed = stores if body.get("stores") is None else stores & set(body["stores"])
    return Login(tenant, int(tenant_id), user, frozenset(allowed))


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


@dataclass
class _Written:
    path: Path
    place: tree.Place
    size: int = 0
    too_large: bool = False


def _sftp_error(exc: tree.Refused) -> asyncssh.SFTPError:
    if exc.missing:
        return asyncssh.SFTPNoSuchFile(str(exc))
    return asyncssh.SFTPPermissionDenied(str(exc))


class CatalogSFTP(asyncssh.SFTPServer):
    """The virtual tree of one session (see `tree`), backed by the tenant's folder."""

    def __init__(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:
        owner = chan.get_connection().get_owner()
        assert isinstance(owner, Connection) and owner.login is not None
        self.owner = owner
        self.service = owner.service
        self._root = self.service.tenant_root(owner.login.tenant)
        self._root_bytes = os.fsencode(str(self._root))
        self._written: dict[int, _Written] = {}
        super().__init__(chan)

    @property
    def _login(self) -> Login:
        login = self.owner.login
        if login is None:
            raise asyncssh.SFTPPermissionDenied("not logged in")
        return login

    def _place(self, path: bytes) -> tree.Place:
        try:
            return tree.place(os.fsdecode(path), self._login.stores)
        except tree.Refused as exc:
            raise _sftp_error(exc) from None

    def map_path(self, path: bytes) -> bytes:
        return os.fsencode(str(tree.local(self._root, self._place(path))))

    def reverse_map_path(self, path: bytes) -> bytes:
        if path == self._root_bytes:
            return b"/"
        if path.startswith(self._root_bytes + b"/"):
            return path[len(self._root_bytes) :]
        raise asyncssh.SFTPNoSuchFile("no such file")

    async def scandir(self, path: bytes) -> Any:
        where = self._place(path)
        if not where.is_dir:
            raise asyncssh.SFTPNoSuchFile("not a folder")
        visible = self._login.stores
        async for entry in super().scandir(path):
            if (
                where.parts == ("catalog",)
                and entry.filename not in (b".", b"..")
                and (os.fsdecode(entry.filename) not in visible)
            ):
                continue
            yield entry

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        where = self._place(path)
        writes = bool(pflags & (asyncssh.FXF_WRITE | asyncssh.FXF_APPEND | asyncssh.FXF_CREAT))
        if where.is_dir:
            raise asyncssh.SFTPPermissionDenied("that is a folder")
        if writes and where.upload_mode is None:
            raise asyncssh.SFTPPermissionDenied(
                "processed/ is read-only; write files to /catalog/<store>/ or .../update/"
            )
        local = tree.local(self._root, where)
        if local.is_symlink():
            raise asyncssh.SFTPPermissionDenied("links are not followed")
        file_obj = super().open(path, pflags, attrs)
        if writes:
            self._written[id(file_obj)] = _Written(local, where)
        return file_obj

    def write(self, file_obj: object, offset: int, data: bytes) -> int:
        written = self._written.get(id(file_obj))
        if written is not None:
            end = offset + len(data)
            if end > MAX_FILE_BYTES or written.too_large:
                written.too_large = True
                raise asyncssh.SFTPFailure(
                    "a catalog file is at most 20 MiB; split it and put the parts in update/"
                )
            written.size = max(written.size, end)
        result: int = super().write(file_obj, offset, data)  # type: ignore[assignment]
        return result

    async def close(self, file_obj: object) -> None:
        super().close(file_obj)
        written = self._written.pop(id(file_obj), None)
        if written is None:
            return
        if written.too_large:
            written.path.unlink(missing_ok=True)
            return
        await self._take(written)

    async def _take(self, written: _Written) -> None:
        """Turn a closed file into an upload; it waits in the spool until processed."""
        login, where = self._login, written.place
        assert where.store is not None and where.name is not None
        mode = where.upload_mode
        assert mode in ("replace", "update")
        kind = JSON_TYPE if where.name.lower().endswith(".json") else CSV_TYPE
        job, _row = await asyncio.to_thread(
            uploads.create,
            self.service.engine,
            login.tenant_id,
            where.store,
            "sftp",
            where.name,
            kind,
            mode,  # type: ignore[arg-type]
        )
        self.service.spool.mkdir(parents=True, exist_ok=True)
        spooled = self.service.spool / job.id
        os.replace(written.path, spooled)
        processed = self._root / "catalog" / where.store / "processed"
        engine = self.service.engine

        def done(outcome: Upload | None) -> None:
            processed.mkdir(parents=True, exist_ok=True)
            os.replace(spooled, processed / where.name)  # type: ignore[operator]
            errors = processed / f"{where.name}.errors.csv"
            if outcome is not None and outcome.status in ("failed", "partial"):
                with errors.open("wb") as handle:
                    for chunk in error_csv(engine, job.seq):
                        handle.write(chunk)
            else:
                errors.unlink(missing_ok=True)

        self.service.uploads.submit(job, spooled, done)

    # Nothing but files in the tree: no folders, links, renames or attribute changes.

    def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        raise asyncssh.SFTPPermissionDenied("folders cannot be made here")

    def rmdir(self, path: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied("folders cannot be removed here")

    def rename(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied("files cannot be renamed here")

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied("files cannot be renamed here")

    def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied("links cannot be made here")

    def link(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied("links cannot be made here")

    def readlink(self, path: bytes) -> bytes:
        raise asyncssh.SFTPNoSuchFile("there are no links here")

    def setstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        self._place(path)  # accepted and ignored, so `put -p` works

    def lsetstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        self._place(path)

    def fsetstat(self, file_obj: object, attrs: asyncssh.SFTPAttrs) -> None:
        return None

    def remove(self, path: bytes) -> None:
        where = self._place(path)
        if where.is_dir:
            raise asyncssh.SFTPPermissionDenied("that is a folder")
        super().remove(path)


class SftpServer:
    """Started and stopped with a served runtime (its lifespan)."""

    def __init__(
        self,
        engine: Engine,
        uploads: UploadProcessor,
        root: Path,
        host_key: asyncssh.SSHKey,
        host: str,
        port: int,
    ) -> None:
        self.service = Service(engine, uploads, root)
        self.host_key = host_key
        self.host, self.port = host, port
        self._server: asyncssh.SSHAcceptor | None = None
        self._recheck: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.service.root.mkdir(parents=True, exist_ok=True)
        self._server = await asyncssh.create_server(
            lambda: Connection(self.service),
            self.host,
            self.port,
            server_host_keys=[self.host_key],
            sftp_factory=CatalogSFTP,
            allow_scp=False,
            agent_forwarding=False,
            x11_forwarding=False,
            login_timeout=30,
        )
        self._recheck = asyncio.create_task(self._recheck_forever())

    async def _recheck_forever(self) -> None:
        while True:
            await asyncio.sleep(RECHECK_SECONDS)
            for connection in list(self.service.connections):
                try:
                    await connection.recheck()
                except Exception as exc:  # the database may be away for a moment
                    log.warning("sftp: recheck failed: %s", type(exc).__name__)

    async def stop(self) -> None:
        if self._recheck is not None:
            self._recheck.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recheck
        if self._server is not None:
            self._server.close()
            for connection in list(self.service.connections):
                connection.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
