"""Generated sops files for the differential tests of in-process decryption.

`random_tree` makes seeded value trees (every YAML scalar type, nested maps
and lists, unicode, empty strings); `with_comments` adds comment lines;
`sops_encrypt` encrypts with the real sops binary through a pipe. `craft`
writes files sops itself would never write (other value types, odd
plaintexts, other IV sizes) under a real file's data key, for the cases only
a hand-made file reaches; the binary is the judge of what they mean.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import struct
import subprocess
from collections.abc import Sequence
from typing import Any

import pyrage
import yaml
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hubops.manifest.secrets import sops_binary

WORDS = [
    "alpha", "beta", "client_id", "secret-key", "Token", "x", "über", "ключ", "鍵", "_hidden",
    "with space", "dotted.name", "orders-to-pos", "password", "public_note", "token_secret",
]  # fmt: skip
TEXTS = [
    "", "plain", "hub_abc123", "whsec_c2VjcmV0", "multi\nline\ntext", "trailing space ",
    " leading", "quote'single", 'quote"double', "colon: inside", "hash # inside", "ünïcødé ✓",
    "日本語テキスト", "emoji 🚀", "tab\there", "yes", "no", "null", "123", "1.5", "0x1F",
    "2024-01-01", "~", "-", "{not: a map}", "[1, 2]", "\\backslash", "%percent", "@at", "*star",
]  # fmt: skip


def random_float(rng: random.Random) -> float:
    choice = rng.randrange(7)
    if choice == 0:
        return float(rng.randint(-(10**6), 10**6))
    if choice == 1:
        return rng.uniform(-1e6, 1e6)
    if choice == 2:
        return rng.random() * 10 ** rng.randint(-12, 25)
    if choice == 3:
        return rng.choice([0.0, -0.0, 0.1, 1e21, 1e-6, 1e-7, 123456789012345678901.0, 2.5e-300])
    while True:  # any finite double
        value: float = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if value == value and abs(value) != float("inf"):
            return value


def random_scalar(rng: random.Random) -> Any:
    kind = rng.randrange(6)
    if kind == 0:
        return rng.choice(TEXTS) + rng.choice(["", str(rng.randint(0, 99))])
    if kind == 1:
        return rng.choice([0, -1, 7, rng.randint(-(2**63), 2**63 - 1), rng.randint(-999, 999)])
    if kind == 2:
        return random_float(rng)
    if kind == 3:
        return rng.choice([True, False])
    if kind == 4:
        return None
    return "".join(rng.choice("abcXYZ019 -_.:ßé中") for _ in range(rng.randint(0, 12)))


def random_value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth < 3 and roll < 0.2:
        return random_tree(rng, depth + 1)
    if depth < 3 and roll < 0.3:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return random_scalar(rng)


def random_tree(rng: random.Random, depth: int = 0, suffixes: Sequence[str] = ()) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for _ in range(rng.randint(1 if depth else 2, 6)):
        key = rng.choice(WORDS) + rng.choice(["", str(rng.randint(0, 9))])
        if suffixes and rng.random() < 0.3:
            key += rng.choice(suffixes)
        tree[key] = random_value(rng, depth)
    return tree


def dump(tree: dict[str, Any]) -> str:
    return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False, width=2**30)


def with_comments(text: str, rng: random.Random) -> str:
    """`text` with full-line comments added wherever they leave the document unchanged."""
    expected = yaml.safe_load(text)
    lines = text.splitlines(keepends=True)
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(lines))
        candidate = [*lines[:at], f"# note {rng.choice(TEXTS)!r}\n", *lines[at:]]
        try:
            if yaml.safe_load("".join(candidate)) == expected:
                lines = candidate
        except yaml.YAMLError:
            pass
    return "".join(lines)


SOPS_YAML = ("--input-type", "yaml", "--output-type", "yaml")


def sops_encrypt(plaintext: str, recipients: Sequence[str], *flags: str) -> bytes:
    """The plaintext goes to sops through a pipe only."""
    proc = subprocess.run(
        [
            sops_binary(),
            "--config",  # the recipients are given: no .sops.yaml above the cwd applies
            os.devnull,
            "--encrypt",
            "--age",
            ",".join(recipients),
            *flags,
            *SOPS_YAML,
            "/dev/stdin",
        ],
        input=plaintext.encode(),
        capture_output=True,
        check=False,
        env={**os.environ, "SOPS_AGE_KEY_FILE": os.devnull},
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


def encrypted_value(data_key: bytes, plain: bytes, aad: str, kind: str, iv_size: int = 32) -> str:
    iv = os.urandom(iv_size)
    sealed = AESGCM(data_key).encrypt(iv, plain, aad.encode())
    data, tag = sealed[:-16], sealed[-16:]
    encode = base64.b64encode
    return (
        f"ENC[AES256_GCM,data:{encode(data).decode()},iv:{encode(iv).decode()},"
        f"tag:{encode(tag).decode()},type:{kind}]"
    )


def craft(
    base: bytes,
    identity: pyrage.x25519.Identity,
    values: Sequence[tuple[str, str, bytes, bytes]],
    iv_size: int = 32,
) -> str:
    """A flat sops file of (key, type, plaintext, bytes the MAC covers) under `base`'s data key."""
    meta = yaml.safe_load(base)["sops"]
    data_key = pyrage.decrypt(meta["age"][0]["enc"].encode(), [identity])
    mac = hashlib.sha512()
    lines = []
    for key, kind, plain, covered in values:
        lines.append(f"{key}: {encrypted_value(data_key, plain, f'{key}:', kind, iv_size)}\n")
        mac.update(covered)
    meta["mac"] = encrypted_value(
        data_key, mac.hexdigest().upper().encode(), meta["lastmodified"], "str"
    )
    return "".join(lines) + yaml.safe_dump({"sops": meta}, sort_keys=False)
