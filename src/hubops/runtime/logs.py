"""How `hubops serve` logs: uvicorn's text lines, or one JSON object per line.

With `HUBOPS_LOG_FORMAT=json` every record on stderr (hubops' own, uvicorn's)
is a JSON object with `ts` (UTC), `level`, `msg` and `logger`, and a request
line (`request_log.RequestLog`) adds `method`, `route`, `status` and `ms`.
Nothing else of a record is copied: extras other than those four never
reach the line, and an exception is written as its summary
(`errors.exception_summary`), never its traceback or message, which may
hold SQL and values.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from typing import Any, Literal

from hubops.runtime.errors import exception_summary
from hubops.runtime.settings import RuntimeConfigError

LOG_FORMAT_ENV = "HUBOPS_LOG_FORMAT"
LogFormat = Literal["text", "json"]
REQUEST_FIELDS = ("method", "route", "status", "ms")


def log_format_from_env() -> LogFormat:
    """HUBOPS_LOG_FORMAT: `text` (the default) or `json`."""
    raw = os.environ.get(LOG_FORMAT_ENV, "").strip().lower()
    if raw in ("", "text"):
        return "text"
    if raw == "json":
        return "json"
    raise RuntimeConfigError(f"{LOG_FORMAT_ENV} must be `text` or `json`")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        entry: dict[str, Any] = {
            "ts": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "msg": record.getMessage(),
            "logger": record.name,
        }
        for name in REQUEST_FIELDS:
            if name in record.__dict__:
                entry[name] = record.__dict__[name]
        if record.exc_info and record.exc_info[1] is not None:
            entry["error"] = exception_summary(record.exc_info[1])
        return json.dumps(entry, ensure_ascii=False, default=str)


def log_config(base: dict[str, Any], log_format: LogFormat = "text") -> dict[str, Any]:
    """uvicorn's logging config (given) with hubops' loggers on its default handler, and
    every formatter JSON when `log_format` is json."""
    config = {**base, "loggers": dict(base.get("loggers", {}))}
    config["loggers"]["hubops"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    if log_format == "json":
        formatter = {"()": f"{__name__}.JsonFormatter"}
        config["formatters"] = {name: formatter for name in base.get("formatters", {})}
        # The access handler writes to stdout: uvicorn's access log is off, but keep one stream.
        handlers = dict(base.get("handlers", {}))
        config["handlers"] = {
            name: {**handler, "stream": "ext://sys.stderr"} for name, handler in handlers.items()
        }
    return config
