"""Checking a change set against a tenant's current state, without touching the database.

The outcome is the tenant's complete state after the change set plus the
secret values to store; the store then writes only the difference. Keeping
this pure means every refusal happens before the first write, and the
rules can be read in one place. Changes apply in order, so a change set
may delete an address and create it again.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from hubops.addresses import webhook_url_problem
from hubops.fields import pattern_rule
from hubops.fingerprint import SENSITIVE, fingerprint, tenant_key
from hubops.manifest.models import MAX_API_TOKENS
from hubops.manifest.schema_errors import field_label
from hubops.problems import summary
from hubops.runtime.api_models import ChangeIn
from hubops.runtime.errors import FingerprintMismatch, InvalidChange, MissingSecret
from hubops.state import (
    BODY_MODELS,
    Body,
    State,
    address_problem,
    parse_address,
    secret_address,
    secret_paths,
)
from hubops.tokens import token_problem, webhook_secret_problem


@dataclass
class Outcome:
    state: State
    # Addresses in the order first touched (a dict as an ordered set: change sets are large).
    touched: dict[str, None] = field(default_factory=dict)
    # (address, body path) -> value; only for secrets sent in this change set
    secret_values: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)


def evaluate(
    tenant: str, current: State, changes: Sequence[ChangeIn], fingerprint_key: bytes
) -> Outcome:
    """The state after `changes`, or InvalidChange naming the first offending change."""
    outcome = Outcome(state=dict(current))
    key = tenant_key(fingerprint_key, tenant)
    for index, change in enumerate(changes):
        _apply_one(tenant, key, index, change, outcome)
    check_references(tenant, outcome.state)
    return outcome


def precheck(changes: Sequence[ChangeIn], part: int) -> None:
    """Refuse a part of a change set early for what its changes get wrong on their own."""
    for index, change in enumerate(changes):
        _standalone(index, change, {"part": part}, f"part {part}: ")


def _standalone(
    index: int, change: ChangeIn, where: dict[str, Any], label: str = ""
) -> tuple[str, Body | None]:
    """(kind, validated body) of a change, checked without looking at any state."""
    addr = change.address
    problem = address_problem(addr)
    if problem is not None:
        # The address itself is not echoed: it is what is wrong.
        raise InvalidChange(
            f"{label}changes[{index}].address: {problem}", {**where, "index": index}
        )
    where = {**where, "index": index, "address": addr}
    kind = parse_address(addr)[0]
    if change.action == "delete":
        if change.body is not None or change.secrets:
            raise InvalidChange(f"{addr}: a delete carries no body and no secrets", where)
        return kind, None
    if change.body is None:
        raise InvalidChange(f"{addr}: a {change.action} needs the whole body", where)
    return kind, _validated_body(kind, addr, change.body, where)


def _apply_one(tenant: str, key: bytes, index: int, change: ChangeIn, out: Outcome) -> None:
    addr = change.address
    kind, body = _standalone(index, change, {})
    where = {"index": index, "address": addr}
    exists = addr in out.state
    if change.action == "create" and exists:
        raise InvalidChange(f"{addr}: cannot create, it already exists", where)
    if change.action in ("update", "delete") and not exists:
        raise InvalidChange(f"{addr}: cannot {change.action}, it does not exist", where)
    out.touched.setdefault(addr)
    if body is None:
        del out.state[addr]
        for pending in [k for k in out.secret_values if k[0] == addr]:
            del out.secret_values[pending]
        return
    previous = out.state.get(addr) if change.action == "update" else None
    sent = {path: value.get_secret_value() for path, value in (change.secrets or {}).items()}
    _check_secrets(key, kind, addr, body, previous, sent, where)
    out.state[addr] = body
    paths = set(secret_paths(kind, body))
    for pending in [k for k in out.secret_values if k[0] == addr and k[1] not in paths]:
        del out.secret_values[pending]
    for path, value in sent.items():
        out.secret_values[(addr, path)] = value


def _validated_body(kind: str, addr: str, raw: dict[str, Any], where: dict[str, Any]) -> Body:
    try:
        model = BODY_MODELS[kind].model_validate(raw)
    except ValidationError as exc:
        problems = [
            {
                "field": field_label(tuple(err["loc"])) if err["loc"] else "body",
                "message": _problem_text(err),
            }
            for err in exc.errors()
        ]
        first = problems[0]
        raise InvalidChange(
            summary(f'{addr}: body field "{first["field"]}": {first["message"]}', len(problems)),
            {**where, "problems": problems},
        ) from None
    body: Body = model.model_dump(mode="json", by_alias=True)
    if kind == "webhook":
        problem = webhook_url_problem(str(body["url"]))
        if problem:
            raise InvalidChange(f"{addr}: the webhook url is not allowed: {problem}", where)
    return body


def _problem_text(err: ErrorDetails) -> str:
    """pydantic's message in the manifest rules' words; never the input (`input` is dropped)."""
    if err["type"] == "string_pattern_mismatch":
        return pattern_rule(str(err.get("ctx", {}).get("pattern", "")))
    return err["msg"].removeprefix("Value error, ")


def marker_at(body: Body, path: str) -> str | None:
    node: Any = body
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node.get(SENSITIVE) if isinstance(node, dict) else None


def _check_secrets(
    key: bytes,
    kind: str,
    addr: str,
    body: Body,
    previous: Body | None,
    sent: dict[str, str],
    where: dict[str, Any],
) -> None:
    paths = secret_paths(kind, body)
    for path in sent:
        if path not in paths:
            expected = ", ".join(paths) or "none"
            raise InvalidChange(
                f'{addr}: secrets has "{path}", which is not a secret of this body '
                f"(its secrets: {expected})",
                where,
            )
    for path in paths:
        marker = marker_at(body, path) or ""
        label = secret_address(addr, path)
        if path in sent:
            _check_format(kind, label, sent[path], where)
            actual = fingerprint(key, label, sent[path])
            if not hmac.compare_digest(actual, marker):
                raise FingerprintMismatch(
                    f"{label}: the value sent does not match the body's fingerprint; "
                    "plan again with the runtime's current fingerprint key",
                    {**where, "secret": label},
                )
            continue
        stored = marker_at(previous, path) if previous is not None else None
        if stored is None:
            raise MissingSecret(
                f'{label}: a new secret needs its value in "secrets.{path}"',
                {**where, "secret": label},
            )
        if stored != marker:
            raise FingerprintMismatch(
                f"{label}: the fingerprint differs from the stored one but no value was sent",
                {**where, "secret": label},
            )


def _check_format(kind: str, label: str, value: str, where: dict[str, Any]) -> None:
    problem = None
    if kind == "token":
        problem = token_problem(value)
    elif kind == "webhook":
        problem = webhook_secret_problem(value)
    elif not value:
        problem = "it is empty"
    if problem:
        raise InvalidChange(f"{label}: the value is not accepted: {problem}", where)


def check_references(tenant: str, state: State) -> None:
    """Every reference holds after the change set; InvalidChange lists every broken one."""
    problems: list[dict[str, str]] = []

    def missing(addr: str, target: str) -> None:
        problems.append({"address": addr, "missing": target})

    if f"tenant/{tenant}" not in state:
        missing(f"tenant/{tenant}", f"tenant/{tenant}")
    stores = {parse_address(a)[1] for a in state if a.startswith("store/")}
    integrations = {parse_address(a)[1] for a in state if a.startswith("integration/")}
    tokens = 0
    for addr, body in sorted(state.items()):
        kind, name, store = parse_address(addr)
        if kind == "tenant" and name != tenant:
            problems.append({"address": addr, "problem": f"this tenant is tenant/{tenant}"})
        if store is not None and store not in stores:
            missing(addr, f"store/{store}")
        for ref in body.get("stores") or []:
            if ref not in stores:
                missing(addr, f"store/{ref}")
        credentials = body.get("credentials") if kind == "integration" else None
        if credentials is not None and f"credentials/{credentials}" not in state:
            missing(addr, f"credentials/{credentials}")
        tied = body.get("integration") if kind == "webhook" else None
        if tied is not None and tied not in integrations:
            missing(addr, f"integration/{tied}")
        tokens += kind == "token"
    if tokens > MAX_API_TOKENS:
        problems.append({"address": "token/*", "problem": f"more than {MAX_API_TOKENS} tokens"})
    if problems:
        first = problems[0]
        what = (
            f"{first['missing']} does not exist after this change set"
            if "missing" in first
            else first["problem"]
        )
        raise InvalidChange(
            summary(f"{first['address']}: {what}", len(problems)), {"problems": problems}
        )
