"""The SFTP server for catalog files: asyncssh in the runtime process (`serve --sftp-port`).

* Logins are public keys of SftpUser resources (`sessions`), checked at
  login and again every `RECHECK_SECONDS`.
* Only the SFTP subsystem: with an `sftp_factory` and no session factory,
  asyncssh refuses shells, exec (SCP too) and other subsystems; port, X11
  and agent forwarding are refused by the server object and options.
* What a session sees and what a written file becomes is `files`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import asyncssh
from sqlalchemy import Engine

from hubops.runtime.catalog.processor import UploadProcessor
from hubops.runtime.sftp.files import CatalogSFTP
from hubops.runtime.sftp.sessions import Connection, Service

log = logging.getLogger("hubops.sftp")

RECHECK_SECONDS = 1.0


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
