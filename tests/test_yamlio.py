"""YAML reading: core-schema scalars, duplicate keys, and positions only where problems are."""

from __future__ import annotations

from pathlib import Path

from hubops.diagnostics import Diagnostic
from hubops.manifest.positions import resolve_positions
from hubops.manifest.yamlio import SyntaxProblem, load_documents


def test_yaml_1_2_core_scalars() -> None:
    docs = load_documents(
        "a: yes\nb: off\nc: 2027-12-31T00:00:00Z\nd: 012\ne: 0o17\nf: null\ng: True\n"
    )
    assert docs == [
        {
            "a": "yes",
            "b": "off",
            "c": "2027-12-31T00:00:00Z",
            "d": 12,
            "e": 15,
            "f": None,
            "g": True,
        }
    ]


def test_flow_sequences_with_colons() -> None:
    assert load_documents("scopes: [orders:read, orders:write]") == [
        {"scopes": ["orders:read", "orders:write"]}
    ]


def test_duplicate_key_is_an_error_with_its_line() -> None:
    problem = load_documents("a: 1\nb:\n  c: 1\n  c: 2\n")
    assert isinstance(problem, SyntaxProblem)
    assert (problem.line, problem.column) == (4, 3)
    assert 'duplicate key "c"' in problem.message


def test_merge_keys_may_override() -> None:
    assert load_documents("base: &b {x: 1, y: 2}\nitem: {<<: *b, y: 3}\n") == [
        {"base": {"x": 1, "y": 2}, "item": {"x": 1, "y": 3}}
    ]


def test_positions_resolve_keys_values_items_and_documents(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    Path("f.yaml").write_text("---\na: 1\n---\n# comment\nspec:\n  list:\n    - x\n    - {id: y}\n")
    diags = [
        Diagnostic("f.yaml", message="v", document=1, path=("spec", "list", 1, "id")),
        Diagnostic("f.yaml", message="k", document=1, path=("spec", "list"), at_key=True),
        Diagnostic("f.yaml", message="missing", document=1, path=("spec", "nothere", "deeper")),
        Diagnostic("f.yaml", message="doc0", document=0, path=("a",)),
    ]
    placed = {d.message: (d.line, d.column) for d in resolve_positions(diags)}
    assert placed == {"v": (8, 12), "k": (6, 3), "missing": (5, 1), "doc0": (2, 4)}
