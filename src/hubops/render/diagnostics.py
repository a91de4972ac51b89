"""Printing diagnostics: `file:line:col: error: message`, plus GitHub annotations on request."""

from __future__ import annotations

from collections.abc import Sequence

import click

from hubops.diagnostics import Diagnostic
from hubops.render.escape import printable


def format_text(diag: Diagnostic) -> str:
    return f"{printable(diag.where())}: {diag.severity}: {printable(diag.message)}"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def format_github(diag: Diagnostic) -> str:
    """A GitHub Actions workflow command, so the problem shows inline on the pull request."""
    props = [f"file={_escape_property(printable(diag.file))}"]
    if diag.line:
        props += [f"line={diag.line}", f"col={diag.column}"]
    props.append("title=hubops validate")
    return f"::{diag.severity} {','.join(props)}::{_escape_data(printable(diag.message))}"


def summarize(diagnostics: Sequence[Diagnostic]) -> str:
    errors = sum(1 for d in diagnostics if d.severity == "error")
    warnings = len(diagnostics) - errors
    files = len({d.file for d in diagnostics})
    parts = [f"{errors} error{'s' if errors != 1 else ''}"]
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return f"Found {' and '.join(parts)} in {files} file{'s' if files != 1 else ''}."


def echo_diagnostics(
    diagnostics: Sequence[Diagnostic],
    *,
    err: bool = False,
    github: bool = False,
    summary: bool = True,
) -> None:
    for diag in diagnostics:
        click.echo(format_text(diag), err=err)
    if github:
        # Workflow commands are read from standard output.
        for diag in diagnostics:
            click.echo(format_github(diag))
    if summary and diagnostics:
        click.echo(summarize(diagnostics), err=err)
