"""Line and column for diagnostics, from a second parse of only the files that need them.

libyaml's composer keeps where every node starts; the first parse skips
that step's output for speed, so a diagnostic names its place as (document,
field path) and is resolved here, one compose per file that has problems.
Composing uses the same parser and scalar resolution as loading, so both
always agree on what a value is (a date-like text stays a text here too),
aliases are not expanded, and the walk down a field path is a loop.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml

from hubops.diagnostics import Diagnostic, FieldPath
from hubops.manifest.load import MAX_MANIFEST_BYTES
from hubops.manifest.yamlio import CoreLoader

MERGE_TAG = "tag:yaml.org,2002:merge"
Position = tuple[int, int]


def _documents(path: Path, limit: int) -> list[yaml.Node]:
    try:
        if path.stat().st_size > limit:
            return []  # refused before any diagnostic that needs a position
        text = path.read_text(encoding="utf-8")
        return list(yaml.compose_all(text, Loader=CoreLoader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []  # the first parse already reported why


def _start(node: yaml.Node) -> Position:
    return node.start_mark.line, node.start_mark.column


def _entry(node: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    """The (key, value) nodes of `key`, looking into `<<` merges as a loader would."""
    pending, seen = [node], set()
    while pending:
        mapping = pending.pop(0)
        if id(mapping) in seen:
            continue
        seen.add(id(mapping))
        merged: list[yaml.MappingNode] = []
        for key_node, value_node in mapping.value:
            if key_node.tag == MERGE_TAG:
                sources = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                merged += [m for m in sources if isinstance(m, yaml.MappingNode)]
            elif isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                return key_node, value_node
        pending += merged
    return None


def locate(document: yaml.Node, path: FieldPath, at_key: bool) -> Position | None:
    """0-based (line, column) of `path` in a composed document, or of its deepest part."""
    node = document
    best = _start(node)
    for index, elem in enumerate(path):
        last = index == len(path) - 1
        if isinstance(node, yaml.MappingNode):
            entry = _entry(node, str(elem))
            if entry is None:
                break
            key_node, value_node = entry
            if last and at_key:
                return _start(key_node)
            best = _start(value_node) if last else _start(key_node)
            node = value_node
        elif isinstance(node, yaml.SequenceNode) and isinstance(elem, int):
            if not 0 <= elem < len(node.value):
                break
            node = node.value[elem]
            best = _start(node)
        else:
            break
    return best


def resolve_positions(
    diagnostics: Iterable[Diagnostic], limit: int = MAX_MANIFEST_BYTES
) -> list[Diagnostic]:
    """Fill in line and column of every diagnostic that names a document and path."""
    pending: dict[str, list[Diagnostic]] = defaultdict(list)
    done: list[Diagnostic] = []
    for diag in diagnostics:
        (pending[diag.file] if diag.document is not None and not diag.line else done).append(diag)
    for file, diags in pending.items():
        documents = _documents(Path(file), limit)
        for diag in diags:
            assert diag.document is not None
            pos = None
            if diag.document < len(documents):
                pos = locate(documents[diag.document], diag.path, diag.at_key)
            line, col = (pos[0] + 1, pos[1] + 1) if pos else (1, 1)
            done.append(dataclasses.replace(diag, line=line, column=col))
    return done


def resolve_sorted(
    diagnostics: Sequence[Diagnostic], limit: int = MAX_MANIFEST_BYTES
) -> list[Diagnostic]:
    return sorted(resolve_positions(diagnostics, limit))
