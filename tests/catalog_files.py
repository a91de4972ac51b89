"""Helpers for catalog file tests: upload through the Partner API and wait for the outcome."""

from __future__ import annotations

import time
from typing import Any

import httpx

CSV = "text/csv"
JSON = "application/json"


def upload(
    client: httpx.Client,
    store: str,
    body: bytes,
    content_type: str = CSV,
    mode: str | None = None,
    file_name: str | None = None,
) -> httpx.Response:
    headers = {"Content-Type": content_type}
    if file_name is not None:
        headers["Upload-Filename"] = file_name
    params = {"mode": mode} if mode else {}
    return client.post(
        f"/v1/stores/{store}/catalog/uploads", content=body, headers=headers, params=params
    )


def wait_done(client: httpx.Client, path: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll an upload record (by its URL path) until it is no longer processing."""
    deadline = time.monotonic() + timeout
    while True:
        record: dict[str, Any] = client.get(path).json()
        if record["status"] != "processing":
            return record
        if time.monotonic() > deadline:
            raise AssertionError(f"upload still processing after {timeout} s: {record}")
        time.sleep(0.05)


def upload_and_wait(
    client: httpx.Client, store: str, body: bytes, timeout: float = 60.0, **kwargs: Any
) -> dict[str, Any]:
    response = upload(client, store, body, **kwargs)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "processing"
    return wait_done(client, f"/v1/catalog/uploads/{response.json()['id']}", timeout)


def csv_file(*rows: str, header: str = "sku,name,price,available") -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode()


def big_csv(count: int, prefix: str = "SKU") -> bytes:
    lines = [
        f"{prefix}{n:06d},Item number {n},{n % 100}.{n % 100:02d},{'yes' if n % 2 else 'no'}"
        for n in range(count)
    ]
    return csv_file(*lines)
