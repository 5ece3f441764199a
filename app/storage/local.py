"""Local-folder storage: the embedded default, and a shared volume in small deployments."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from app.storage.base import ObjectNotFound, PresignedUpload

CHUNK = 1024 * 1024


class LocalStorage:
    """Objects are files under a root folder; writes are atomic renames."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"key escapes the storage root: {key!r}")
        return path

    def _atomic_target(self, key: str) -> tuple[Path, Path]:
        final = self._path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".tmp-")
        os.close(fd)
        return final, Path(tmp)

    def put_file(self, key: str, source: Path, *, content_type: str | None = None) -> None:
        final, tmp = self._atomic_target(key)
        shutil.copyfile(source, tmp)
        os.replace(tmp, final)

    def put_stream(self, key: str, stream: BinaryIO, *, content_type: str | None = None) -> int:
        final, tmp = self._atomic_target(key)
        written = 0
        try:
            with tmp.open("wb") as out:
                while chunk := stream.read(CHUNK):
                    out.write(chunk)
                    written += len(chunk)
        except BaseException:  # a stream cut short leaves nothing behind
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, final)
        return written

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        final, tmp = self._atomic_target(key)
        tmp.write_bytes(data)
        os.replace(tmp, final)

    def local_path(self, key: str) -> Path:
        """The file that holds `key` (for responses that stream a file with byte ranges)."""
        return self._path(key)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc

    def download(self, key: str, target: Path) -> None:
        try:
            shutil.copyfile(self._path(key), target)
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete_prefix(self, prefix: str) -> int:
        base = self._path(prefix.rstrip("/"))
        if base.is_file():
            base.unlink()
            return 1
        if not base.is_dir():
            return 0
        count = sum(1 for p in base.rglob("*") if p.is_file())
        shutil.rmtree(base, ignore_errors=True)
        return count

    def check(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise PermissionError(f"storage folder is not writable: {self.root}")

    def size(self, key: str) -> int | None:
        path = self._path(key)
        return path.stat().st_size if path.is_file() else None

    def presign_upload(
        self, key: str, *, expires: timedelta, content_type: str | None = None
    ) -> PresignedUpload | None:
        return None  # the API receives uploads itself (PUT /api/v1/uploads/{id})

    def presign_download(
        self, key: str, *, expires: timedelta, filename: str, content_type: str
    ) -> str | None:
        return None  # the API serves results itself
