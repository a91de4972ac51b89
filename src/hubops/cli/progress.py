"""A progress bar on stderr for runs over many tenants, only where a person is watching.

CI logs and pipes get nothing: a bar there is noise, and stdout stays the
plan alone. `stage_progress` is the `reconcile.Progress` the commands pass
to the core: the core names the stage, this module says it in words.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

MIN_TENANTS = 20
STAGES = {"reading": "Reading live state", "applying": "Applying"}

Advance = Callable[[], None]


def wanted(count: int) -> bool:
    return count >= MIN_TENANTS and sys.stderr.isatty() and not os.environ.get("CI")


@contextmanager
def progress(description: str, total: int) -> Iterator[Advance]:
    """Yields a function to call once per finished tenant."""
    if not wanted(total):
        yield lambda: None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda: bar.advance(task)


def stage_progress(stage: str, total: int) -> AbstractContextManager[Advance]:
    return progress(STAGES[stage], total)
