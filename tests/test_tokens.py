"""Token and webhook-secret formats: minted values pass, any single typo is caught offline."""

from __future__ import annotations

import base64
import random
import re

from hubops.tokens import (
    BASE62,
    new_token,
    new_webhook_secret,
    token_problem,
    webhook_secret_key,
    webhook_secret_problem,
)

TOKEN_RE = re.compile(r"^hub_[0-9A-Za-z]{40}[0-9A-Za-z]{6}$")


def test_new_tokens_have_the_contract_form_and_are_unique() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    for token in tokens:
        assert TOKEN_RE.match(token)
        assert token_problem(token) is None


def test_every_single_character_typo_is_detected() -> None:
    rng = random.Random(7)
    for _ in range(300):
        token = new_token()
        pos = rng.randrange(4, len(token))
        replacement = rng.choice([c for c in BASE62 if c != token[pos]])
        typo = token[:pos] + replacement + token[pos + 1 :]
        problem = token_problem(typo)
        assert problem is not None
        assert typo[4:] not in problem


def test_truncated_and_foreign_tokens() -> None:
    token = new_token()
    assert "50" in (token_problem(token[:-1]) or "")
    assert 'does not start with "hub_"' in (token_problem("ghp_" + token[4:]) or "")
    assert "other than letters and digits" in (token_problem(token[:20] + "-" + token[21:]) or "")


def test_webhook_secrets() -> None:
    secret = new_webhook_secret()
    assert secret.startswith("whsec_")
    assert webhook_secret_problem(secret) is None
    assert len(webhook_secret_key(secret)) == 32
    unpadded = "whsec_" + base64.b64encode(bytes(range(25))).decode().rstrip("=")
    assert webhook_secret_problem(unpadded) is None
    assert "decodes to 65 bytes" in (
        webhook_secret_problem("whsec_" + base64.b64encode(bytes(65)).decode()) or ""
    )
    assert "not valid base64" in (webhook_secret_problem("whsec_***") or "")


def test_token_new_prints_only_a_token(hubops) -> None:  # type: ignore[no-untyped-def]
    result = hubops("token", "new")
    assert result.code == 0
    assert TOKEN_RE.match(result.out.rstrip("\n"))
    assert result.out.count("\n") == 1 and result.err == ""
