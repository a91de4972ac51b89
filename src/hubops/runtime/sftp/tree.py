"""The virtual tree an SFTP user sees, and where it lives on disk. Pure path rules.

    /                          only `catalog`
    /catalog/                  one folder per store the user may use
    /catalog/<store>/          a file written here is a `replace` upload
    /catalog/<store>/update/   a file written here is an `update` upload
    /catalog/<store>/processed/  files after processing, and `<name>.errors.csv`

On disk, a tenant's tree is `<sftp root>/<tenant>/catalog/<store>/...`;
files being processed wait in `<sftp root>/.spool/`, outside every tree.
Paths are normalised before anything else (so `..` cannot climb out), and
anything but the places above is refused: other stores, deeper folders,
hidden names. Nothing in the tree is a symlink, and none can be made.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path

AREAS = ("update", "processed")
MAX_NAME = 200


class Refused(Exception):
    """The path is outside what the user may see or do; `missing` says which answer to give."""

    def __init__(self, message: str, missing: bool = True) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True)
class Place:
    """A checked virtual path: which store and area (None: the store folder) and file name."""

    parts: tuple[str, ...]
    store: str | None = None
    area: str | None = None
    name: str | None = None

    @property
    def is_dir(self) -> bool:
        return self.name is None

    @property
    def upload_mode(self) -> str | None:
        """`replace` or `update` for a file written here; None where files are not taken."""
        if self.name is None or self.area == "processed":
            return None
        return "update" if self.area == "update" else "replace"


def place(path: str, stores: frozenset[str]) -> Place:
    """The place of a client's path, or Refused."""
    parts = tuple(p for p in posixpath.normpath(posixpath.join("/", path)).split("/") if p)
    if not parts:
        return Place(parts)
    if parts[0] != "catalog":
        raise Refused("only /catalog is here")
    if len(parts) == 1:
        return Place(parts)
    store = parts[1]
    if store not in stores:
        raise Refused("no such store")
    if len(parts) == 2:
        return Place(parts, store)
    if len(parts) == 3:
        if parts[2] in AREAS:
            return Place(parts, store, parts[2])
        return Place(parts, store, None, _name(parts[2]))
    if len(parts) == 4 and parts[2] in AREAS:
        return Place(parts, store, parts[2], _name(parts[3]))
    raise Refused("no such folder")


def _name(name: str) -> str:
    if name.startswith(".") or len(name) > MAX_NAME or not name.isprintable():
        raise Refused("file names must be visible, printable and short", missing=False)
    return name


def local(tenant_root: Path, where: Place) -> Path:
    return tenant_root.joinpath(*where.parts)


def ensure_tree(tenant_root: Path, stores: frozenset[str]) -> None:
    for store in stores:
        for area in AREAS:
            (tenant_root / "catalog" / store / area).mkdir(parents=True, exist_ok=True)
