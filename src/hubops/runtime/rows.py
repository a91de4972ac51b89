"""How a wire model and its table row name the same field: camelCase on the wire, snake_case
in the database (`createdAt` is the column `created_at`).

The models the APIs answer with are read from their rows, and written to
them, by that one rule (`from_row`, `to_row`), so a field is named once, in
the model and in its column, and a mapping is never written out by hand;
`given` names what a row does not hold as it is shown (a nested object, a
URL, a renamed column).
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic.alias_generators import to_snake
from sqlalchemy import Column, Table
from sqlalchemy.engine import Row

M = TypeVar("M", bound=BaseModel)


@cache
def _columns(model: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    """(field, column) of each field of a model: worked out once, not per row."""
    return tuple((name, to_snake(name)) for name in model.model_fields)


def from_row(model: type[M], row: Row[Any], **given: Any) -> M:
    """`model` with every field not `given` read from the row's column of its snake_case name."""
    columns = row._mapping
    values = {
        name: columns[column]
        for name, column in _columns(model)
        if name not in given and column in columns
    }
    return model.model_validate({**values, **given})


def from_stored_row(model: type[M], row: Row[Any], **given: Any) -> M:
    """`from_row` without validation, for rows this runtime wrote from validated models.

    On a hot read path (a page of 50 orders) validating every row again cost a
    quarter of the request; `given` must hold nested models built the same way.
    """
    return model.model_construct(**stored_values(model, row, **given))


def stored_values(model: type[BaseModel], row: Row[Any], **given: Any) -> dict[str, Any]:
    """The fields of `model` from a row this runtime wrote, in the model's field order."""
    columns = row._mapping
    return {
        name: given[name] if name in given else columns[column] for name, column in _columns(model)
    }


def stored_columns(model: type[BaseModel], table: Table) -> tuple[Column[Any], ...]:
    """The table's column of each of `model`'s fields, in field order: a row selected with
    them holds the model's values in order, for a page answered straight as JSON
    (`answers.raw_json`) without a lookup by name for each value of each row."""
    return tuple(table.c[column] for _, column in _columns(model))


def to_row(model: BaseModel) -> dict[str, Any]:
    """The columns of a model's fields (values as Python objects: datetimes, lists, dicts)."""
    return {to_snake(name): value for name, value in model.model_dump().items()}
