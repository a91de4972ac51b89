"""Times in UTC: the one check every received time goes through, and how times are written.

Every time hubops keeps is timezone-aware UTC. An ISO 8601 time with an
offset can name an instant outside the calendar once it is moved to UTC
(`9999-12-31T23:00:00-05:00` is in the year 10000, `0001-01-01T00:30:00+01:00`
in the year 0), and Python raises OverflowError only when the conversion
happens, often deep inside a database driver. Converting at the edge, here,
turns that into a validation error naming the field instead.

`UtcDatetime` is the pydantic type for request fields and query
parameters; `parse_utc` is for text read from elsewhere (cursors, stored
bodies). Neither repeats the value in its message: it may be anything.
`now` is the current time and `format_utc` the one written form of a time
in bodies hubops produces (`2027-12-31T00:00:00Z`), so the planner's state
and the runtime's webhook bodies spell times alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime
from pydantic_core import PydanticCustomError

EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)
RANGE = "between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z once converted to UTC"


class OutOfRange(ValueError):
    """The time has no UTC equivalent in the years 1 to 9999."""

    def __init__(self) -> None:
        super().__init__(f"the time must lie {RANGE}")


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC; OutOfRange when that falls outside the calendar."""
    if moment.tzinfo is None:
        raise ValueError("the time needs a timezone, e.g. 2025-01-31T00:00:00Z")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise OutOfRange() from None


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def format_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with `Z`, e.g. `2027-12-31T00:00:00Z` (fractions kept when present)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_utc(text: str) -> datetime:
    """ISO 8601 with a timezone, as UTC; ValueError (OutOfRange included) otherwise."""
    return as_utc(datetime.fromisoformat(text))


def _validate(moment: datetime) -> datetime:
    try:
        return as_utc(moment)
    except OutOfRange:
        raise PydanticCustomError("datetime_range", f"Time must lie {RANGE}") from None


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_validate)]
"""An ISO 8601 time with a timezone, delivered as UTC (422 for a naive or out-of-range one)."""
