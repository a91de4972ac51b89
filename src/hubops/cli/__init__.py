"""The `hubops` command line: parse flags, call the core, render, choose the exit code.

Exit codes are the contract's: 0 success, 1 any error (including usage
errors, which click would otherwise report with 2), 2 only for pending
changes under `--detailed-exitcode`. Every error is rendered here, once,
as a short paragraph without a traceback (HUBOPS_DEBUG=1 shows one), and
with any control character in it escaped (it may quote a flag or a name).
"""

from __future__ import annotations

import io
import os
import sys
import traceback
from collections.abc import Sequence

import click

from hubops import __version__
from hubops.cli.apply import apply_command
from hubops.cli.check_encrypted import check_encrypted_command
from hubops.cli.import_cmd import import_command
from hubops.cli.keys import token_group, webhook_secret_group
from hubops.cli.plan import plan_command
from hubops.cli.schema import schema_command
from hubops.cli.serve import serve_command
from hubops.cli.status import status_command
from hubops.cli.validate import validate_command
from hubops.errors import ConfigError, HubopsError
from hubops.render.diagnostics import echo_diagnostics
from hubops.render.escape import printable


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="hubops")
def cli() -> None:
    """Config-as-code for commerce integration hubs.

    Tenant manifests in git, secrets in sops, plan on every pull request and
    apply on merge.
    """


cli.add_command(validate_command)
cli.add_command(plan_command)
cli.add_command(apply_command)
cli.add_command(import_command)
cli.add_command(schema_command)
cli.add_command(token_group)
cli.add_command(webhook_secret_group)
cli.add_command(serve_command)
cli.add_command(status_command)
cli.add_command(check_encrypted_command)


def main(argv: Sequence[str] | None = None) -> None:
    code = run(argv)
    sys.exit(code)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code instead of exiting (used by tests too)."""
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None, prog_name="hubops", standalone_mode=False
        )
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except click.ClickException as exc:
        shown = io.StringIO()
        exc.show(file=shown)
        for line in shown.getvalue().splitlines():
            click.echo(printable(line), err=True)
        return 1
    except ConfigError as exc:
        echo_diagnostics(exc.diagnostics, err=True)
        return exc.exit_code
    except HubopsError as exc:
        click.echo(f"Error: {printable(exc.format_message())}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 1
    except Exception as exc:  # a bug: say so plainly, without a wall of traceback
        if os.environ.get("HUBOPS_DEBUG") == "1":
            traceback.print_exc()
        click.echo(
            f"Error: internal error ({type(exc).__name__}); this is a bug in hubops. "
            "Run again with HUBOPS_DEBUG=1 to see the traceback and report it.",
            err=True,
        )
        return 1
    return result if isinstance(result, int) else 0
