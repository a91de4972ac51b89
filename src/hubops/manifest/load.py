"""Reading a tenants root: folders, manifest documents and (still encrypted) secrets files.

This is the I/O half of loading; nothing here decides whether the content
makes sense together (that is `validate`). Every document keeps its
`Source` so later rules can point at the exact field.
"""

from __future__ import annotations

import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel, ValidationError

from hubops.diagnostics import Diagnostic, FieldPath, Severity, did_you_mean, display_path, one_of
from hubops.manifest.models import ALL_KINDS, TENANT_KINDS, Document, PartnerCatalog
from hubops.manifest.schema_errors import schema_problems
from hubops.manifest.secrets import encryption_problem
from hubops.manifest.yamlio import SyntaxProblem, load_documents, secrets_structure_problem

T = TypeVar("T")
D = TypeVar("D", bound=BaseModel)

SECRETS_SUFFIX = ".sops.yaml"
SOPS_CONFIG_NAME = ".sops.yaml"
# Bounds on what one file may cost to read and check (the message names them).
MAX_MANIFEST_BYTES = 5 * 1024 * 1024
MAX_SECRETS_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Source:
    """Where something was declared: file, YAML document and field path inside it."""

    file: str
    document: int = 0
    path: FieldPath = ()

    def at(self, *path: str | int) -> Source:
        return Source(self.file, self.document, self.path + path)

    def repeats(self, values: Sequence[str], *path: str | int) -> list[Diagnostic]:
        """One error at each entry of the list at `path` that an earlier entry already has."""
        seen: set[str] = set()
        found = []
        for index, value in enumerate(values):
            if value in seen:
                found.append(self.diag(f'"{value}" is listed twice; remove one', *path, index))
            seen.add(value)
        return found

    def diag(
        self, message: str, *path: str | int, at_key: bool = False, severity: Severity = "error"
    ) -> Diagnostic:
        return Diagnostic(
            file=self.file,
            message=message,
            severity=severity,
            document=self.document,
            path=self.path + path,
            at_key=at_key,
        )


@dataclass(frozen=True)
class Sourced(Generic[T]):
    value: T
    source: Source


def file_diag(path: Path, message: str, line: int = 0, column: int = 0) -> Diagnostic:
    return Diagnostic(file=display_path(path), line=line, column=column, message=message)


@dataclass
class EncryptedFile:
    """A `*.sops.yaml` as committed: keys readable, values still encrypted."""

    path: Path
    source: Source
    tree: dict[str, Any]


@dataclass
class TenantSources:
    name: str
    folder: Path
    documents: list[Sourced[Document]] = field(default_factory=list)
    secrets_files: list[EncryptedFile] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # Kinds with a document that failed to load: rules that need the whole picture
    # (references, counts, unused secrets) are skipped rather than report noise.
    broken_kinds: set[str] = field(default_factory=set)
    broken_secrets: bool = False


Content = bytes | Diagnostic  # a file's bytes, or why they cannot be read


def file_limit(path: Path) -> tuple[int, str]:
    """How many bytes a file of the tenants root may hold, and what it is called in messages."""
    if is_secrets_file(path):
        return MAX_SECRETS_BYTES, "secrets file"
    return MAX_MANIFEST_BYTES, "manifest file"


def read_bounded(path: Path, limit: int, what: str) -> Content:
    """The file's bytes, read no further than `limit` bytes (a larger file is refused)."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return file_diag(path, f"is not a regular file; a {what} must be a plain file")
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        return file_diag(path, f"cannot be read: {exc.strerror}")
    if len(data) > limit:
        return file_diag(
            path,
            f"is larger than {limit // (1024 * 1024)} MiB, the limit for a {what}; "
            "split its content over several files",
        )
    return data


def _decode(path: Path, content: Content) -> str | Diagnostic:
    if isinstance(content, Diagnostic):
        return content
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return file_diag(path, "is not UTF-8 text; save it as UTF-8")


def _parse(
    path: Path,
    content: Content | None = None,
    precheck: Callable[[str], SyntaxProblem | None] | None = None,
) -> list[Any] | Diagnostic:
    """Every document of the file (`content`: its bytes as read before), or why it cannot be."""
    if content is None:
        content = read_bounded(path, *file_limit(path))
    text = _decode(path, content)
    if isinstance(text, Diagnostic):
        return text
    problem = precheck(text) if precheck is not None else None
    if problem is not None:
        return file_diag(path, problem.message, problem.line, problem.column)
    docs = load_documents(text)
    if isinstance(docs, SyntaxProblem):
        return file_diag(path, docs.message, docs.line, docs.column)
    return docs


def validate_model(
    model: type[D], data: Any, source: Source, echo_values: bool = True
) -> tuple[D | None, list[Diagnostic]]:
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        problems = schema_problems(model, exc, echo_values)
        return None, [source.diag(msg, *path, at_key=at_key) for path, msg, at_key in problems]


@dataclass
class ManifestFile:
    documents: list[Sourced[Document]] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    broken_kinds: set[str] = field(default_factory=set)  # "*" when the file did not parse


def read_manifest_file(
    path: Path, kinds: dict[str, type[Document]], content: Content | None = None
) -> ManifestFile:
    """Every well-formed document of a manifest file, and what is wrong with the others."""
    result = ManifestFile()
    docs = _parse(path, content)
    if isinstance(docs, Diagnostic):
        result.diagnostics.append(docs)
        result.broken_kinds.add("*")
        return result
    shown = display_path(path)
    found = result.documents
    diags = result.diagnostics
    for index, data in enumerate(docs):
        if data is None:
            continue
        source = Source(shown, index)
        if not isinstance(data, dict):
            result.broken_kinds.add("*")
            diags.append(
                source.diag(
                    "a manifest document must be a mapping with apiVersion, kind, metadata and spec"
                )
            )
            continue
        kind = data.get("kind")
        if not isinstance(kind, str) or kind not in kinds:
            result.broken_kinds.add("*")
            diags.append(_kind_problem(kind, kinds, source))
            continue
        model, problems = validate_model(kinds[kind], data, source)
        diags += problems
        if model is None:
            result.broken_kinds.add(kind)
        else:
            found.append(Sourced(model, source))
    return result


def _kind_problem(kind: object, kinds: dict[str, type[Document]], source: Source) -> Diagnostic:
    expected = one_of(kinds)
    if kind is None:
        return source.diag(f'missing required field "kind"; use one of {expected}', at_key=True)
    if kind in ALL_KINDS:
        return source.diag(
            f'kind "{kind}" does not belong in this file; use one of {expected}', "kind"
        )
    hint = did_you_mean(str(kind), kinds) or f"; use one of {expected}"
    return source.diag(f'unknown kind "{kind}"{hint}', "kind")


def read_secrets_file(
    path: Path, content: Content | None = None
) -> tuple[EncryptedFile | None, list[Diagnostic]]:
    docs = _parse(path, content, secrets_structure_problem)
    if isinstance(docs, Diagnostic):
        return None, [docs]
    source = Source(display_path(path), 0)
    present = [d for d in docs if d is not None]
    if len(present) != 1 or not isinstance(present[0], dict):
        return None, [
            source.diag("a secrets file must hold exactly one mapping, encrypted with sops")
        ]
    tree = present[0]
    problem = encryption_problem(tree)
    if problem is not None:
        path_in_file, reason = problem
        return None, [source.diag(reason, *path_in_file, at_key=bool(path_in_file))]
    return EncryptedFile(path, source, tree), []


def is_secrets_file(path: Path) -> bool:
    """The one definition of a secrets file (the sops configuration is none, nor a dot-file)."""
    return (
        path.name.endswith(SECRETS_SUFFIX)
        and path.name != SOPS_CONFIG_NAME
        and not path.name.startswith(".")
    )


def tenant_files(folder: Path) -> list[Path]:
    """The files of a tenant folder that loading reads: YAML, no dot-file, sorted."""
    return sorted(
        p
        for p in folder.iterdir()
        if (p.is_symlink() or p.is_file())
        and not p.name.startswith(".")
        and p.suffix in (".yaml", ".yml")
    )


def escapes(path: Path, root: Path) -> bool:
    """Whether `path` (through a link) leads out of the (resolved) tenants root."""
    return not path.resolve().is_relative_to(root)


def _outside(path: Path, root: Path, what: str) -> Diagnostic | None:
    """A link that leads out of the tenants root is refused, never followed and read."""
    if not escapes(path, root):
        return None
    return file_diag(
        path,
        f"is a symbolic link to a {what} outside the tenants root; hubops reads only what is "
        f"inside it, so replace the link by the {what} itself",
    )


def read_tenant_folder(
    folder: Path,
    files: Sequence[Path] | None = None,
    contents: Mapping[Path, Content] | None = None,
) -> TenantSources:
    """Everything in one tenant folder of a tenants root (the folder's parent).

    `files` and `contents` are its `tenant_files` and their bytes as a
    snapshot listed and read them, so nothing is listed or read twice;
    without them the folder is read here.
    """
    contents = contents or {}
    sources = TenantSources(name=folder.name, folder=folder)
    root = folder.parent.resolve()
    escape = _outside(folder, root, "folder")
    if escape is not None:
        sources.diagnostics.append(escape)
        sources.broken_kinds.add("*")
        return sources
    yaml_files = list(files) if files is not None else tenant_files(folder)
    for path in [p for p in yaml_files if p.is_symlink()]:
        escape = _outside(path, root, "file")
        if escape is not None:
            sources.diagnostics.append(escape)
            sources.broken_kinds.add("*")
            sources.broken_secrets |= is_secrets_file(path)
            yaml_files.remove(path)
    if not yaml_files and not sources.diagnostics:
        sources.diagnostics.append(
            file_diag(
                folder,
                "tenant folder has no manifests; add a tenant.yaml with a Tenant document, "
                "or remove the folder",
            )
        )
        return sources
    for path in yaml_files:
        if is_secrets_file(path):
            encrypted, diags = read_secrets_file(path, contents.get(path))
            if encrypted is None:
                sources.broken_secrets = True
            else:
                sources.secrets_files.append(encrypted)
            sources.diagnostics += diags
        else:
            manifest = read_manifest_file(path, TENANT_KINDS, contents.get(path))
            sources.documents += manifest.documents
            sources.diagnostics += manifest.diagnostics
            sources.broken_kinds |= manifest.broken_kinds
    return sources


def read_catalog(
    path: Path, content: Content | None = None
) -> tuple[Sourced[PartnerCatalog] | None, list[Diagnostic]]:
    if content is None and not path.is_file():
        return None, [
            file_diag(
                path,
                "partner catalog not found; create it (kind: PartnerCatalog) "
                "or point --catalog at it",
            )
        ]
    manifest = read_manifest_file(path, {"PartnerCatalog": PartnerCatalog}, content)
    docs, diags = manifest.documents, manifest.diagnostics
    if not docs and not diags:
        diags.append(file_diag(path, "holds no PartnerCatalog document"))
    if len(docs) > 1:
        diags.append(docs[1].source.diag("only one PartnerCatalog document is allowed"))
    if diags:
        return None, diags
    return cast(Sourced[PartnerCatalog], docs[0]), diags
