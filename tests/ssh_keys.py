"""OpenSSH key pairs made in tests (asyncssh generates them; nothing is read from ~/.ssh)."""

from __future__ import annotations

from functools import cache

import asyncssh


@cache
def key_pair(
    algorithm: str = "ssh-ed25519", bits: int | None = None, seed: int = 0
) -> asyncssh.SSHKey:
    """A private key; `seed` only tells several keys of one kind apart (each call is new)."""
    del seed
    if bits is not None:
        return asyncssh.generate_private_key(algorithm, key_size=bits)
    return asyncssh.generate_private_key(algorithm)


def public_line(key: asyncssh.SSHKey, comment: str = "tester@laptop") -> str:
    text: str = key.export_public_key("openssh").decode().strip()
    return f"{' '.join(text.split()[:2])} {comment}"
