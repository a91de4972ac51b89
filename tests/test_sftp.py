"""SFTP for catalog files: a server runtime with --sftp-port, asyncssh's own client on loopback."""

from __future__ import annotations

import asyncio
import csv
import io
import stat
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from catalog_files import csv_file
from partner_env import Tenant, db_rows
from runtime_server import Server, create, free_port
from ssh_keys import key_pair, public_line

FEED_KEY = key_pair("ssh-ed25519", seed=10)
OPS_KEY = key_pair("ecdsa-sha2-nistp256", seed=11)
OTHER_KEY = key_pair("ssh-ed25519", seed=12)


def identity(key: asyncssh.SSHKey) -> str:
    return " ".join(public_line(key).split()[:2])


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {"HUBOPS_SFTP_PORT": str(free_port())}


@pytest.fixture
def tenant(server: Server) -> Iterator[Tenant]:
    # A client of its own: a test below restarts the server on another port.
    with server.client() as admin:
        tenant = Tenant.create(server, admin)
        tenant.apply(
            [
                create("sftp-user/feed", {"publicKeys": [identity(FEED_KEY)], "stores": ["s-001"]}),
                create("sftp-user/ops", {"publicKeys": [identity(OPS_KEY)], "stores": None}),
            ]
        )
        yield tenant


def sftp_port(server: Server) -> int:
    return int(server.extra_env["HUBOPS_SFTP_PORT"])


def connect(server: Server, username: str, key: asyncssh.SSHKey | None, **kwargs: Any) -> Any:
    options: dict[str, Any] = {
        "known_hosts": None,
        "agent_path": None,
        "client_keys": [key] if key else None,
    }
    options.update(kwargs)
    return asyncssh.connect("127.0.0.1", sftp_port(server), username=username, **options)


def run(coro: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(coro(), timeout=60))


async def wait_exists(sftp: asyncssh.SFTPClient, path: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not await sftp.exists(path):
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        await asyncio.sleep(0.05)


async def put_bytes(sftp: asyncssh.SFTPClient, path: str, data: bytes) -> None:
    async with sftp.open(path, "wb") as handle:
        await handle.write(data)


async def get_bytes(sftp: asyncssh.SFTPClient, path: str) -> bytes:
    async with sftp.open(path, "rb") as handle:
        data: bytes = await handle.read()
        return data


def test_key_auth_only_and_no_exec(server: Server, tenant: Tenant) -> None:
    async def scenario() -> None:
        async with connect(server, f"{tenant.name}.feed", FEED_KEY) as conn:
            for command in ("ls /", "scp -t /catalog/s-001/x.csv"):
                with pytest.raises(asyncssh.ChannelOpenError):
                    await conn.run(command)
            with pytest.raises(asyncssh.ChannelOpenError):  # no shell either
                await conn.create_process(term_type="xterm")
            with pytest.raises(asyncssh.ChannelOpenError):  # no port forwarding
                await conn.create_connection(asyncssh.SSHTCPSession, "127.0.0.1", server.port)
        with pytest.raises(asyncssh.PermissionDenied):
            async with connect(
                server, f"{tenant.name}.feed", None, password="secret", preferred_auth="password"
            ):
                pass
        with pytest.raises(asyncssh.PermissionDenied):
            async with connect(server, f"{tenant.name}.feed", OTHER_KEY):
                pass
        with pytest.raises(asyncssh.PermissionDenied):
            async with connect(server, f"{tenant.name}.ops", FEED_KEY):
                pass
        with pytest.raises(asyncssh.PermissionDenied):
            async with connect(server, "feed", FEED_KEY):
                pass

    run(scenario)


def test_the_user_sees_only_its_stores(server: Server, tenant: Tenant) -> None:
    async def scenario() -> None:
        async with (
            connect(server, f"{tenant.name}.feed", FEED_KEY) as conn,
            conn.start_sftp_client() as sftp,
        ):
            assert sorted(await sftp.listdir("/")) == [".", "..", "catalog"]
            assert sorted(await sftp.listdir("/catalog")) == [".", "..", "s-001"]
            assert sorted(await sftp.listdir("/catalog/s-001")) == [
                ".",
                "..",
                "processed",
                "update",
            ]
            for path in (
                "/catalog/s-002",
                "/catalog/s-002/x.csv",
                "/etc/passwd",
                "/catalog/../../etc/passwd",
                "/catalog/s-001/update/deep/x.csv",
            ):
                with pytest.raises(asyncssh.SFTPError):
                    await put_bytes(sftp, path, b"x")
            with pytest.raises(asyncssh.SFTPNoSuchFile):
                await sftp.listdir("/catalog/s-002")
            with pytest.raises(asyncssh.SFTPPermissionDenied):
                await sftp.symlink("/catalog/s-001/processed", "/catalog/s-001/link.csv")
            with pytest.raises(asyncssh.SFTPPermissionDenied):
                await put_bytes(sftp, "/catalog/s-001/processed/x.csv", b"x")
            with pytest.raises(asyncssh.SFTPPermissionDenied):
                await sftp.mkdir("/catalog/s-001/more")
            assert await sftp.realpath("/catalog/../..") == "/"
        async with (
            connect(server, f"{tenant.name}.ops", OPS_KEY) as conn,
            conn.start_sftp_client() as sftp,
        ):
            assert sorted(await sftp.listdir("/catalog")) == [".", "..", "s-001", "s-002"]

    run(scenario)


def test_closed_files_become_uploads_then_move_to_processed(server: Server, tenant: Tenant) -> None:
    good = csv_file("B1,Burger,9.50,yes", "F1,Fries,3.00,no")
    mixed = csv_file("C1,Cola,2.00,yes", "C2,,2.00,yes")

    async def scenario() -> tuple[bytes, bytes, list[str]]:
        async with (
            connect(server, f"{tenant.name}.feed", FEED_KEY) as conn,
            conn.start_sftp_client() as sftp,
        ):
            await put_bytes(sftp, "/catalog/s-001/menu.csv", good)
            await wait_exists(sftp, "/catalog/s-001/processed/menu.csv")
            await put_bytes(sftp, "/catalog/s-001/update/more.csv", mixed)
            await wait_exists(sftp, "/catalog/s-001/processed/more.csv.errors.csv")
            listing = sorted(await sftp.listdir("/catalog/s-001/processed"))
            return (
                await get_bytes(sftp, "/catalog/s-001/processed/more.csv"),
                await get_bytes(sftp, "/catalog/s-001/processed/more.csv.errors.csv"),
                listing,
            )

    moved, errors, listing = run(scenario)
    assert moved == mixed
    assert listing == [".", "..", "menu.csv", "more.csv", "more.csv.errors.csv"]
    assert list(csv.reader(io.StringIO(errors.decode()))) == [
        ["line", "sku", "field", "error"],
        ["3", "C2", "name", "name is empty"],
    ]
    with tenant.partner(tenant.token(["catalog:read"])) as partner:
        history = partner.get("/v1/stores/s-001/catalog/uploads").json()["items"]
        assert [(h["source"], h["fileName"], h["mode"], h["status"]) for h in history] == [
            ("sftp", "more.csv", "update", "partial"),
            ("sftp", "menu.csv", "replace", "succeeded"),
        ]
        skus = [i["sku"] for i in partner.get("/v1/stores/s-001/catalog").json()["items"]]
        assert skus == ["B1", "F1", "C1"]


def test_files_over_20_mib_are_refused(server: Server, tenant: Tenant) -> None:
    async def scenario() -> list[str]:
        async with (
            connect(server, f"{tenant.name}.feed", FEED_KEY) as conn,
            conn.start_sftp_client() as sftp,
        ):
            with pytest.raises(asyncssh.SFTPFailure):
                async with sftp.open("/catalog/s-001/huge.csv", "wb") as handle:
                    chunk = b"x" * (1024 * 1024)
                    for index in range(21):
                        await handle.write(chunk, index * len(chunk))
            await asyncio.sleep(0.3)
            return list(await sftp.listdir("/catalog/s-001")) + list(
                await sftp.listdir("/catalog/s-001/processed")
            )

    names = run(scenario)
    assert "huge.csv" not in names
    uploads = db_rows(server, "SELECT count(*) FROM catalog_uploads WHERE file_name = 'huge.csv'")
    assert uploads == [(0,)]


def test_a_removed_key_ends_sessions_and_is_refused(server: Server, tenant: Tenant) -> None:
    async def scenario() -> None:
        async with connect(server, f"{tenant.name}.feed", FEED_KEY) as conn:
            sftp = await conn.start_sftp_client()
            assert await sftp.listdir("/catalog")
            with server.client() as admin:
                tenant.admin = admin
                tenant.apply(
                    [
                        {
                            "address": "sftp-user/feed",
                            "action": "update",
                            "body": {"publicKeys": [identity(OTHER_KEY)], "stores": ["s-001"]},
                        }
                    ]
                )
            with pytest.raises((asyncssh.Error, ConnectionError, OSError)):
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    await sftp.listdir("/catalog")
                    await asyncio.sleep(0.1)
        with pytest.raises(asyncssh.PermissionDenied):
            async with connect(server, f"{tenant.name}.feed", FEED_KEY):
                pass
        async with (
            connect(server, f"{tenant.name}.feed", OTHER_KEY) as conn,
            conn.start_sftp_client() as sftp,
        ):
            assert "s-001" in await sftp.listdir("/catalog")

    run(scenario)


def test_the_host_key_is_kept_across_restarts(server: Server, tenant: Tenant) -> None:
    async def host_key() -> str:
        async with connect(server, f"{tenant.name}.ops", OPS_KEY) as conn:
            key = conn.get_server_host_key()
            assert key is not None
            text: str = key.export_public_key("openssh").decode().strip()
            return text

    first = run(host_key)
    kept = server.data_dir / "sftp_host_key"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    server.stop()
    server.start()
    assert run(host_key) == first
    pinned = asyncssh.import_known_hosts(f"[127.0.0.1]:{sftp_port(server)} {first}\n")

    async def strict() -> None:
        async with connect(server, f"{tenant.name}.ops", OPS_KEY, known_hosts=pinned):
            pass

    run(strict)


def test_a_host_key_file_can_be_given(tmp_path: Path, tenant: Tenant, db_url: str) -> None:
    given = asyncssh.generate_private_key("ssh-ed25519")
    path = tmp_path / "given_key"
    path.write_bytes(given.export_private_key())
    env = {"HUBOPS_SFTP_PORT": str(free_port()), "HUBOPS_SFTP_HOST_KEY": str(path)}
    server = Server(tmp_path, db_url, extra_env=env).start()
    seen: list[bytes] = []

    async def probe() -> None:
        pinned = asyncssh.import_known_hosts(
            f"[127.0.0.1]:{sftp_port(server)} {given.export_public_key().decode()}"
        )
        with pytest.raises(asyncssh.PermissionDenied):  # the host key matched; the user is unknown
            async with connect(server, "nobody.feed", FEED_KEY, known_hosts=pinned):
                pass
        seen.append(b"ok")

    try:
        run(probe)
        assert seen == [b"ok"] and not (server.data_dir / "sftp_host_key").exists()
    finally:
        server.stop()
    path.write_text("not a key")
    broken = Server(tmp_path, db_url, extra_env=env)
    with pytest.raises(RuntimeError, match="is not a readable unencrypted OpenSSH private key"):
        broken.start()
