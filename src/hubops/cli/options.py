"""Options shared by several commands, so every command spells them the same way."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

root_argument = click.argument(
    "root",
    required=False,
    default=Path("tenants"),
    envvar="HUBOPS_ROOT",
    type=click.Path(path_type=Path),
)

catalog_option = click.option(
    "--catalog",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Partner catalog (default: ROOT/../catalog.yaml).",
)

tenant_option = click.option(
    "--tenant",
    "tenants",
    multiple=True,
    metavar="NAME",
    help="Only this tenant (repeatable).",
)


def _runtime(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from hubops.client import check_target

    return check_target(value)


runtime_option = click.option(
    "--runtime",
    envvar="HUBOPS_RUNTIME",
    default=".hubops/state.db",
    show_default=True,
    metavar="URL_OR_PATH",
    callback=_runtime,
    help="Runtime URL (http/https), or a SQLite file to run the runtime in-process.",
)


def format_option(*formats: str, help: str | None = None) -> Callable[[F], F]:
    """`--format` (the parameter `fmt`): one of `formats`, the first one by default."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(formats)),
        default=formats[0],
        show_default=True,
        help=help,
    )


color_option = click.option(
    "--no-color",
    is_flag=True,
    help="No colours (also when NO_COLOR is set or output is not a terminal).",
)


def use_color(no_color: bool) -> bool:
    import os
    import sys

    return not no_color and not os.environ.get("NO_COLOR") and sys.stdout.isatty()


changed_since_option = click.option(
    "--changed-since",
    metavar="REF",
    default=None,
    help="Only tenants whose folder changed since the git REF (all if the catalog changed).",
)

shard_option = click.option(
    "--shard",
    metavar="K/N",
    default=None,
    help="Only the K-th of N stable shards of the tenants (for a CI matrix).",
)


def selected_tenants(
    root: Path,
    catalog: Path | None,
    tenants: tuple[str, ...],
    changed_since: str | None,
    shard: str | None,
) -> list[str] | None:
    """Tenant names for this run (None: all), saying on stderr why when narrowed."""
    from hubops.manifest.snapshot import default_catalog
    from hubops.selection import select

    selection = select(root, catalog or default_catalog(root), tenants, changed_since, shard)
    for note in selection.notes:
        click.echo(note, err=True)
    return selection.names
