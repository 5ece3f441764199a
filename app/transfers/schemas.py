"""Request and response shapes of direct uploads and result download links."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class UploadRequest(BaseModel):
    """What a client says about the file it is about to upload (all optional)."""

    model_config = ConfigDict(extra="forbid")

    filename: str | None = Field(None, max_length=255, description="the file's name, for display")
    content_type: str | None = Field(
        None,
        max_length=200,
        pattern=r"^[\w.+-]+/[\w.+-]+$",
        description="if given, the PUT must send this Content-Type (it is signed into the URL)",
    )
    size_bytes: int | None = Field(
        None, ge=1, description="the file's size; refused at once when over the limit"
    )


class UploadOut(BaseModel):
    """Where to send the file: PUT its bytes to `upload_url` with `headers`, before `expires_at`;
    then POST /api/v1/transcribe with this `upload_id`."""

    upload_id: uuid.UUID
    upload_url: str
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str]
    needs_api_key: bool = Field(
        description="true when the URL is this API's own (local storage): send X-API-Key too"
    )
    expires_at: datetime
    max_bytes: int


class UploadReceived(BaseModel):
    """A file received by the API's own upload endpoint (local storage)."""

    upload_id: uuid.UUID
    size_bytes: int


class DownloadLink(BaseModel):
    """A URL that serves one result file."""

    url: str
    format: str
    expires_at: datetime | None = Field(description="when a presigned URL stops working")
    needs_api_key: bool = Field(
        description="true when the URL is this API's own (local storage): send X-API-Key too"
    )
