"""The sops adapter: secrets files are decrypted in memory only, exactly as `sops` would.

sops keeps keys in clear and encrypts values, so a secrets file's structure
(which tokens, webhooks and credentials it holds, and where) is read
without any key; only the values need decrypting. Files encrypted to age
keys only are decrypted in-process (`sops_age`, which answers only where its
answer is the binary's); every other file, key setup or doubt goes to the
real `sops` binary, and so does everything when HUBOPS_SOPS names one.
Before sops is run, the file is checked to be fully encrypted (every value a
complete `ENC[AES256_GCM,…]`): sops echoes an unencrypted value in its error
message, and a secret must never reach our output that way. sops' stderr is
mapped to one of a few known sentences, never passed through or quoted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubops.errors import SecretsError
from hubops.manifest.age_keys import AgeKeys, find_keys

SOPS_KEY_TYPES = ("age", "pgp", "kms", "gcp_kms", "azure_kv", "hc_vault")
# A complete value as sops writes it; anything else (even text starting with "ENC[") is clear.
_B64 = "[A-Za-z0-9+/]+={0,2}"
SOPS_VALUE = re.compile(
    rf"ENC\[AES256_GCM,data:(?:{_B64})?,iv:{_B64},tag:{_B64},"
    r"type:(?:str|int|float|bool|bytes|comment)\]"
)


class Secret:
    """A secret value that cannot leak through repr, str or logging by accident."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def sops_binary() -> str:
    """The sops that `pip install hubops` put beside the interpreter, else the one on PATH."""
    override = os.environ.get("HUBOPS_SOPS")
    if override:
        return override
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / ("sops.exe" if os.name == "nt" else "sops")
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("sops")
    if found is None:
        raise SecretsError(
            "the sops binary was not found; install hubops with pip (it brings sops) "
            "or put sops on PATH"
        )
    return found


def _leaves(tree: Any) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """(path, value) of every scalar of a parsed YAML tree; iterative, so depth costs no stack."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), tree)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, Mapping):
            stack.extend(((*path, str(k)), v) for k, v in reversed(list(node.items())))
        elif isinstance(node, list):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(node))))
        else:
            yield path, node


def recipients(tree: Mapping[str, Any]) -> list[str]:
    meta = tree.get("sops")
    if not isinstance(meta, Mapping):
        return []
    return [str(r.get("recipient")) for r in meta.get("age") or [] if isinstance(r, Mapping)]


def encryption_problem(tree: Any) -> tuple[tuple[str | int, ...], str] | None:
    """Why a parsed secrets file is not a complete sops file: (field path, reason), or None."""
    if not isinstance(tree, Mapping) or not isinstance(tree.get("sops"), Mapping):
        return (), (
            "is not encrypted with sops (plaintext secrets must never be committed); "
            "encrypt it in place with `sops encrypt --in-place FILE` using the recipients "
            "of your .sops.yaml, and rotate any value that was already pushed"
        )
    meta = tree["sops"]
    if not meta.get("mac") or not any(meta.get(k) for k in SOPS_KEY_TYPES):
        return ("sops",), (
            "has incomplete sops metadata (no MAC or no recipients); re-create it with `sops edit`"
        )
    for path, value in _leaves({k: v for k, v in tree.items() if k != "sops"}):
        if not (isinstance(value, str) and SOPS_VALUE.fullmatch(value)):
            return path, (
                "has a value that is not encrypted (added after encryption?); "
                "edit secrets only with `sops edit FILE` and rotate that value"
            )
    return None


@dataclass(frozen=True)
class DecryptFailure:
    reason: str


def refusal(reason: str, file_recipients: Iterable[str]) -> str:
    """The one sentence for each way sops refuses a file, wherever the refusal was decided."""
    wanted = ", ".join(file_recipients) or "none listed"
    if reason == "wrong-key":
        return (
            "none of the available age keys is a recipient of this file "
            f"(recipients: {wanted}); use the right key, or have a recipient add yours "
            "with `sops updatekeys`"
        )
    if reason == "no-key":
        return (
            "no age key is available to decrypt it; set SOPS_AGE_KEY_FILE (or SOPS_AGE_KEY) "
            f"to the key of one of its recipients ({wanted})"
        )
    return (
        "its integrity check failed (MAC mismatch): the file was changed outside sops "
        "or is corrupt; restore it from git or re-create it with `sops edit`"
    )


def _summarise(stderr: str, file_recipients: Iterable[str]) -> str:
    text = " ".join(stderr.split())
    if "did not match any of the recipients" in text or "no identity matched" in text:
        return refusal("wrong-key", file_recipients)
    if "failed to load age identities" in text or "Did not find keys" in text:
        return refusal("no-key", file_recipients)
    if "MAC mismatch" in text or "message authentication failed" in text:
        return refusal("integrity", file_recipients)
    # Anything else is not quoted: sops' messages may repeat a value of the file.
    return (
        "sops could not decrypt it, for a reason hubops does not recognise; run "
        "`sops decrypt FILE` yourself to see sops' own message"
    )


def _age_keys() -> AgeKeys | None:
    """The keys for in-process decryption; None leaves every file to the binary."""
    return None if os.environ.get("HUBOPS_SOPS") else find_keys()


def _in_process(
    path: Path, tree: Mapping[str, Any], keys: AgeKeys
) -> dict[str, Any] | DecryptFailure | None:
    # Loaded on first use: pyrage and cryptography are needed only when a file is decrypted.
    from hubops.manifest import sops_age

    outcome = sops_age.decrypt_file(path, keys)
    if isinstance(outcome, sops_age.Refused):
        return DecryptFailure(refusal(outcome.reason, recipients(tree)))
    return outcome


def decrypt(path: Path, tree: Mapping[str, Any]) -> dict[str, Any] | DecryptFailure:
    """Decrypt one checked sops file, in-process if it can be, else with the binary."""
    keys = _age_keys()
    outcome = _in_process(path, tree, keys) if keys is not None else None
    return outcome if outcome is not None else _with_binary(path, tree)


def _with_binary(path: Path, tree: Mapping[str, Any]) -> dict[str, Any] | DecryptFailure:
    """Decrypt with the sops binary; plaintext goes from sops' stdout straight into memory."""
    try:
        proc = subprocess.run(
            [
                sops_binary(),
                "--decrypt",
                "--input-type",
                "yaml",
                "--output-type",
                "json",
                str(path),
            ],
            # One OS thread per short-lived sops process: the pool gives the parallelism
            # (measured about 5 % faster than Go's default on 2 cores).
            env={**os.environ, "GOMAXPROCS": os.environ.get("GOMAXPROCS", "1")},
            capture_output=True,
            check=False,
            timeout=60,
        )
    except OSError as exc:
        raise SecretsError(f"could not run sops: {exc.strerror}") from None
    except subprocess.TimeoutExpired:
        return DecryptFailure("sops did not finish within 60 seconds (is a key agent waiting?)")
    if proc.returncode != 0:
        return DecryptFailure(_summarise(proc.stderr.decode(errors="replace"), recipients(tree)))
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        return DecryptFailure("sops printed something that is not JSON")
    if not isinstance(data, dict):
        return DecryptFailure("it does not hold a mapping at the top level")
    return data


def encrypt(plaintext: bytes, recipients: Sequence[str]) -> bytes:
    """Encrypt a YAML document to age recipients; for tooling and tests, never for output.

    The recipients are given, so no `.sops.yaml` is read: one found above the working
    directory would otherwise refuse the document for matching none of its rules.
    """
    proc = subprocess.run(
        [
            sops_binary(),
            "--config",
            os.devnull,
            "encrypt",
            "--age",
            ",".join(recipients),
            "--input-type",
            "yaml",
            "--output-type",
            "yaml",
            "/dev/stdin",
        ],
        input=plaintext,
        capture_output=True,
        check=False,
        timeout=60,
    )
    if proc.returncode != 0:
        raise SecretsError(
            f"sops could not encrypt: {_summarise(proc.stderr.decode(), recipients)}"
        )
    return proc.stdout


def decrypt_many(
    files: Mapping[Path, Mapping[str, Any]],
) -> dict[Path, dict[str, Any] | DecryptFailure]:
    """In-process where possible; each sops call is a process of its own, so a few run at once."""
    keys = _age_keys()
    done: dict[Path, dict[str, Any] | DecryptFailure] = {}
    for path, tree in files.items():
        outcome = _in_process(path, tree, keys) if keys is not None else None
        if outcome is not None:
            done[path] = outcome
    rest = [(path, tree) for path, tree in files.items() if path not in done]
    if rest:
        workers = min(len(rest), max(2, os.cpu_count() or 1), 16)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sops") as pool:
            done.update(pool.map(lambda item: (item[0], _with_binary(*item)), rest))
    return {path: done[path] for path in files}
