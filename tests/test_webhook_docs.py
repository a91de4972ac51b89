"""docs/webhooks.md lists every event type with an example body that its schema accepts."""

from __future__ import annotations

import json
import re
from pathlib import Path

from hubops.manifest.models import EVENT_TYPES, TEST_EVENT
from webhook_receiver import schema_problems

DOC = Path(__file__).resolve().parent.parent / "docs" / "webhooks.md"
SECTION = re.compile(r"^### `([a-z_.]+)`\n(.*?)```json\n(.*?)```", re.S | re.M)


def test_every_event_type_has_an_example_its_schema_accepts() -> None:
    examples = {m.group(1): m.group(3) for m in SECTION.finditer(DOC.read_text())}
    assert set(examples) == {*EVENT_TYPES, TEST_EVENT}
    for event_type, text in examples.items():
        body = json.loads(text)
        assert body["type"] == event_type
        assert schema_problems(text.encode()) == [], event_type


def test_readme_names_every_event_type() -> None:
    readme = (DOC.parent.parent / "README.md").read_text()
    for event_type in (*EVENT_TYPES, TEST_EVENT):
        assert f"`{event_type}`" in readme, event_type
