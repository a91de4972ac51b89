"""The `hubops` command line: parse flags, call the core, render, choose the exit code.

Exit codes are the contract's: 0 success, 1 any error (including usage
errors, which click would otherwise report with 2), 2 only for pending
changes under `--detailed-exitcode`. Every error is rendered here, once,
as a short paragraph without a traceback (HUBOPS_DEBUG=1 shows one), and
with any control character in it escaped (it may quote a flag or a name).

Commands are imported only when they run: `COMMANDS` names the module of
each, so `hubops --version`, `token new` or `validate` never load the
runtime (FastAPI, SQLAlchemy, Alembic) or the HTTP client they do not use.
A new command is one line there.
"""

from __future__ import annotations

import importlib
import io
import os
import sys
import traceback
from collections.abc import Sequence

import click

from hubops import __version__
from hubops.errors import ConfigError, HubopsError

# command name -> "module:attribute" of its click command, imported when it is used
COMMANDS = {
    "validate": "hubops.cli.validate:validate_command",
    "plan": "hubops.cli.plan:plan_command",
    "apply": "hubops.cli.apply:apply_command",
    "import": "hubops.cli.import_cmd:import_command",
    "schema": "hubops.cli.schema:schema_command",
    "token": "hubops.cli.keys:token_group",
    "webhook-secret": "hubops.cli.keys:webhook_secret_group",
    "serve": "hubops.cli.serve:serve_command",
    "status": "hubops.cli.status:status_command",
    "check-encrypted": "hubops.cli.check_encrypted:check_encrypted_command",
    "catalog": "hubops.cli.catalog:catalog_group",
    "webhook": "hubops.cli.webhook:webhook_group",
}


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command is looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            module, _, name = COMMANDS[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), name)
            if not isinstance(command, click.Command):
                raise TypeError(f"{COMMANDS[cmd_name]} is not a click command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="hubops")
def cli() -> None:
    """Config-as-code for commerce integration hubs.

    Tenant manifests in git, secrets in sops, plan on every pull request and
    apply on merge.
    """


def main(argv: Sequence[str] | None = None) -> None:
    code = run(argv)
    sys.exit(code)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code instead of exiting (used by tests too).

    The renderers are imported only when an error is shown: they load pydantic
    (for the field rules), which `--version` and `token new` do not need.
    """
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None, prog_name="hubops", standalone_mode=False
        )
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except click.ClickException as exc:
        from hubops.render.escape import printable

        shown = io.StringIO()
        exc.show(file=shown)
        for line in shown.getvalue().splitlines():
            click.echo(printable(line), err=True)
        return 1
    except ConfigError as exc:
        from hubops.render.diagnostics import echo_diagnostics

        echo_diagnostics(exc.diagnostics, err=True)
        return exc.exit_code
    except HubopsError as exc:
        from hubops.render.escape import printable

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
