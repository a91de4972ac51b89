"""How one value of a plan is written: compact JSON, secrets as the contract's words."""

from __future__ import annotations

import json
from typing import Any

from hubops.fingerprint import is_marker
from hubops.plan.model import MISSING, FieldChange

SENSITIVE = "(sensitive value)"
SENSITIVE_CHANGED = "(sensitive value changed)"


def show(value: Any) -> str:
    if value is MISSING:
        return "(absent)"
    if is_marker(value):
        return SENSITIVE
    if isinstance(value, dict) and any(is_marker(v) for v in value.values()):
        return "{" + ", ".join(f"{k}: {SENSITIVE}" for k in value) + "}"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def field_line(change: FieldChange) -> str:
    """`path: old -> new`, or `path: (sensitive value changed)` for a secret."""
    if is_marker(change.before) or is_marker(change.after):
        if change.before is MISSING:
            return f"{change.path}: {SENSITIVE}"
        if change.after is MISSING:
            return f"{change.path}: {SENSITIVE} -> (absent)"
        return f"{change.path}: {SENSITIVE_CHANGED}"
    return f"{change.path}: {show(change.before)} -> {show(change.after)}"
