"""The catalog tree of one SFTP session, backed by the tenant's folder (see `tree`).

Only files, in the places `tree` allows: no folders, links, renames or
attribute changes. A file written to `/catalog/<store>/` or `.../update/`
becomes an upload (source `sftp`) when the client closes it; it waits in
the spool while it is processed, then lands in `processed/`, with
`<name>.errors.csv` beside it for a failed or partial upload. Files over
20 MiB are refused.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh

from hubops.runtime.catalog import uploads
from hubops.runtime.catalog.errorfile import error_csv
from hubops.runtime.catalog.models import Upload
from hubops.runtime.catalog.parse import CSV_TYPE, JSON_TYPE, MAX_FILE_BYTES
from hubops.runtime.catalog.uploads import NewUpload
from hubops.runtime.sftp import tree
from hubops.runtime.sftp.sessions import Connection, Login


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
        upload = NewUpload(login.tenant_id, where.store, "sftp", where.name, kind, mode)  # type: ignore[arg-type]
        job, _row = await asyncio.to_thread(uploads.create, self.service.engine, upload)
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
