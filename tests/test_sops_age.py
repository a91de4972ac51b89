"""In-process decryption gives what `sops --decrypt` gives, file for file.

Every test runs the real sops binary (forced with HUBOPS_SOPS) and the
default path on the same file and asserts the same outcome: the same data,
with the same types, or the same one-sentence refusal. Where the in-process
reader answers itself (it returns None to hand a file to the binary), its
answer must be that one too; ordinary files must not need the binary.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pyrage
import pytest
import yaml

from hubops.manifest import sops_age
from hubops.manifest.age_keys import find_keys
from hubops.manifest.secrets import DecryptFailure, decrypt, decrypt_many, sops_binary
from hubops.manifest.yamlio import CoreLoader
from sops_files import craft, dump, random_tree, sops_encrypt, with_comments

ISOLATING = (
    "SOPS_AGE_KEY",
    "SOPS_AGE_KEY_FILE",
    "SOPS_AGE_KEY_CMD",
    "SOPS_AGE_SSH_PRIVATE_KEY_FILE",
    "XDG_CONFIG_HOME",
    "HUBOPS_SOPS",
)


class Keys:
    """age identities and a clean environment: an empty HOME, keys only where a test puts them."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp = tmp_path
        self.monkeypatch = monkeypatch
        self.home = tmp_path / "home"
        self.home.mkdir()
        for name in ISOLATING:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HOME", str(self.home))
        self.identities = [pyrage.x25519.Identity.generate() for _ in range(3)]

    def recipient(self, index: int = 0) -> str:
        return str(self.identities[index].to_public())

    def use(self, *indexes: int) -> Path:
        """Point SOPS_AGE_KEY_FILE at a file holding these identities."""
        path = self.tmp / ("keys-" + "-".join(map(str, indexes)) + ".txt")
        path.write_text("".join(f"{self.identities[i]}\n" for i in indexes))
        self.monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(path))
        return path


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Keys:
    k = Keys(tmp_path, monkeypatch)
    k.use(0)
    return k


def typed(outcome: dict[str, Any] | DecryptFailure) -> str:
    """Outcomes compared with their types: 1, 1.0 and True are three different answers."""
    if isinstance(outcome, DecryptFailure):
        return f"refused: {outcome.reason}"
    return json.dumps(outcome, ensure_ascii=False)


def differential(path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Assert both ways agree; returns the in-process answer (None: it asked the binary)."""
    try:
        tree = yaml.load(path.read_text(), Loader=CoreLoader)  # for the recipients it names
    except yaml.YAMLError:
        tree = {}
    monkeypatch.setenv("HUBOPS_SOPS", sops_binary())
    by_binary = decrypt(path, tree)
    monkeypatch.delenv("HUBOPS_SOPS")
    assert typed(decrypt(path, tree)) == typed(by_binary)
    assert typed(decrypt_many({path: tree})[path]) == typed(by_binary)
    keys = find_keys()
    return sops_age.decrypt_file(path, keys) if keys is not None else None


def write(keys: Keys, name: str, content: bytes | str) -> Path:
    path = keys.tmp / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


VARIANTS: list[tuple[str, ...]] = [
    (),
    ("--unencrypted-suffix", "_plain"),
    ("--encrypted-suffix", "_secret"),
    ("--unencrypted-regex", "^(public|note)"),
    ("--encrypted-regex", "^(password|token|client)"),
    ("--mac-only-encrypted",),
    ("--mac-only-encrypted", "--unencrypted-suffix", "_plain"),
]


@pytest.mark.parametrize("seed", range(42))
def test_generated_files_decrypt_as_sops_decrypts_them(
    seed: int, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    flags = VARIANTS[seed % len(VARIANTS)]
    suffixes = ("_plain", "_unencrypted", "_secret", "_token")
    text = dump(random_tree(rng, suffixes=suffixes))
    if seed % 3 == 0:
        text = with_comments(text, rng)
    recipients = [keys.recipient(i) for i in range(1 + seed % 3)]
    keys.use(len(recipients) - 1)  # the last recipient's key only
    path = write(keys, "secrets.sops.yaml", sops_encrypt(text, recipients, *flags))
    outcome = differential(path, monkeypatch)
    assert outcome is not None or _needs_binary(path), path.read_text()


def _needs_binary(path: Path) -> bool:
    """Files sops wrote that are handed to the binary on purpose (see sops_age)."""
    text = path.read_text()
    # a comment inside a list is stored as a list item of type comment
    return ",type:comment]" in text and re.search(r"^\s*- ENC\[.*type:comment\]", text, re.M)


def test_values_of_every_type_nested_and_unicode(
    keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = {
        "text": "héllo ✓ 日本",
        "empty": "",
        "count": 42,
        "negative": -7,
        "ratio": 0.25,
        "whole": 3.0,
        "tiny": 1.0e-7,
        "huge": 1.0e22,
        "flag": True,
        "off": False,
        "nothing": None,
        "nested": {"deeper": {"list": [1, "two", 3.5, False, None, {"k": "v"}, []], "m": {}}},
    }
    path = write(keys, "s.sops.yaml", sops_encrypt(dump(plain), [keys.recipient()]))
    outcome = differential(path, monkeypatch)
    assert outcome == {**plain, "whole": 3, "nested": plain["nested"]}
    assert isinstance(outcome["whole"], int) and isinstance(outcome["huge"], float)


def test_comments_outside_lists_are_read_in_process(
    keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "# top\ntokens:\n  # the main one\n  main: hub_x  # inline\n  other: y\n# end\n"
    path = write(keys, "s.sops.yaml", sops_encrypt(text, [keys.recipient()]))
    assert "type:comment]" in path.read_text()
    assert differential(path, monkeypatch) == {"tokens": {"main": "hub_x", "other": "y"}}


def test_comment_in_a_list_goes_to_the_binary(keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(keys, "s.sops.yaml", sops_encrypt("l:\n  # c\n  - a\n", [keys.recipient()]))
    assert differential(path, monkeypatch) is None


def test_several_recipients_each_key_opens_it(keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    recipients = [keys.recipient(i) for i in range(3)]
    path = write(keys, "s.sops.yaml", sops_encrypt("a: b\n", recipients))
    for index in range(3):
        keys.use(index)
        assert differential(path, monkeypatch) == {"a": "b"}


def _sample(keys: Keys) -> Path:
    text = "alpha: one\nbeta: 2\ngamma:\n  delta: true\n  epsilon: [x, y]\nomega: last\n"
    return write(keys, "s.sops.yaml", sops_encrypt(text, [keys.recipient()]))


def _edit(path: Path, pattern: str, replace: Any) -> None:
    text = path.read_text()
    edited = re.sub(pattern, replace, text, count=1, flags=re.M)
    assert edited != text, pattern
    path.write_text(edited)


def _flip(match: re.Match[str]) -> str:
    data = match.group(1)
    flipped = ("B" if data[0] == "A" else "A") + data[1:]
    return match.group(0).replace(data, flipped, 1)


INTEGRITY = "refused: its integrity check failed (MAC mismatch)"


@pytest.mark.parametrize(
    "tamper",
    [
        "mac",
        "value",
        "swapped values",
        "reordered",
        "removed",
        "added clear value",
        "lastmodified",
        "empty mac",
    ],
)
def test_tampered_files_are_refused_alike(
    tamper: str, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _sample(keys)
    if tamper == "mac":
        _edit(path, r"mac: ENC\[AES256_GCM,data:([^,]+)", _flip)
    elif tamper == "value":
        _edit(path, r"beta: ENC\[AES256_GCM,data:([^,]+)", _flip)
    elif tamper == "swapped values":
        text = path.read_text()
        one = re.search(r"^alpha: (ENC\S+)$", text, re.M)
        last = re.search(r"^omega: (ENC\S+)$", text, re.M)
        assert one and last
        text = text.replace(one.group(1), "@@").replace(last.group(1), one.group(1))
        path.write_text(text.replace("@@", last.group(1)))
    elif tamper == "reordered":
        _edit(path, r"^(alpha: \S+\n)(beta: \S+\n)", lambda m: m.group(2) + m.group(1))
    elif tamper == "removed":
        _edit(path, r"^omega: \S+\n", "")
    elif tamper == "added clear value":
        _edit(path, r"^alpha:", "extra_unencrypted: sneaked\nalpha:")
    elif tamper == "lastmodified":
        _edit(path, r'lastmodified: "(\d{4})', lambda m: f'lastmodified: "{int(m.group(1)) - 1}')
    else:
        _edit(path, r"mac: ENC\[[^\]]+\]", 'mac: ""')
    outcome = differential(path, monkeypatch)
    assert outcome == sops_age.Refused("integrity")
    assert typed(decrypt(path, {})).startswith(INTEGRITY)


def test_wrong_key_gets_the_binarys_answer(keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _sample(keys)
    keys.use(1)
    assert differential(path, monkeypatch) is None
    tree = yaml.safe_load(path.read_text())
    failure = decrypt(path, tree)
    assert isinstance(failure, DecryptFailure)
    assert failure.reason.startswith("none of the available age keys is a recipient")


def test_no_key_at_all_is_refused_in_process(keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _sample(keys)
    monkeypatch.delenv("SOPS_AGE_KEY_FILE")
    assert differential(path, monkeypatch) == sops_age.Refused("no-key")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(keys.tmp / "missing.txt"))
    assert differential(path, monkeypatch) == sops_age.Refused("no-key")
    failure = decrypt(path, yaml.safe_load(path.read_text()))
    assert isinstance(failure, DecryptFailure) and failure.reason.startswith("no age key")


@pytest.mark.parametrize("where", ["SOPS_AGE_KEY", "XDG_CONFIG_HOME", "~/.config", "both"])
def test_keys_are_found_where_sops_finds_them(
    where: str, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _sample(keys)
    monkeypatch.delenv("SOPS_AGE_KEY_FILE")
    line = f"# a comment\n\n{keys.identities[0]}\n"
    if where in ("SOPS_AGE_KEY", "both"):
        monkeypatch.setenv(
            "SOPS_AGE_KEY", line if where == "SOPS_AGE_KEY" else f"{keys.identities[1]}"
        )
    if where in ("XDG_CONFIG_HOME", "both"):
        folder = keys.tmp / "xdg"
        monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
        (folder / "sops" / "age").mkdir(parents=True)
        (folder / "sops" / "age" / "keys.txt").write_text(line)
    if where == "~/.config":
        (keys.home / ".config" / "sops" / "age").mkdir(parents=True)
        (keys.home / ".config" / "sops" / "age" / "keys.txt").write_text(line)
    assert differential(path, monkeypatch) == {
        "alpha": "one",
        "beta": 2,
        "gamma": {"delta": True, "epsilon": ["x", "y"]},
        "omega": "last",
    }


@pytest.mark.parametrize(
    "setup",
    ["key command", "ssh key file", "ssh key at home", "unparsable key line", "plugin key"],
)
def test_key_sources_not_read_here_go_to_the_binary(
    setup: str, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _sample(keys)
    if setup == "key command":
        monkeypatch.setenv("SOPS_AGE_KEY_CMD", f"cat {keys.use(0)}")
        assert find_keys() is None
    elif setup == "ssh key file":
        monkeypatch.setenv("SOPS_AGE_SSH_PRIVATE_KEY_FILE", str(keys.tmp / "none"))
        assert find_keys() is None
    elif setup == "ssh key at home":
        monkeypatch.delenv("SOPS_AGE_KEY_FILE")
        (keys.home / ".ssh").mkdir()
        (keys.home / ".ssh" / "id_ed25519").write_text("not really a key\n")
    elif setup == "unparsable key line":
        keys.use(0).write_text(f"{keys.identities[0]}\nAGE-SECRET-KEY-1 typo\n")
        assert find_keys() is None
    else:
        keys.use(0).write_text(f"{keys.identities[0]}\nAGE-PLUGIN-YUBIKEY-1QQQQQQ\n")
        assert find_keys() is None
    assert differential(path, monkeypatch) is None


def _base(keys: Keys) -> bytes:
    return sops_encrypt("seed: x\n", [keys.recipient()])


@pytest.mark.parametrize(
    ("kind", "plain", "covered", "in_process"),
    [
        ("str", "unicode ✓".encode(), "unicode ✓".encode(), True),
        ("bytes", b"\x00\xffraw", b"\x00\xffraw", False),  # sops 3.11 crashes on bytes
        ("int", b"+007", b"7", True),
        ("int", b"-0", b"0", True),
        ("int", b"9223372036854775807", b"9223372036854775807", True),
        ("int", b"9223372036854775808", b"9223372036854775808", False),
        ("int", b"1_000", b"1000", False),
        ("float", b"1e5", b"100000", True),
        ("float", b"-0.0", b"-0", True),
        ("float", b".5", b"0.5", True),
        ("float", b"1e400", b"", False),
        ("float", b"0x1p-2", b"0.25", False),
        ("float", b"NaN", b"NaN", False),
        ("bool", b"t", b"True", True),
        ("bool", b"0", b"False", True),
        ("bool", b"yes", b"True", False),
        ("str", b"\xff\xfe broken utf-8", b"\xff\xfe broken utf-8", False),
        ("bytes", b"", b"", False),
        ("time", b"2024-01-01T00:00:00Z", b"2024-01-01T00:00:00Z", False),
        ("comment", b"a comment as a value", b"", False),
        ("unknown", b"x", b"x", False),
    ],
)
def test_hand_made_values_decrypt_as_sops_decrypts_them(
    kind: str,
    plain: bytes,
    covered: bytes,
    in_process: bool,
    keys: Keys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = craft(
        _base(keys), keys.identities[0], [("first", "str", b"a", b"a"), ("v", kind, plain, covered)]
    )
    path = write(keys, "s.sops.yaml", text)
    outcome = differential(path, monkeypatch)
    assert (outcome is not None) == in_process, outcome


def test_other_iv_sizes_go_to_the_binary(keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    text = craft(_base(keys), keys.identities[0], [("v", "str", b"x", b"x")], iv_size=12)
    path = write(keys, "s.sops.yaml", text)
    assert differential(path, monkeypatch) is None
    assert typed(decrypt(path, {})) == '{"v": "x"}'


def test_values_left_in_clear(keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "note_unencrypted: [1, -2, 0.5, 3.0, true, null, word, 'q', '0755', 'yes', '']\nk: s\n"
    path = write(keys, "s.sops.yaml", sops_encrypt(text, [keys.recipient()]))
    outcome = differential(path, monkeypatch)
    assert outcome == {
        "note_unencrypted": [1, -2, 0.5, 3, True, None, "word", "q", "0755", "yes", ""],
        "k": "s",
    }


def test_clear_values_sops_reads_differently_go_to_the_binary(
    keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(keys, "s.sops.yaml", sops_encrypt("mode_unencrypted: 493\n", [keys.recipient()]))
    _edit(path, r"mode_unencrypted: 493", "mode_unencrypted: 0755")  # octal to sops' parser
    assert differential(path, monkeypatch) is None
    assert typed(decrypt(path, {})) == '{"mode_unencrypted": 493}'


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: "copy: &a\n  k: v\nother: *a\n" + t,
        lambda t: "dup: 1\ndup: 2\n" + t,
        lambda t: t + "---\nsecond: document\n",
        lambda t: "when_unencrypted: 2024-01-01\n" + t,
        lambda t: "1: numeric key\n" + t,
        lambda t: t.replace("    lastmodified:", "    shamir_threshold: 1\n    lastmodified:"),
        lambda t: t.replace("    lastmodified:", "    hckms: []\n    lastmodified:"),
        lambda t: t.replace("    lastmodified:", "    encrypted_regex: ^a\n    lastmodified:"),
        lambda t: re.sub(r"lastmodified: .*", 'lastmodified: "yesterday"', t),
        lambda t: re.sub(r"(BEGIN AGE ENCRYPTED FILE-----\n\s+\S{64})\n\s+", r"\1", t, count=1),
    ],
)
def test_unusual_files_get_the_binarys_answer(
    edit: Any, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(keys, "s.sops.yaml", edit(_sample(keys).read_text()))
    assert differential(path, monkeypatch) is None


def test_empty_other_key_types_are_read_in_process(
    keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _sample(keys)
    _edit(path, r"    lastmodified:", "    pgp: []\n    kms: []\n    lastmodified:")
    assert differential(path, monkeypatch) is not None
