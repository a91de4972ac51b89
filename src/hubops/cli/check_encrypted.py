"""`hubops check-encrypted FILE...`: refuse secrets files that are not sops-encrypted.

Meant for a pre-commit hook, so a plaintext secret is stopped before it
ever reaches git history. sops' own `.sops.yaml` configuration is skipped.
"""

from __future__ import annotations

from pathlib import Path

import click

from hubops.manifest.load import SOPS_CONFIG_NAME, read_secrets_file
from hubops.render.diagnostics import format_text


@click.command("check-encrypted")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
def check_encrypted_command(files: tuple[Path, ...]) -> int:
    """Exit 1 naming each given *.sops.yaml file that is not fully sops-encrypted."""
    checked = failed = 0
    for path in files:
        if path.name == SOPS_CONFIG_NAME:
            continue
        checked += 1
        _, problems = read_secrets_file(path)
        for problem in problems:
            failed += 1
            click.echo(format_text(problem), err=True)
    if failed:
        click.echo(
            f"{failed} secrets file(s) are not safely encrypted; encrypt them with sops.", err=True
        )
        return 1
    click.echo(f"{checked} secrets file(s) are sops-encrypted.")
    return 0
