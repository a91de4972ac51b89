"""OpenSSH public key lines, as SftpUser manifests list them: what is allowed, and identity.

Keys are parsed with `cryptography` (already a dependency), offline. Allowed:
ed25519, ECDSA (NIST P-256/384/521) and RSA of at least 3072 bits; DSA and
shorter RSA keys are refused. A key's identity is its `type base64` part,
so a changed comment is not a changed key. The SFTP server matches keys by
the same identity.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_ssh_public_key

MIN_RSA_BITS = 3072


def key_identity(line: str) -> str:
    """`type base64` of a key line (its comment dropped)."""
    parts = line.split()
    return " ".join(parts[:2])


def key_problem(line: str) -> str | None:
    """Why a public key line is refused, or None; never echoes the key."""
    try:
        key = load_ssh_public_key(key_identity(line).encode())
    except (ValueError, TypeError):
        return (
            "is not a readable OpenSSH public key; paste the whole line of the .pub file "
            "(e.g. ssh-ed25519 AAAA... user@host)"
        )
    except Exception:  # an unsupported key type the library does not know
        return "is not a supported public key; use ed25519, ecdsa or rsa (3072 bits or more)"
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        return (
            f"is an RSA key of {key.key_size} bits; RSA keys need at least {MIN_RSA_BITS} bits "
            "(or use ed25519)"
        )
    if not isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        return "is not a supported public key; use ed25519, ecdsa or rsa (3072 bits or more)"
    return None
