"""The SFTP server's host key: generated on first start and kept, like the master key.

Clients pin the host key on first connection, so it must not change across
restarts: it is kept (0600) beside the database, or read from the file that
HUBOPS_SFTP_HOST_KEY names. O_EXCL keeps two runtimes starting at once from
each keeping a different key.
"""

from __future__ import annotations

import os
from pathlib import Path

import asyncssh

from hubops.runtime.settings import SFTP_HOST_KEY_ENV, RuntimeConfigError, RuntimeSettings


def load_host_key(settings: RuntimeSettings) -> asyncssh.SSHKey:
    path = settings.host_key_file()
    if settings.sftp_host_key_file is not None or path.exists():
        return _read(path, given=settings.sftp_host_key_file is not None)
    key = asyncssh.generate_private_key("ssh-ed25519")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path, given=False)
    except OSError as exc:
        raise RuntimeConfigError(
            f"cannot keep a generated SFTP host key at {path} ({exc.strerror}); make the "
            f"folder writable or set {SFTP_HOST_KEY_ENV} to a key file"
        ) from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.export_private_key())
    return key


def _read(path: Path, given: bool) -> asyncssh.SSHKey:
    where = f"{SFTP_HOST_KEY_ENV} ({path})" if given else str(path)
    try:
        return asyncssh.read_private_key(str(path))
    except FileNotFoundError:
        raise RuntimeConfigError(
            f"{where} does not exist; point it at an OpenSSH private key file "
            "(e.g. made with ssh-keygen -t ed25519 -N '')"
        ) from None
    except (OSError, asyncssh.KeyImportError, ValueError):
        raise RuntimeConfigError(
            f"{where} is not a readable unencrypted OpenSSH private key; make one with "
            "ssh-keygen -t ed25519 -N ''"
        ) from None
