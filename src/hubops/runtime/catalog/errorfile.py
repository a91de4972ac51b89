"""The error file of an upload: `line,sku,field,error`, RFC 4180, one row per problem."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy import Engine

from hubops.runtime.catalog import uploads

HEADER = ("line", "sku", "field", "error")
ROWS_PER_CHUNK = 500


def error_csv(engine: Engine, seq: int) -> Iterator[bytes]:
    """The file in chunks (CRLF line ends, quoted where needed), reading a page at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for count, (line, sku, field, error) in enumerate(uploads.error_lines(engine, seq), 1):
        writer.writerow(("" if line is None else line, sku, field, error))
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()
