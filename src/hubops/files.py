"""Writing files hubops creates (imported manifests, saved plans) without writing through links.

A folder hubops writes into may already hold a symbolic link planted under
the name it is about to write; opening that name would write to wherever
the link points. So a new file is created exclusively (an existing name,
a link included, makes it fail), and a file that may be replaced is written
to a fresh temporary file first and renamed over the name, which replaces a
link itself instead of following it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hubops.diagnostics import display_path
from hubops.errors import UsageError

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def write_text(path: Path, text: str, *, replace: bool) -> None:
    """Write `text` as `path`; an existing `path` is an error unless `replace`."""
    data = text.encode("utf-8")
    try:
        if replace:
            _replace(path, data)
        else:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
    except FileExistsError:
        raise UsageError(
            f"{display_path(path)} already exists; hubops does not overwrite it "
            "(pass --force to replace it)"
        ) from None
    except OSError as exc:
        raise UsageError(
            f"cannot write {display_path(path)}: {exc.strerror or type(exc).__name__}"
        ) from None


def _replace(path: Path, data: bytes) -> None:
    if path.is_dir() and not path.is_symlink():
        raise IsADirectoryError(21, "Is a directory")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
