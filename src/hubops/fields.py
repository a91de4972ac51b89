"""The constrained field types shared by the manifests and the runtime's change-set bodies.

One home for each rule a value must follow (the name pattern, text lengths,
no control characters, IANA time zones, the license quantity range, https
URLs, times that convert to UTC), so `validate` and the runtime refuse
exactly the same inputs: `manifest.models` builds the manifest kinds from
these types and `state` builds the bodies the runtime checks change sets
against. Patterns are regular expressions both pydantic and JSON Schema
understand, so the generated schemas carry them to editors too.

Messages here never quote the value they refuse: the runtime sends them back
to whoever posted it, and a value may be anything.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime
from functools import cache
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, StrictInt, StrictStr

from hubops.diagnostics import did_you_mean
from hubops.utc import OutOfRange, as_utc

# Characters that must never sit in a name, key, id or display text: C0 and C1 controls
# (newline, tab, ESC, CSI, DEL ...), the Unicode line and paragraph separators, and the
# text-direction controls that reorder what a reviewer sees. Renderers escape the same set.
CONTROL_CLASS = r"\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
CONTROL_CHARACTER = re.compile(f"[{CONTROL_CLASS}]")
CONTROL_RULE = (
    "must not contain control characters (newlines, tabs, escape codes or text-direction marks)"
)

NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
NAME_RULE = (
    "lowercase letters, digits and '-', 1 to 63 characters, "
    "starting and ending with a letter or digit"
)
NO_CONTROL_PATTERN = f"^[^{CONTROL_CLASS}]*$"
HTTPS_PATTERN = f"^https://[^\\s/?#{CONTROL_CLASS}]+[^\\s{CONTROL_CLASS}]*$"
EMAIL_PATTERN = f"^[^@\\s{CONTROL_CLASS}]+@[^@\\s{CONTROL_CLASS}]+\\.[^@\\s{CONTROL_CLASS}]+$"
# A retailer's id, as the marketplace sends it (opaque, but printable and bounded).
RETAILER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"
RETAILER_ID_RULE = "letters, digits, '.', '_', ':' and '-', 1 to 100 characters"
MAX_TEXT = 200
MAX_KEY = 100
MAX_URL = 2048
MAX_QUANTITY = 100_000

RetailerId = Annotated[StrictStr, Field(pattern=RETAILER_ID_PATTERN)]

_NAME = re.compile(NAME_PATTERN)
_EMAIL = re.compile(EMAIL_PATTERN)


def is_name(value: str) -> bool:
    """Whether `value` is a valid tenant, store or resource name."""
    return _NAME.fullmatch(value) is not None


def is_email(value: str) -> bool:
    return len(value) <= 254 and _EMAIL.fullmatch(value) is not None


def has_control(value: str) -> bool:
    return CONTROL_CHARACTER.search(value) is not None


def pattern_rule(pattern: str) -> str:
    """The rule a pattern of this module stands for, in words (for error messages)."""
    return {
        NAME_PATTERN: f"is not a valid name: use {NAME_RULE}",
        NO_CONTROL_PATTERN: CONTROL_RULE,
        HTTPS_PATTERN: "must be an https:// URL",
        EMAIL_PATTERN: "must be an email address like ops@example.com",
        RETAILER_ID_PATTERN: f"is not a retailer id: use {RETAILER_ID_RULE}",
    }.get(pattern, "does not have the expected form")


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _timezone(value: str) -> str:
    if value not in _timezones():
        hint = did_you_mean(value, _timezones()) if not has_control(value) else ""
        raise ValueError(f"must be an IANA time zone name such as Europe/Berlin or UTC{hint}")
    return value


def _utc_convertible(moment: datetime) -> datetime:
    try:
        as_utc(moment)
    except OutOfRange as exc:
        raise ValueError(str(exc)) from None
    return moment


def _utc_text(value: str) -> str:
    """An ISO-8601 text with a time zone that converts to UTC (the form bodies carry)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError("must be an ISO-8601 time with a time zone, e.g. 2027-12-31T00:00:00Z")
    _utc_convertible(moment)
    return value


Name = Annotated[StrictStr, Field(pattern=NAME_PATTERN)]
Text = Annotated[StrictStr, Field(min_length=1, max_length=MAX_TEXT, pattern=NO_CONTROL_PATTERN)]
# Names of configuration and credential fields (catalog configFields, Integration config keys).
FieldKey = Annotated[StrictStr, Field(min_length=1, max_length=MAX_KEY, pattern=NO_CONTROL_PATTERN)]
ShopId = Text
HttpsUrl = Annotated[StrictStr, Field(pattern=HTTPS_PATTERN, max_length=MAX_URL)]
# Webhook URLs may be http for loopback in development; `addresses` has the rest of the rules.
WebhookUrl = Annotated[
    StrictStr, Field(min_length=1, max_length=MAX_URL, pattern=NO_CONTROL_PATTERN)
]
Email = Annotated[StrictStr, Field(pattern=EMAIL_PATTERN, max_length=254)]
Timezone = Annotated[StrictStr, Field(max_length=64), AfterValidator(_timezone)]
Quantity = Annotated[StrictInt, Field(ge=1, le=MAX_QUANTITY)]
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc_convertible)]
UtcTimestamp = Annotated[StrictStr, Field(max_length=64), AfterValidator(_utc_text)]
