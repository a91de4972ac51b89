"""Problems found in manifests, as data with a place, and their two renderings.

Validation collects every problem of a run instead of stopping at the first,
so a pull request shows all of them at once. A diagnostic first names its
place structurally (file, YAML document, field path); line and column are
filled in afterwards, only for files that have problems (see
`manifest.positions`), which keeps the happy path on the fast YAML parser.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning"]
PathElem = str | int
FieldPath = tuple[PathElem, ...]


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem. Ordered by place so output is stable and sorted."""

    file: str
    line: int = 0  # 1-based; 0 = the file as a whole
    column: int = 0
    message: str = field(default="", compare=True)
    severity: Severity = field(default="error", compare=False)
    # Where in the file, before positions are known: document index and field path.
    document: int | None = field(default=None, compare=False)
    path: FieldPath = field(default=(), compare=False)
    # Point at the key of the last path element rather than at its value.
    at_key: bool = field(default=False, compare=False)

    def where(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file


def display_path(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when below it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' did you mean "x"?' suffix, or '' when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f'; did you mean "{close[0]}"?' if close else ""


def one_of(choices: Iterable[str]) -> str:
    return ", ".join(f'"{c}"' for c in choices)
