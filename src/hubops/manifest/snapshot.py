"""The tenants root as read once: its tenant folders, the bytes and digest of every file.

Every command that reads a tenants root takes one `Snapshot` first: the
root is listed and checked once, each file a tenant is loaded from is read
once (loading parses these bytes, never the disk again), and the digests
planning needs come from the same bytes:

* the secrets digest (names and bytes of the tenant's secrets files), which
  the runtime records at apply so unchanged files need not be decrypted;
* the configuration digest (every file of the tenant, the partner catalog
  and the hubops version), which the runtime records at apply so a tenant
  whose digest and live revision have not moved needs not be parsed at all
  (SPEC 8). A tenant with a file that cannot be read, or a link out of the
  root, has none: it is always parsed, and loading says what is wrong.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from hubops import __version__
from hubops.diagnostics import Diagnostic, did_you_mean
from hubops.errors import UsageError
from hubops.manifest.load import (
    Content,
    escapes,
    file_limit,
    is_secrets_file,
    read_bounded,
    tenant_files,
)


def default_catalog(root: Path) -> Path:
    return root.parent / "catalog.yaml"


def check_root(root: Path) -> Path:
    if not root.is_dir():
        raise UsageError(
            f'tenants root "{root}" is not a folder; pass the folder holding one folder per tenant'
        )
    return root


def tenant_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def select_folders(folders: list[Path], only: Iterable[str] | None) -> list[Path]:
    """The folders of `only` (None: all of them; an empty selection selects none)."""
    if only is None:
        return folders
    by_name = {f.name: f for f in folders}
    missing = [name for name in only if name not in by_name]
    if missing:
        name = missing[0]
        raise UsageError(
            f'--tenant "{name}" has no folder in the tenants root{did_you_mean(name, by_name)}'
        )
    return [by_name[name] for name in dict.fromkeys(only)]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _joined(lines: Iterable[str]) -> str:
    return "sha256:" + _sha256("\n".join(lines).encode())


@dataclass(frozen=True)
class TenantFiles:
    """One tenant folder: the bytes of each file loading reads, and their digests."""

    name: str
    folder: Path
    files: list[Path]  # what `load.tenant_files` lists, links out of the root included
    contents: dict[Path, Content]  # the bytes of each, but of such a link
    # False when a file cannot be read or a link leads out of the root.
    readable: bool = True
    digests: dict[str, str] = field(default_factory=dict)  # file name -> sha256 of its bytes

    @property
    def size(self) -> int:
        """Bytes of all its files (what `project.too_large` estimates a tenant's size by)."""
        return sum(len(d) for d in self.contents.values() if isinstance(d, bytes))

    @property
    def secrets_digest(self) -> str | None:
        """One digest over the secrets files (names and bytes); None without any."""
        entries = sorted(
            (p.name, self.digests.get(p.name, "-")) for p in self.contents if is_secrets_file(p)
        )
        if not entries:
            return None
        return _joined(f"{name} {digest}" for name, digest in entries)


@dataclass(frozen=True)
class Snapshot:
    root: Path
    catalog_path: Path
    catalog: Content | None  # None: there is no catalog file
    tenants: dict[str, TenantFiles]
    # Whether every folder of the root was taken (no --tenant selection).
    whole_root: bool = True

    def config_digest(self, name: str) -> str | None:
        """Digest of the tenant's files, the catalog and the hubops version (SPEC 8)."""
        tenant = self.tenants[name]
        if not tenant.readable or isinstance(self.catalog, Diagnostic):
            return None
        catalog = _sha256(self.catalog) if self.catalog is not None else "-"
        lines = [f"hubops {__version__}", f"catalog {catalog}"]
        lines += [f"file {file} {digest}" for file, digest in sorted(tenant.digests.items())]
        return _joined(lines)


def read_tenant_files(folder: Path, root: Path) -> TenantFiles:
    """The files of one tenant folder under the resolved `root`, each read once."""
    if escapes(folder, root):
        return TenantFiles(folder.name, folder, [], {}, readable=False)
    files = tenant_files(folder)
    contents: dict[Path, Content] = {}
    readable = True
    for path in files:
        if path.is_symlink() and escapes(path, root):
            readable = False  # loading refuses it; never read what is outside the root
            continue
        contents[path] = read_bounded(path, *file_limit(path))
        readable &= isinstance(contents[path], bytes)
    digests = {p.name: _sha256(d) for p, d in contents.items() if isinstance(d, bytes)}
    return TenantFiles(folder.name, folder, files, contents, readable, digests)


def take_snapshot(
    root: Path, catalog_path: Path | None = None, only: Iterable[str] | None = None
) -> Snapshot:
    """List and check the root once, and read the files of every (or every selected) tenant."""
    check_root(root)
    catalog_path = catalog_path or default_catalog(root)
    folders = select_folders(tenant_folders(root), only)
    resolved = root.resolve()
    catalog = (
        read_bounded(catalog_path, *file_limit(catalog_path)) if catalog_path.is_file() else None
    )
    tenants = {f.name: read_tenant_files(f, resolved) for f in folders}
    return Snapshot(root, catalog_path, catalog, tenants, whole_root=only is None)
