"""The upload record as the Partner and admin APIs show it (SPEC: the fields are fixed)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

Source = Literal["api", "sftp", "manual"]
Mode = Literal["replace", "update"]
Status = Literal["processing", "succeeded", "partial", "failed"]
FINISHED: tuple[Status, ...] = ("succeeded", "partial", "failed")


class Upload(BaseModel):
    id: str
    store: str
    source: Source
    fileName: str | None
    mode: Mode
    status: Status
    receivedAt: datetime
    finishedAt: datetime | None
    rows: int
    accepted: int
    rejected: int
    errorFile: str | None  # URL path of the error file, when the upload has errors


class UploadPage(BaseModel):
    items: list[Upload]
    nextCursor: str | None
