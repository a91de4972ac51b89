"""Making text safe to show: the one place every renderer sends what it prints through.

Names are validated, but plans and diagnostics also show values (a display
name, a config value, an address held by an older runtime, a folder name)
that may contain anything. On a terminal an ESC or CSI byte runs a control
sequence and a newline starts a line that looks like hubops' own output; in
a pull-request comment a line of backticks ends a code block and `<!--`
hides the rest. So every control character (the set `hubops.fields` refuses
in names) is shown as a visible escape, Markdown code blocks are fenced
longer than any backtick run inside them, and text outside code is
escaped for HTML (and, where Markdown reads it, for Markdown too).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from hubops.fields import CONTROL_CHARACTER

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_BACKTICKS = re.compile(r"`+")
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    return _SHORT.get(char) or f"\\u{ord(char):04x}"


def printable(text: str) -> str:
    """`text` on one line with every control character written as an escape (`\\n`, `\\u001b`)."""
    return CONTROL_CHARACTER.sub(_visible, text)


def html_text(text: str) -> str:
    """Text inside an HTML block of Markdown (`<summary>`): printable, no tag or entity opens."""
    return html.escape(printable(text), quote=True)


def markdown_text(text: str) -> str:
    """Inline Markdown text: printable, and no HTML, entity, link or emphasis can open."""
    shown = "".join(_HTML.get(ch, ch) for ch in printable(text) if ch.isprintable())
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", shown)


def code_block(lines: Iterable[str], language: str = "") -> str:
    """A fenced code block no line can end early: the fence outgrows every backtick run."""
    body = [printable(line) for line in lines]
    longest = max((len(run) for line in body for run in _BACKTICKS.findall(line)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n" + "\n".join(body) + f"\n{fence}"
