"""Live state -> manifests: the inverse of normalization, for adopting an existing tenant.

The runtime never returns secret values, so the secrets file cannot be
reconstructed; instead a `secrets.sops.yaml.example` lists every key to fill
in before encrypting it. Everything else round-trips: importing a tenant and
planning the result gives "No changes" once the secrets are filled in.
"""

from __future__ import annotations

import io
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from hubops import schemas
from hubops.diagnostics import display_path
from hubops.errors import UsageError
from hubops.files import write_text
from hubops.manifest.load import is_secrets_file
from hubops.manifest.models import API_VERSION
from hubops.state import State, parse_address

EXAMPLE_NAME = "secrets.sops.yaml.example"


def _flow(items: list[str]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _doc(kind: str, name: str, spec: CommentedMap) -> CommentedMap:
    doc = CommentedMap()
    doc["apiVersion"] = API_VERSION
    doc["kind"] = kind
    doc["metadata"] = CommentedMap(name=name)
    doc["spec"] = spec
    return doc


def _by_kind(state: State) -> dict[str, list[tuple[str, str | None, dict[str, Any]]]]:
    out: dict[str, list[tuple[str, str | None, dict[str, Any]]]] = {}
    for addr in sorted(state):
        kind, name, store = parse_address(addr)
        out.setdefault(kind, []).append((name, store, state[addr]))
    return out


def tenant_document(name: str, state: State) -> CommentedMap:
    kinds = _by_kind(state)
    tenant = kinds["tenant"][0][2]
    spec = CommentedMap()
    spec["displayName"] = tenant["displayName"]
    spec["plan"] = tenant["plan"]
    settings = CommentedMap(instantOrdering=tenant["settings"]["instantOrdering"])
    if tenant["settings"].get("termsOfServiceUrl"):
        settings["termsOfServiceUrl"] = tenant["settings"]["termsOfServiceUrl"]
    spec["settings"] = settings
    stores = CommentedSeq()
    for store_id, _, body in kinds.get("store", []):
        store = CommentedMap(id=store_id, name=body["name"])
        store["timezone"] = body["timezone"]
        store.fa.set_flow_style()
        stores.append(store)
    spec["stores"] = stores
    for _, _, body in kinds.get("license", []):
        hub = CommentedMap()
        if body.get("quantity") is not None:
            hub["quantity"] = body["quantity"]
        hub["stores"] = _flow(body["stores"])
        spec["licenses"] = CommentedMap(integrationHub=hub)
    admins = CommentedSeq()
    for email, _, body in kinds.get("admin", []):
        admin = CommentedMap(email=email, role=body["role"])
        admin.fa.set_flow_style()
        admins.append(admin)
    if admins:
        spec["admins"] = admins
    return _doc("Tenant", name, spec)


def integration_documents(state: State) -> tuple[list[CommentedMap], list[str]]:
    """One Integration per name; per-store differences the manifest cannot express are warned."""
    grouped: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for name, store, body in _by_kind(state).get("integration", []):
        assert store is not None
        grouped.setdefault(name, []).append((store, body))
    docs, warnings = [], []
    for name, entries in grouped.items():
        shared = Counter(
            repr({k: v for k, v in body.items() if k != "shopId"}) for _, body in entries
        )
        if len(shared) > 1:
            warnings.append(
                f"integration {name} differs between stores beyond the shop mapping; "
                "the manifest takes the settings of its first store"
            )
        first = entries[0][1]
        spec = CommentedMap()
        spec["partner"] = first["partner"]
        spec["stores"] = _flow([store for store, _ in entries])
        spec["enabled"] = first["enabled"]
        spec["acceptTerms"] = True
        if first["config"]:
            spec["config"] = CommentedMap(first["config"])
        mapping = {store: body["shopId"] for store, body in entries if body.get("shopId")}
        if mapping:
            spec["shopMapping"] = CommentedMap(mapping)
        if first.get("credentials"):
            spec["credentials"] = first["credentials"]
        docs.append(_doc("Integration", name, spec))
    return docs, warnings


def _limited(spec: CommentedMap, body: dict[str, Any]) -> CommentedMap:
    """`spec` with the body's `stores`, for a resource limited to some stores (None: every one)."""
    if body.get("stores") is not None:
        spec["stores"] = _flow(body["stores"])
    return spec


def _token(body: dict[str, Any]) -> CommentedMap:
    spec = _limited(CommentedMap(scopes=_flow(body["scopes"])), body)
    if body.get("expiresAt"):
        spec["expiresAt"] = body["expiresAt"]
    return spec


def _webhook(body: dict[str, Any]) -> CommentedMap:
    spec = _limited(CommentedMap(url=body["url"], events=_flow(body["events"])), body)
    spec["enabled"] = body["enabled"]
    if body.get("integration"):
        spec["integration"] = body["integration"]
    return spec


def _sftp_user(body: dict[str, Any]) -> CommentedMap:
    return _limited(CommentedMap(publicKeys=CommentedSeq(body["publicKeys"])), body)


def _connections(body: dict[str, Any]) -> CommentedMap:
    """The decisions only: requests awaiting review are informational, not state."""
    return CommentedMap(approved=_flow(body["approved"]), rejected=_flow(body["rejected"]))


# address kind -> (manifest kind, its spec from a live body), for kinds of one document each
_SPECS: dict[str, tuple[str, Callable[[dict[str, Any]], CommentedMap]]] = {
    "token": ("ApiToken", _token),
    "webhook": ("Webhook", _webhook),
    "sftp-user": ("SftpUser", _sftp_user),
    "connections": ("RetailerConnections", _connections),
}


def documents(state: State, *kinds: str) -> list[CommentedMap]:
    """One document per resource of `kinds` (address kinds of `_SPECS`), in that order."""
    found = _by_kind(state)
    return [
        _doc(_SPECS[kind][0], name, _SPECS[kind][1](body))
        for kind in kinds
        for name, _, body in found.get(kind, [])
    ]


def api_documents(state: State) -> list[CommentedMap]:
    return documents(state, "token", "webhook")


def backoffice_documents(state: State) -> list[CommentedMap]:
    """SftpUsers and the RetailerConnections decisions."""
    return documents(state, "sftp-user", "connections")


def secrets_example(state: State, tenant: str) -> str:
    kinds = _by_kind(state)
    lines = [
        f"# Secrets of tenant {tenant}, to fill in. The runtime keeps only fingerprints, so the",
        "# values cannot be exported. Fill in each one, then encrypt the file with sops:",
        f"#   sops encrypt --filename-override tenants/{tenant}/secrets.sops.yaml \\",
        "#     secrets.sops.yaml.example > secrets.sops.yaml && rm secrets.sops.yaml.example",
        "# Until then `hubops validate` reports the missing secrets.",
    ]
    creds = kinds.get("credentials", [])
    if creds:
        lines.append("credentials:")
        for name, _, body in creds:
            lines.append(f"  {name}:")
            lines += [f'    {field}: ""' for field in sorted(body["fields"])]
    tokens = kinds.get("token", [])
    if tokens:
        lines.append("tokens:  # the current token values, or new ones from `hubops token new`")
        lines += [f'  {name}: ""' for name, _, _ in tokens]
    hooks = kinds.get("webhook", [])
    if hooks:
        lines.append("webhooks:  # current signing secrets, or `hubops webhook-secret new`")
        lines += [f'  {name}: ""' for name, _, _ in hooks]
    return "\n".join(lines) + "\n"


def schema_header(out: Path, kind: str) -> str:
    """A yaml-language-server modeline for a document of `kind`, if a `schemas/` folder is near.

    The language server reads one modeline per document, so every document gets its own.
    """
    for folder in [out.resolve(), *out.resolve().parents]:
        candidate = folder / "schemas" / schemas.file_name(kind)
        if candidate.is_file():
            return f"{schemas.MODELINE}{os.path.relpath(candidate, out.resolve())}\n"
    return ""


NO_SCHEMAS = "# Generate editor schemas with `hubops schema` to get completion here.\n"


def write_documents(
    path: Path, docs: list[CommentedMap], note: str = "", replace: bool = False
) -> None:
    """Write `docs`, each led by its schema modeline; `note` follows the first one's."""
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    text = io.StringIO()
    for index, doc in enumerate(docs):
        header = schema_header(path.parent, str(doc["kind"]))
        if index:
            text.write("---\n")
        else:
            header = (header or NO_SCHEMAS) + note
        text.write(header)
        yaml.dump(doc, text)
    write_text(path, text.getvalue(), replace=replace)


def _existing(out: Path) -> list[str]:
    """What in `out` import would write or collide with: manifests and the secrets template."""
    if not out.is_dir():
        return []
    return sorted(
        p.name
        for p in out.iterdir()
        if (p.suffix in (".yaml", ".yml") or p.name == EXAMPLE_NAME) and not is_secrets_file(p)
    )


def import_tenant(
    name: str, state: State, out: Path, origin: str = "", force: bool = False
) -> tuple[list[Path], list[str]]:
    """Write the tenant's manifests into `out`; returns the files written and any warnings.

    `origin` (e.g. "revision 4 at https://hub.example") becomes a comment on each file.
    Files already in `out` are replaced only with `force`, and never written through.
    """
    existing = _existing(out)
    if existing and not force:
        raise UsageError(
            f"{display_path(out)} already holds manifests ({', '.join(existing)}); import into "
            "an empty folder, or pass --force to replace the files import writes"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot create the folder {display_path(out)}: {exc.strerror or type(exc).__name__}"
        ) from None
    integrations, warnings = integration_documents(state)
    files: list[tuple[str, list[CommentedMap]]] = [
        ("tenant.yaml", [tenant_document(name, state)]),
        ("integrations.yaml", integrations),
        ("api.yaml", api_documents(state)),
        ("backoffice.yaml", backoffice_documents(state)),
    ]
    written = []
    for file_name, docs in files:
        if docs:
            path = out / file_name
            note = f"# Imported by `hubops import` from {origin}.\n" if origin else ""
            write_documents(path, docs, note, force)
            written.append(path)
    example = out / EXAMPLE_NAME
    write_text(example, secrets_example(state, name), replace=force)
    written.append(example)
    kept = sorted(set(existing) - {p.name for p in written})
    if kept:
        warnings.append(
            f"{display_path(out)} also holds {', '.join(kept)}, which import did not write; "
            "remove what duplicates the imported manifests"
        )
    return written, warnings
