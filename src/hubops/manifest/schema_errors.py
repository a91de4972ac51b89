"""pydantic's validation errors, rewritten as manifest diagnostics a person can act on.

pydantic reports `loc` in alias (manifest) names, which maps directly onto
a YAML path. The wording is rewritten from "Input should be …" into a
sentence naming the field and the fix, with "did you mean" hints for
misspelt fields and enum values. Values are quoted back only for fields
known not to be secret (callers pass `echo_values=False` for secrets).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from hubops.diagnostics import FieldPath, did_you_mean, one_of
from hubops.fields import has_control, pattern_rule

Problem = tuple[FieldPath, str, bool]  # (path, message, at_key)


def field_label(path: FieldPath) -> str:
    out = ""
    for elem in path:
        if isinstance(elem, int) or elem == "[key]":
            out += f"[{elem}]" if isinstance(elem, int) else elem
        elif has_control(elem):
            continue  # a key that is itself the problem is not repeated (`[key]` follows)
        else:
            out += f".{elem}" if out else str(elem)
    return out or "document"


def _unwrap(annotation: Any) -> Iterator[Any]:
    """The concrete types inside Annotated/Optional/Union wrappers."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        yield from _unwrap(typing.get_args(annotation)[0])
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            yield from _unwrap(arg)
    else:
        yield annotation


def _step(annotation: Any, elem: str | int) -> Any:
    for candidate in _unwrap(annotation):
        origin = typing.get_origin(candidate)
        if (
            isinstance(candidate, type)
            and issubclass(candidate, BaseModel)
            and isinstance(elem, str)
        ):
            for name, info in candidate.model_fields.items():
                if elem in (info.alias, name):
                    return info.annotation
        elif origin is list and isinstance(elem, int):
            return typing.get_args(candidate)[0]
        elif origin is dict and isinstance(elem, str):
            return typing.get_args(candidate)[1]
    return None


def annotation_at(model: type[BaseModel], path: FieldPath) -> Any:
    annotation: Any = model
    for elem in path:
        annotation = _step(annotation, elem)
        if annotation is None:
            return None
    return annotation


def allowed_fields(model: type[BaseModel], path: FieldPath) -> list[str]:
    for candidate in _unwrap(annotation_at(model, path)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return [info.alias or name for name, info in candidate.model_fields.items()]
    return []


def _literal_choices(model: type[BaseModel], path: FieldPath) -> list[str]:
    for candidate in _unwrap(annotation_at(model, path)):
        if typing.get_origin(candidate) is typing.Literal:
            return [str(a) for a in typing.get_args(candidate)]
    return []


_TYPE_WORDS = {
    "string_type": "a string",
    "int_type": "a whole number",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "datetime_type": "a date and time",
}


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        if has_control(value):
            return "a text with control characters"
        return f'the text "{value}"' if len(value) <= 60 else "a long text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _message(model: type[BaseModel], err: ErrorDetails, echo: bool) -> Problem:
    path: FieldPath = tuple(err["loc"])
    label = field_label(path)
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        parent, key = path[:-1], str(path[-1])
        fields = allowed_fields(model, parent)
        where = f" in {field_label(parent)}" if parent else ""
        hint = did_you_mean(key, fields)
        if not hint:
            hint = "; remove it" + (f" (allowed here: {', '.join(fields)})" if fields else "")
        return path, f'unknown field "{key}"{where}{hint}', True
    if kind == "missing":
        parent, missing = path[:-1], path[-1]
        where = f" in {field_label(parent)}" if parent else ""
        return parent, f'missing required field "{missing}"{where}; add it', True
    if kind == "literal_error":
        choices = _literal_choices(model, path)
        got = f", not {_describe(value)}" if echo else ""
        hint = did_you_mean(value, choices) if echo and isinstance(value, str) else ""
        return path, f"{label} must be one of {one_of(choices)}{got}{hint}", False
    if kind == "string_pattern_mismatch":
        pattern = str(err.get("ctx", {}).get("pattern", ""))
        shown = echo and isinstance(value, str) and len(value) <= 60 and not has_control(value)
        got = f'"{value}" ' if shown else ""
        return path, f"{label} {got}{pattern_rule(pattern)}", False
    if kind in _TYPE_WORDS:
        got = f", not {_describe(value)}" if echo else ""
        hint = ""
        if kind == "string_type" and isinstance(value, int | float | bool):
            hint = '; put the value in quotes, e.g. "12345"'
        elif kind == "bool_type" and isinstance(value, str):
            hint = "; write true or false without quotes"
        elif kind == "int_type" and isinstance(value, str):
            hint = "; write the number without quotes"
        return path, f"{label} must be {_TYPE_WORDS[kind]}{got}{hint}", False
    if kind == "too_short":
        return path, f"{label} must not be empty", False
    if kind in ("timezone_aware", "datetime_from_date_parsing", "datetime_parsing"):
        return (
            path,
            (f"{label} must be a date and time with a time zone, e.g. 2027-12-31T00:00:00Z"),
            False,
        )
    text = re.sub(r"^(Input|Value) should", "should", err["msg"])
    text = re.sub(r"^Value error, ", "", text)
    return path, f"{label}{' ' if text.startswith('must ') else ': '}{text}", False


def _misspelt(errors: list[ErrorDetails]) -> set[FieldPath]:
    """Paths of missing fields that an unknown sibling field is a misspelling of.

    "unknown field plna; did you mean plan?" already says everything; a
    second error "missing field plan" would only be noise.
    """
    unknown: dict[FieldPath, list[str]] = {}
    for err in errors:
        if err["type"] == "extra_forbidden":
            unknown.setdefault(tuple(err["loc"][:-1]), []).append(str(err["loc"][-1]))
    covered: set[FieldPath] = set()
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "missing" and any(
            did_you_mean(typo, [str(loc[-1])]) for typo in unknown.get(loc[:-1], [])
        ):
            covered.add(loc)
    return covered


def schema_problems(
    model: type[BaseModel], exc: ValidationError, echo_values: bool = True
) -> list[Problem]:
    errors = exc.errors(include_url=False)
    skip = _misspelt(errors)
    return [_message(model, err, echo_values) for err in errors if tuple(err["loc"]) not in skip]
