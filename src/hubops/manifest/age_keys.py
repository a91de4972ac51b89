"""The age identities sops would try, found where sops looks for them.

sops (3.9 to 3.11) reads every one of these and tries all identities found:
`SOPS_AGE_KEY` (the keys themselves), the file named by `SOPS_AGE_KEY_FILE`,
the output of `SOPS_AGE_KEY_CMD`, the SSH keys of `SOPS_AGE_SSH_PRIVATE_KEY_FILE`,
`~/.ssh/id_ed25519` and `~/.ssh/id_rsa`, and `sops/age/keys.txt` in the
user's configuration folder (`$XDG_CONFIG_HOME`, else `~/.config`). A source
that does not parse adds no identity at all, as in sops.

Only plain X25519 keys (`AGE-SECRET-KEY-1...`) are read here. Anything else
a source may hold or do (a command, an SSH key, a plugin, a
passphrase-protected key file, a remote key service, a line this reader does
not know) makes `find_keys` answer None, and the caller leaves every file to
the sops binary, which knows them all. Key material stays in memory.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pyrage

KEY_ENV = "SOPS_AGE_KEY"
KEY_FILE_ENV = "SOPS_AGE_KEY_FILE"

# Set, each of these means a key source or key service this module does not read.
BINARY_ONLY_ENV = (
    "SOPS_AGE_KEY_CMD",
    "SOPS_AGE_SSH_PRIVATE_KEY_FILE",
    "SOPS_AGE_SSH_PRIVATE_KEY_CMD",
    "SOPS_KEYSERVICE",
    "SOPS_ENABLE_LOCAL_KEYSERVICE",
)

_X25519_KEY = re.compile(r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}")
# sops reads at most this much of a key file; larger ones go to the binary.
_MAX_KEY_FILE = 1 << 20


@dataclass(frozen=True)
class AgeKeys:
    """Every identity sops would try; `ssh` when SSH keys may be among them.

    SSH identities cannot open the X25519 stanzas this module accepts, so they
    change nothing when a file opens, but when nothing opens sops' reason may
    differ: then the binary is asked.
    """

    identities: tuple[pyrage.x25519.Identity, ...]
    ssh: bool


class _Unsupported(Exception):
    """A source this module does not read; the binary must be used."""


def _parse(text: str) -> list[pyrage.x25519.Identity]:
    """The identities of one source, one key a line; blank lines and # comments skipped."""
    found = []
    for line in text.split("\n"):
        line = line.removesuffix("\r")
        if not line or line.startswith("#"):
            continue
        if not _X25519_KEY.fullmatch(line):
            # A plugin identity, several keys on one line (newer sops), or a typo:
            # which of these it is decides what sops does, so sops decides.
            raise _Unsupported
        try:
            found.append(pyrage.x25519.Identity.from_str(line))
        except pyrage.IdentityError:
            raise _Unsupported from None
    return found


def _read_key_file(path: Path) -> list[pyrage.x25519.Identity]:
    """The identities of a key file; none when it cannot be read (sops skips it too)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_KEY_FILE + 1)
    except OSError:
        return []
    if len(data) > _MAX_KEY_FILE or data.startswith((b"age-encryption", b"-----BEGIN AGE")):
        raise _Unsupported  # a passphrase-protected key file
    try:
        return _parse(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise _Unsupported from None


def _config_dir(environ: Mapping[str, str]) -> Path | None:
    """The folder sops takes for the user's configuration (Go's os.UserConfigDir)."""
    xdg = environ.get("XDG_CONFIG_HOME", "")
    home = environ.get("HOME", "")
    if sys.platform == "darwin":
        if xdg:
            return Path(xdg)
        return Path(home) / "Library" / "Application Support" if home else None
    if xdg:
        return Path(xdg) if os.path.isabs(xdg) else None
    return Path(home) / ".config" if home else None


def _ssh_keys_present(environ: Mapping[str, str]) -> bool:
    home = environ.get("HOME", "")
    return bool(home) and any(
        (Path(home) / ".ssh" / name).exists() for name in ("id_ed25519", "id_rsa")
    )


def find_keys(environ: Mapping[str, str] | None = None) -> AgeKeys | None:
    """The X25519 identities sops would use, or None to leave decryption to the binary."""
    env = os.environ if environ is None else environ
    if os.name != "posix" or any(name in env for name in BINARY_ONLY_ENV):
        return None
    identities: list[pyrage.x25519.Identity] = []
    try:
        if KEY_ENV in env:
            identities += _parse(env[KEY_ENV])
        if KEY_FILE_ENV in env:
            identities += _read_key_file(Path(env[KEY_FILE_ENV]))
        folder = _config_dir(env)
        if folder is not None:
            identities += _read_key_file(folder / "sops" / "age" / "keys.txt")
    except _Unsupported:
        return None
    return AgeKeys(tuple(identities), ssh=_ssh_keys_present(env))
