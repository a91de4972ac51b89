"""Line and column for diagnostics, from a round-trip parse of only the files that need them.

ruamel.yaml's round-trip loader records where every key, value and item
starts. It is much slower than libyaml, so validation never pays for it on
valid files: a diagnostic names its place as (document, field path) and is
resolved here, one parse per file that has problems.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from hubops.diagnostics import Diagnostic, FieldPath


def _round_trip_documents(path: Path) -> list[Any]:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = True
    try:
        with path.open(encoding="utf-8") as handle:
            return list(yaml.load_all(handle))
    except Exception:  # the fast parser already reported syntax problems
        return []


def _start(node: Any) -> tuple[int, int] | None:
    lc = getattr(node, "lc", None)
    if lc is None:
        return None
    return int(lc.line), int(lc.col)


def locate(document: Any, path: FieldPath, at_key: bool) -> tuple[int, int] | None:
    """0-based (line, column) of `path` in a round-trip document, or of its deepest part."""
    node = document
    best = _start(node)
    for index, elem in enumerate(path):
        last = index == len(path) - 1
        if isinstance(node, CommentedMap) and elem in node:
            key_pos = node.lc.key(elem)
            value = node[elem]
            value_pos = node.lc.value(elem)
            if last and at_key:
                return int(key_pos[0]), int(key_pos[1])
            best = (
                (int(value_pos[0]), int(value_pos[1]))
                if last
                else (
                    int(key_pos[0]),
                    int(key_pos[1]),
                )
            )
            node = value
        elif isinstance(node, CommentedSeq) and isinstance(elem, int) and 0 <= elem < len(node):
            line, col = node.lc.item(elem)
            best = (int(line), int(col))
            node = node[elem]
        else:
            break
    return best


def resolve_positions(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Fill in line and column of every diagnostic that names a document and path."""
    pending: dict[str, list[Diagnostic]] = defaultdict(list)
    done: list[Diagnostic] = []
    for diag in diagnostics:
        (pending[diag.file] if diag.document is not None and not diag.line else done).append(diag)
    for file, diags in pending.items():
        documents = _round_trip_documents(Path(file))
        for diag in diags:
            assert diag.document is not None
            pos = None
            if diag.document < len(documents):
                pos = locate(documents[diag.document], diag.path, diag.at_key)
            line, col = (pos[0] + 1, pos[1] + 1) if pos else (1, 1)
            done.append(dataclasses.replace(diag, line=line, column=col))
    return done


def resolve_sorted(diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
    return sorted(resolve_positions(diagnostics))
