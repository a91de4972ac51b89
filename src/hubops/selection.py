"""Which tenants a run covers: `--tenant`, `--changed-since REF` and `--shard K/N`.

A config repository with thousands of tenants plans only what a pull request
touched (git decides, uncommitted and untracked files included) and splits
the rest over a CI matrix. Shards hash the tenant name, so a tenant stays
in its shard across runs and when other tenants are added.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from hubops.errors import UsageError
from hubops.manifest.snapshot import tenant_folders


@dataclass
class Selection:
    names: list[str] | None  # None: every tenant of the root
    notes: list[str] = field(default_factory=list)  # why, for stderr


def parse_shard(value: str) -> tuple[int, int]:
    k, sep, n = value.partition("/")
    if sep and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n):
        return int(k), int(n)
    raise UsageError(f'--shard "{value}" must be K/N with 1 <= K <= N, e.g. --shard 2/8')


def in_shard(name: str, shard: tuple[int, int]) -> bool:
    k, n = shard
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % n == k - 1


def _git(cwd: Path, *args: str) -> str:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
        )
    except OSError:
        raise UsageError("--changed-since needs git, which was not found on PATH") from None
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or ["git failed"])[-1]
        raise UsageError(f"git {' '.join(args[:2])} failed: {reason}")
    return proc.stdout


def _changed_paths(top: Path, ref: str) -> list[str]:
    tracked = _git(top, "diff", "--name-only", "--no-renames", ref, "--")
    untracked = _git(top, "ls-files", "--others", "--exclude-standard")
    return [p for p in (tracked + untracked).splitlines() if p]


def changed_since(root: Path, catalog: Path, ref: str) -> Selection:
    root = root.resolve()
    try:
        top = Path(_git(root, "rev-parse", "--show-toplevel").strip())
    except UsageError:
        raise UsageError(f"--changed-since: {root} is not inside a git repository") from None
    try:
        _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except UsageError:
        raise UsageError(
            f'--changed-since: "{ref}" is not a commit here (in CI, fetch enough history, '
            "e.g. actions/checkout with fetch-depth: 0)"
        ) from None
    root_rel = root.relative_to(top).as_posix()
    catalog_rel = (
        catalog.resolve().relative_to(top).as_posix()
        if catalog.resolve().is_relative_to(top)
        else None
    )
    paths = _changed_paths(top, ref)
    current = {f.name for f in tenant_folders(root)}
    if catalog_rel is not None and catalog_rel in paths:
        return Selection(
            None, [f"the catalog {catalog_rel} changed since {ref}: every tenant is included"]
        )
    prefix = f"{root_rel}/" if root_rel != "." else ""
    touched = sorted(
        {
            p[len(prefix) :].split("/", 1)[0]
            for p in paths
            if p.startswith(prefix) and "/" in p[len(prefix) :]
        }
    )
    notes = []
    for name in touched:
        if name not in current:
            notes.append(
                f"tenant {name} was deleted since {ref}; hubops leaves a tenant that is no "
                "longer in the tenants root untouched in the runtime"
            )
    names = [n for n in touched if n in current]
    if names:
        notes.append(f"{len(names)} tenant(s) changed since {ref}: {', '.join(names)}")
    else:
        notes.append(f"no tenant folder changed since {ref}")
    return Selection(names, notes)


def select(
    root: Path,
    catalog: Path,
    tenants: tuple[str, ...] = (),
    changed: str | None = None,
    shard: str | None = None,
) -> Selection:
    """Combine the filters; `names` stays None only when nothing narrows the run."""
    selection = Selection(list(tenants) or None)
    if changed is not None:
        found = changed_since(root, catalog, changed)
        selection.notes += found.notes
        if found.names is not None:
            keep = set(found.names)
            base = selection.names if selection.names is not None else sorted(keep)
            selection.names = [n for n in base if n in keep]
    if shard is not None:
        part = parse_shard(shard)
        pool = selection.names
        if pool is None:
            pool = [f.name for f in tenant_folders(root)] if root.is_dir() else []
        selection.names = [n for n in pool if in_shard(n, part)]
        selection.notes.append(
            f"shard {part[0]}/{part[1]}: {len(selection.names)} of {len(pool)} tenant(s)"
        )
    return selection
