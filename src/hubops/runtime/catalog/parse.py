"""Reading a catalog file as a stream of rows, each either an item or its problems.

Nothing here touches the database: the processor feeds the rows to it in
chunks. CSV is read with the standard library's `csv` module over a text
stream (UTF-8, an optional BOM, RFC 4180 quoting, records may span lines),
so a 20 MiB file is never held in memory; each row carries the line it
starts on (the header is line 1). JSON (`{"items": [...]}`, as for PUT) is
read with ijson's event parser, one item at a time; its rows carry the
item's index from 1. Every item is checked by the Partner API's own
`CatalogItem` model, so an uploaded row and a PUT item obey one rule.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import ijson
from pydantic import ValidationError

from hubops.runtime.partner.models import CatalogItem

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
COLUMNS = ("sku", "name", "price", "available")
TRUE_WORDS = frozenset({"true", "1", "yes"})
FALSE_WORDS = frozenset({"false", "0", "no"})
CSV_TYPE = "text/csv"
JSON_TYPE = "application/json"


@dataclass(frozen=True)
class Problem:
    """One line of the error file: `line,sku,field,error` (line None: the file as a whole)."""

    line: int | None
    sku: str
    field: str
    error: str


@dataclass
class Row:
    line: int
    item: CatalogItem | None
    problems: list[Problem] = field(default_factory=list)


class FileProblem(Exception):
    """The file cannot be read on (encoding, quoting, header, structure, too many rows)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.error)
        self.problem = problem


_MESSAGES = {
    "missing": "is missing",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "string_too_short": "is empty",
    "extra_forbidden": "is not a field of a catalog item (fields: sku, name, price, available)",
}


def _message(error: Any, name: str) -> str:
    kind = error["type"]
    if error.get("input") == "":
        return "is empty"
    if kind == "string_pattern_mismatch" and name == "price":
        return 'is not a decimal amount such as "9.50" (no sign, at most 4 decimals)'
    if kind == "string_too_long":
        return f"is longer than {error.get('ctx', {}).get('max_length', '?')} characters"
    return _MESSAGES.get(kind, str(error["msg"]))


def check_item(line: int, data: dict[str, Any], sku: str) -> Row:
    """The row as an item, or every problem of it (never the offending value)."""
    try:
        return Row(line, CatalogItem.model_validate(data))
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            name = str(error["loc"][0]) if error["loc"] else ""
            problems.append(
                Problem(line, sku, name, f"{name or 'the item'} {_message(error, name)}")
            )
        return Row(line, None, problems)


def _available(value: str) -> bool | str:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return value  # left as a string: the model reports it


def _csv_header(first: list[str] | None) -> list[str]:
    if first is None:
        raise FileProblem(
            Problem(
                1,
                "",
                "",
                "the file is empty; the first line must be the header sku,name,price,available",
            )
        )
    names = [name.strip() for name in first]
    expected = ",".join(COLUMNS)
    for name in names:
        if name not in COLUMNS:
            raise FileProblem(
                Problem(
                    1,
                    "",
                    name[:64],
                    f'the header has an unknown column "{name[:64]}"; it must be {expected}',
                )
            )
        if names.count(name) > 1:
            raise FileProblem(
                Problem(1, "", name, f'the header names "{name}" twice; it must be {expected}')
            )
    for name in COLUMNS:
        if name not in names:
            raise FileProblem(
                Problem(1, "", name, f'the header has no "{name}" column; it must be {expected}')
            )
    return names


class _Lines:
    """The file's physical lines as text, counting them, so a decode error names its line."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.number = 0

    def __iter__(self) -> Iterator[str]:
        for chunk in self.raw:
            self.number += 1
            try:
                text = chunk.decode("utf-8")
            except UnicodeDecodeError:
                raise FileProblem(
                    Problem(
                        self.number,
                        "",
                        "",
                        f"line {self.number} is not UTF-8 text; save the file as UTF-8",
                    )
                ) from None
            yield text.removeprefix("\ufeff") if self.number == 1 else text


def csv_rows(raw: IO[bytes]) -> Iterator[Row]:
    """Rows of a CSV file; raises FileProblem when the file cannot be read on."""
    lines = _Lines(raw)
    reader = csv.reader(lines, strict=True)
    previous = 0
    try:
        header = _csv_header(next(reader, None))
        previous = reader.line_num
        for record in reader:
            line = previous + 1
            previous = reader.line_num
            if not record or record == [""]:
                continue  # a blank line is no row
            if len(record) != len(header):
                where = header.index("sku")
                sku = record[where][:64] if len(record) > where else ""
                message = (
                    f"the row has {len(record)} fields but the header has {len(header)}; "
                    "quote values that contain commas"
                )
                yield Row(line, None, [Problem(line, sku, "", message)])
                continue
            data: dict[str, Any] = dict(zip(header, record, strict=True))
            data["available"] = _available(data["available"])
            yield check_item(line, data, data["sku"][:64])
    except csv.Error as exc:
        line = max(reader.line_num, previous + 1)
        message = (
            f"line {line} is not valid CSV ({exc}); quote values with double quotes and "
            "double any quote inside them"
        )
        raise FileProblem(Problem(line, "", "", message)) from None


_ITEMS = "items.item"


def json_rows(raw: IO[bytes]) -> Iterator[Row]:
    """Rows of a JSON catalog `{"items": [...]}`, one item in memory at a time."""
    index = 0
    builder: ijson.ObjectBuilder | None = None
    try:
        for prefix, event, value in ijson.parse(raw, use_float=False):
            if builder is not None:
                builder.event(event, value)
                if prefix == _ITEMS and event in ("end_map", "end_array"):
                    yield _json_item(index, builder.value)
                    builder = None
                continue
            if prefix == _ITEMS:
                index += 1
                if event in ("start_map", "start_array"):
                    builder = ijson.ObjectBuilder()
                    builder.event(event, value)
                else:
                    yield _json_item(index, value)
            elif prefix == "" and event == "map_key" and value != "items":
                name = str(value)[:64]
                message = f'the body has an unknown field "{name}"; it must be {{"items": [...]}}'
                raise FileProblem(Problem(None, "", name, message))
            elif prefix == "" and event not in ("start_map", "end_map", "map_key"):
                raise FileProblem(
                    Problem(None, "", "", 'the body must be a JSON object {"items": [...]}')
                )
            elif prefix == "items" and event not in ("start_array", "end_array"):
                raise FileProblem(
                    Problem(None, "", "items", '"items" must be a list of catalog items')
                )
    except ijson.JSONError as exc:
        text = str(exc).strip()
        reason = text.splitlines()[0][:120] if text else "malformed"
        message = f"the file is not valid JSON after item {index} ({reason})"
        raise FileProblem(Problem(None, "", "", message)) from None
    except UnicodeDecodeError:
        raise FileProblem(
            Problem(None, "", "", "the file is not UTF-8 text; save it as UTF-8")
        ) from None


def _json_item(index: int, value: Any) -> Row:
    if not isinstance(value, dict):
        return Row(
            index,
            None,
            [
                Problem(
                    index, "", "", "the item must be an object with sku, name, price and available"
                )
            ],
        )
    sku = value.get("sku")
    shown = sku[:64] if isinstance(sku, str) else ""
    return check_item(index, value, shown)


def rows(raw: IO[bytes], content_type: str) -> Iterator[Row]:
    """The file's rows; FileProblem past MAX_ROWS, so no file costs more than that."""
    source = json_rows(raw) if content_type == JSON_TYPE else csv_rows(raw)
    for count, row in enumerate(source, start=1):
        if count > MAX_ROWS:
            raise FileProblem(
                Problem(
                    row.line,
                    "",
                    "",
                    f"the file has more than {MAX_ROWS} rows; split it into several files "
                    "(mode update adds to the catalog)",
                )
            )
        yield row
