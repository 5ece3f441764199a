"""Direct uploads: hand out a presigned URL, then turn the uploaded object into a job's input.

The job id is chosen when the upload is created, so the object is stored where the job's input
belongs and every later deletion (DELETE, retention) covers it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.config import Settings
from app.errors import Conflict, DomainError, Invalid, NotFound
from app.jobs.service import JobInputSpec
from app.models import Upload, UploadStatus, utcnow
from app.storage import PresignedUpload, Storage, input_key, job_prefix


class TooLarge(DomainError):
    status_code = 413
    code = "file_too_large"


class UploadExpired(DomainError):
    status_code = 410
    code = "upload_expired"


def _too_large(size: int, settings: Settings) -> TooLarge:
    return TooLarge(f"The file has {size} bytes; the limit is {settings.max_upload_bytes} bytes.")


def create_upload(
    session: Session,
    *,
    principal: Principal,
    filename: str | None,
    content_type: str | None,
    size_bytes: int | None,
    settings: Settings,
    storage: Storage,
) -> tuple[Upload, PresignedUpload | None]:
    """Record a pending upload and presign its PUT (None: the API receives it itself)."""
    if size_bytes is not None and size_bytes > settings.max_upload_bytes:
        raise _too_large(size_bytes, settings)
    expires = timedelta(seconds=settings.presigned_url_expires_seconds)
    job_id = uuid.uuid4()
    upload = Upload(
        owner=principal.owner,
        api_key_id=principal.key_id,
        job_id=job_id,
        storage_key=input_key(job_id),
        filename=filename,
        content_type=content_type,
        declared_bytes=size_bytes,
        status=UploadStatus.PENDING,
        expires_at=utcnow() + expires,
    )
    presigned = storage.presign_upload(
        upload.storage_key, expires=expires, content_type=content_type
    )
    session.add(upload)
    session.flush()
    return upload, presigned


def get_pending_upload(session: Session, *, principal: Principal, upload_id: uuid.UUID) -> Upload:
    """The caller's upload while it can still receive a file and become a job."""
    upload = session.scalar(
        select(Upload).where(Upload.id == upload_id, Upload.owner == principal.owner)
    )
    if upload is None:
        raise NotFound(f"upload {upload_id} not found")
    if upload.status == UploadStatus.USED:
        raise Conflict(
            f"upload {upload_id} was already used by job {upload.job_id}", code="upload_used"
        )
    if upload.status == UploadStatus.EXPIRED or upload.expires_at < utcnow():
        raise UploadExpired(f"upload {upload_id} has expired; create a new one")
    return upload


def take_upload(
    session: Session,
    *,
    principal: Principal,
    upload_id: uuid.UUID,
    settings: Settings,
    storage: Storage,
) -> tuple[uuid.UUID, JobInputSpec]:
    """Claim a received upload for a new job: its job id and input (the caller commits)."""
    upload = get_pending_upload(session, principal=principal, upload_id=upload_id)
    size = storage.size(upload.storage_key)
    if size is None:
        raise Conflict(
            f"nothing has arrived for upload {upload_id}; PUT the file to its upload_url first",
            code="upload_not_received",
        )
    if size > settings.max_upload_bytes:
        storage.delete_prefix(job_prefix(upload.job_id))
        raise _too_large(size, settings)
    if size == 0:
        raise Invalid("The uploaded file is empty.", code="empty_file")
    claimed = session.execute(
        update(Upload)
        .where(Upload.id == upload.id, Upload.status == UploadStatus.PENDING)
        .values(status=UploadStatus.USED, used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"upload {upload_id} was already used", code="upload_used")
    source = JobInputSpec(input_key=upload.storage_key, filename=upload.filename, size_bytes=size)
    return upload.job_id, source
