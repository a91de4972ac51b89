"""Fast YAML parsing with YAML 1.2 core-schema scalars and duplicate-key detection.

Parsing dominates validation at scale, so every file goes through libyaml
(PyYAML's C parser) first. Positions are not kept here: only files with a
problem are parsed again, by `positions`, with ruamel.yaml's round-trip
loader. To keep both parsers agreeing on what a value is, scalars are
resolved by the YAML 1.2 core schema: `yes`/`on` stay strings and
timestamps stay strings (pydantic parses them), which is also what editors
using the JSON Schemas assume.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, ClassVar

import yaml

_Base: type[yaml.SafeLoader]
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DuplicateKeyError(yaml.MarkedYAMLError):
    pass


class CoreLoader(_Base):  # type: ignore[valid-type,misc]
    """SafeLoader restricted to the YAML 1.2 core schema, refusing duplicate keys."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {}

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Hashable, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # merged keys may be overridden; only literal repeats are mistakes
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise DuplicateKeyError(
                    "while constructing a mapping",
                    node.start_mark,
                    f'found duplicate key "{key}"',
                    key_node.start_mark,
                )
            if isinstance(key, Hashable):
                seen[key] = key_node
        result: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return result


def _add(tag: str, pattern: str, first: str) -> None:
    CoreLoader.add_implicit_resolver(tag, re.compile(pattern, re.X), list(first))


_add("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF")
_add(
    "tag:yaml.org,2002:int",
    r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$",
    "-+0123456789",
)
_add(
    "tag:yaml.org,2002:float",
    r"""^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""",
    "-+0123456789.",
)
_add("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""])  # type: ignore[arg-type]
CoreLoader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])


def _construct_int(loader: CoreLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith("0o"):
        return int(text[2:], 8)
    return int(text, 0) if text.startswith("0x") else int(text, 10)


CoreLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


@dataclass(frozen=True)
class SyntaxProblem:
    """A file libyaml could not read; line and column are 1-based."""

    message: str
    line: int
    column: int


# A sops file is a map of sections of maps (credentials.NAME.FIELD) plus sops' metadata
# (sops.age[0].recipient): nothing deeper is ever needed.
MAX_SECRETS_DEPTH = 8


def secrets_structure_problem(text: str) -> SyntaxProblem | None:
    """Why a secrets file's YAML has a shape no sops file has, before anything is built from it.

    Read from libyaml's event stream, which is linear in the file's size: aliases
    are not expanded there, so an alias bomb costs no more than its bytes.
    """
    depth = 0
    try:
        for event in yaml.parse(text, Loader=CoreLoader):
            mark = event.start_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                return SyntaxProblem(
                    "uses a YAML anchor or alias (& or *), which no sops file needs; "
                    "re-create the file with `sops edit`",
                    line,
                    column,
                )
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_SECRETS_DEPTH:
                    return SyntaxProblem(
                        f"nests mappings or lists deeper than {MAX_SECRETS_DEPTH} levels, which "
                        "no sops file does; re-create the file with `sops edit`",
                        line,
                        column,
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None  # the parse that follows reports the syntax error with its position
    return None


def load_documents(text: str) -> list[Any] | SyntaxProblem:
    """Every document of `text` (empty documents dropped as None), or why it does not parse."""
    try:
        return list(yaml.load_all(text, Loader=CoreLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        context = exc.context or ""
        if context and exc.context_mark and exc.context_mark is not mark:
            start = exc.context_mark
            context += f" (started at line {start.line + 1}, column {start.column + 1}):"
        message = " ".join(p for p in (context, exc.problem) if p) or "invalid YAML"
        if isinstance(exc, DuplicateKeyError):
            message = f"{exc.problem}; each key may appear only once in a mapping"
        line = mark.line + 1 if mark else 0
        column = mark.column + 1 if mark else 0
        return SyntaxProblem(f"YAML syntax error: {message}", line, column)
    except yaml.YAMLError as exc:
        return SyntaxProblem(f"YAML error: {exc}", 0, 0)
