"""Keys of the runtime and how secrets are kept at rest.

One master key is the root; purpose keys are derived from it with
HKDF-SHA256 so that handing out the fingerprint key (to admin-token
holders, for planning) reveals nothing about the encryption key. Secrets
that the runtime must use again (partner credentials, webhook signing
secrets) are sealed with AES-256-GCM; the associated data binds each
ciphertext to its tenant and secret address, so a row copied to another
tenant or field fails to open instead of leaking. API tokens are only ever
compared, so only their SHA-256 is kept.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Engine, select

from hubops.runtime.settings import MASTER_KEY_BYTES, RuntimeConfigError, RuntimeSettings
from hubops.runtime.tables import secret_values, tenants
from hubops.state import secret_address

FINGERPRINT_INFO = b"hubops fingerprint key"
ENCRYPTION_INFO = b"hubops secrets encryption key"
NONCE_BYTES = 12


def derive(master_key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master_key)


@dataclass(frozen=True)
class Keys:
    fingerprint_key: bytes = field(repr=False)
    encryption_key: bytes = field(repr=False)

    @classmethod
    def from_master(cls, master_key: bytes) -> Keys:
        return cls(derive(master_key, FINGERPRINT_INFO), derive(master_key, ENCRYPTION_INFO))


def load_master_key(settings: RuntimeSettings) -> bytes:
    """The configured key, else the kept one, else a new one kept for next time."""
    if settings.master_key is not None:
        return settings.master_key
    path = settings.key_file()
    if path.exists():
        return _read_key_file(path)
    key = secrets.token_bytes(MASTER_KEY_BYTES)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two runtimes starting together must not each keep a different key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(path)
    except OSError as exc:
        raise RuntimeConfigError(
            f"cannot keep a generated master key at {path} ({exc.strerror}); make the folder "
            "writable or set HUBOPS_MASTER_KEY"
        ) from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def _read_key_file(path: Path) -> bytes:
    key = path.read_bytes()
    if len(key) != MASTER_KEY_BYTES:
        raise RuntimeConfigError(
            f"{path} does not hold a {MASTER_KEY_BYTES}-byte master key; restore it from a "
            "backup (secrets stored under it cannot be read without it)."
        )
    return key


def _aad(tenant: str, secret_address: str) -> bytes:
    return f"{tenant}\0{secret_address}".encode()


def seal(key: bytes, tenant: str, secret_address: str, value: str) -> bytes:
    """nonce || ciphertext+tag of `value`, bound to its tenant and address."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, value.encode(), _aad(tenant, secret_address))


def unseal(key: bytes, tenant: str, secret_address: str, sealed: bytes) -> str:
    nonce, ciphertext = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
    return AESGCM(key).decrypt(nonce, ciphertext, _aad(tenant, secret_address)).decode()


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def check_key_opens(engine: Engine, keys: Keys) -> None:
    """Refuse to run with a master key that does not open the secrets already stored.

    A lost key file is otherwise replaced by a new key without a word, and
    every stored credential and signing secret silently becomes unusable
    while plans still report "No changes."
    """
    with engine.connect() as conn:
        row = conn.execute(
            select(
                tenants.c.name,
                secret_values.c.address,
                secret_values.c.path,
                secret_values.c.sealed,
            )
            .join(tenants, tenants.c.id == secret_values.c.tenant_id)
            .limit(1)
        ).first()
    if row is None:
        return
    try:
        unseal(keys.encryption_key, row.name, secret_address(row.address, row.path), row.sealed)
    except Exception:
        raise RuntimeConfigError(
            "the master key does not open the secrets this database already holds (was the "
            "master.key file lost or HUBOPS_MASTER_KEY changed?); start the runtime with the "
            "original key"
        ) from None
