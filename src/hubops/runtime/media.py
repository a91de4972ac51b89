"""Which request bodies are JSON: the media types FastAPI parses as JSON."""

from __future__ import annotations

from email.message import Message


def is_json(content_type: str | None) -> bool:
    """`application/json` or `application/<anything>+json`, with any parameters."""
    if not content_type:
        return False
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )
