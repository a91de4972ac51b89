"""The one generic diff: two normalized states in, resource changes out.

It knows nothing of partners or webhooks. Top-level body fields that the
desired side does not name are unmanaged and ignored (the runtime may add
informational fields); inside a field, mappings are compared key by key in
both directions, and lists and sensitive markers as whole values. The
fields the runtime computes as it reads (`state.COMPUTED_FIELDS`, e.g. a
webhook's `health`, an admin's `status`) are left out of a change's `before`: they move without
a revision, and a saved plan must still match a fresh one.
"""

from __future__ import annotations

from typing import Any

from hubops.fingerprint import is_marker
from hubops.plan.model import MISSING, FieldChange, ResourceChange
from hubops.state import COMPUTED_FIELDS, KINDS, Body, State, parse_address

_KIND_ORDER = {kind: index for index, kind in enumerate(KINDS)}


def address_order(address: str) -> tuple[int, str]:
    kind, _, _ = parse_address(address)
    return _KIND_ORDER[kind], address


def _compare(path: str, before: Any, after: Any, out: list[FieldChange]) -> None:
    if (
        isinstance(before, dict)
        and isinstance(after, dict)
        and not (is_marker(before) or is_marker(after))
    ):
        for key in sorted(set(before) | set(after)):
            _compare(
                f"{path}.{key}" if path else str(key),
                before.get(key, MISSING),
                after.get(key, MISSING),
                out,
            )
    elif before != after:
        out.append(FieldChange(path, before, after))


def diff_body(before: Body, after: Body) -> tuple[FieldChange, ...]:
    out: list[FieldChange] = []
    for key in after:
        _compare(key, before.get(key, MISSING), after[key], out)
    return tuple(out)


def _stored(address: str, body: Body) -> Body:
    computed = COMPUTED_FIELDS.get(parse_address(address)[0], ())
    return {k: v for k, v in body.items() if k not in computed}


def diff_states(desired: State, live: State) -> list[ResourceChange]:
    changes: list[ResourceChange] = []
    for address in sorted(set(desired) | set(live), key=address_order):
        if address not in live:
            changes.append(ResourceChange(address, "create", after=desired[address]))
        elif address not in desired:
            changes.append(
                ResourceChange(address, "delete", before=_stored(address, live[address]))
            )
        else:
            fields = diff_body(live[address], desired[address])
            if fields:
                before = _stored(address, live[address])
                changes.append(ResourceChange(address, "update", before, desired[address], fields))
    return changes
