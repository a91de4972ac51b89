"""Names and values that try to forge what reviewers read: in a PR comment, a terminal, CI logs.

Each test writes the hostile input where a user or attacker can put it (a
catalog entry, a manifest, a folder name, a row an older runtime stored)
and checks what the output shows: no raw control byte, no forged line, no
code block ended early, no HTML comment opened.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from conftest import Repo

DB = "state.db"
FORGED_PLAN = "Plan: 0 to add, 0 to change, 0 to destroy."
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _markdown_outside_code(text: str) -> list[str]:
    """The lines of a CommonMark document that are not inside a fenced code block."""
    outside: list[str] = []
    fence = ""
    for line in text.splitlines():
        match = re.match(r"^ {0,3}(`{3,}|~{3,})", line)
        if fence:
            closes = match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence)
            if closes and not line.strip().strip(fence[0]):
                fence = ""
            continue
        if match:
            fence = match.group(1)
            continue
        outside.append(line)
    assert not fence, "a code block is left open"
    return outside


def test_catalog_field_names_with_newlines_and_markdown_are_refused(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    evil = f"companyId\\n```\\n{FORGED_PLAN}\\n<!--"
    catalog = repo.root / "catalog.yaml"
    catalog.write_text(
        catalog.read_text().replace("configFields: [companyId]", f'configFields: ["{evil}"]')
    )
    repo.edit("integrations.yaml", 'companyId: "12345"', f'"{evil}": "12345"')
    for args in (
        ("validate", "tenants"),
        ("plan", "tenants", "--runtime", DB, "--format", "markdown"),
    ):
        result = hubops(*args)
        assert result.code == 1, result.text
        line = next(n for n, x in enumerate(catalog.read_text().splitlines(), 1) if "<!--" in x)
        assert f"catalog.yaml:{line}:" in result.text
        assert "must not contain control characters" in result.text
        assert "<!--" not in result.text and "```" not in result.text
        assert FORGED_PLAN not in result.text
        assert "Traceback" not in result.text


def test_display_name_cannot_forge_a_diagnostic_or_clear_the_terminal(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    repo.edit(
        "tenant.yaml",
        "displayName: Acme Burgers",
        'displayName: "\\e[2J\\e[H\\nX:1:1: error: FORGED"',
    )
    repo.edit("tenant.yaml", "id: acme-003", 'id: "acme\\e[31m-003"')
    result = hubops("validate", "tenants")
    assert result.code == 1
    assert not CONTROL.search(result.text)
    assert not any(line.startswith("X:1:1") for line in result.text.splitlines())
    line = repo.line_of("tenant.yaml", "displayName")
    assert (
        f"tenants/acme/tenant.yaml:{line}:16: error: spec.displayName must not contain control "
        "characters" in result.out
    )
    assert "spec.stores[2].id is not a valid name" in result.out
    assert "FORGED" not in result.text  # the value is not repeated at all


def test_a_folder_name_cannot_forge_a_diagnostic(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    evil = repo.tenants / "x\nX:1:1: error: FORGED\x1b[2J"
    evil.mkdir()
    (evil / "tenant.yaml").write_text("apiVersion: hubops/v1\nkind: Tenant\nmetadata: {name: x}\n")
    result = hubops("validate", "tenants")
    assert result.code == 1
    assert not CONTROL.search(result.text)
    assert not any(line.startswith("X:1:1") for line in result.text.splitlines())
    assert "tenants/x\\nX:1:1: error: FORGED\\u001b[2J/tenant.yaml" in result.out


def test_text_plan_shows_control_characters_in_values_as_escapes(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    # Config values are free text, so they reach the plan; C1 controls and direction
    # overrides are what JSON leaves unescaped.
    assert hubops("apply", "tenants", "--auto-approve", "--runtime", DB).code == 0
    repo.edit(
        "integrations.yaml", 'companyId: "12345"', 'companyId: "12345\\u009b2J\\u202eevil\\x7f"'
    )
    result = hubops("plan", "tenants", "--runtime", DB, "--no-color")
    assert result.code == 0, result.text
    assert not CONTROL.search(result.text)
    assert 'config.companyId: "12345" -> "12345\\u009b2J\\u202eevil\\u007f"' in result.out


def test_a_hostile_address_held_by_the_runtime_cannot_end_the_markdown_block(
    repo: Repo, hubops
) -> None:  # type: ignore[no-untyped-def]
    assert hubops("apply", "tenants", "--auto-approve", "--runtime", DB).code == 0
    # What an older runtime accepted (or a hand-edited database holds).
    evil = f"store/x\n```\n{FORGED_PLAN}\n<!--\n<details><summary>fake"
    with sqlite3.connect(Path(DB)) as db:
        db.execute(
            "INSERT INTO resources (tenant_id, address, kind, body) VALUES (1, ?, 'store', ?)",
            (evil, '{"name": "x", "timezone": "UTC"}'),
        )
        # as any write to live state does, so the plan diffs the tenant again
        db.execute("UPDATE tenants SET revision = revision + 1 WHERE id = 1")
    markdown = hubops("plan", "tenants", "--runtime", DB, "--format", "markdown")
    assert markdown.code == 0, markdown.text
    outside = _markdown_outside_code(markdown.out)
    assert outside[-1] == "Plan: 0 to add, 0 to change, 1 to destroy."
    assert FORGED_PLAN not in outside
    assert [line for line in outside if "<!--" in line] == ["<!-- hubops-plan -->"]
    assert sum("<details>" in line for line in outside) == 1
    text = hubops("plan", "tenants", "--runtime", DB, "--no-color")
    assert text.code == 0
    assert FORGED_PLAN not in text.out.splitlines()
    assert "  - store/x\\n```\\nPlan: 0 to add" in text.out
