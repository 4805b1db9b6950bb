"""Blob storage for PDFs and images.

:class:`BlobStore` is the interface; :class:`FileSystemBlobStore` keeps blobs
as files under one directory, which may be a volume shared by every process
of a scaled-out deployment. Writes go to a temporary name and are renamed into
place, so a reader never sees half a file.
"""

from __future__ import annotations

import abc
import hashlib
import os
import tempfile
from pathlib import Path

from docrelay.errors import NotFoundError


class BlobStore(abc.ABC):
    """Stores immutable byte strings under keys made of ``[A-Za-z0-9._-]`` segments and ``/``."""

    @abc.abstractmethod
    def put(self, key: str, data: bytes) -> str:
        """Store ``data`` under ``key`` and return its SHA-256 hex digest."""

    @abc.abstractmethod
    def get(self, key: str) -> bytes:
        """Return the bytes under ``key``; raise NotFoundError when absent."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool: ...

    @abc.abstractmethod
    def delete(self, key: str) -> None: ...


class FileSystemBlobStore(BlobStore):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(part in ("", ".", "..") for part in parts) or "\\" in key:
            raise ValueError(f"invalid blob key {key!r}")
        return self.root.joinpath(*parts)

    def put(self, key: str, data: bytes) -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            with _suppress_missing():
                os.unlink(temporary)
            raise
        return hashlib.sha256(data).hexdigest()

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise NotFoundError(f"Stored file {key!r} is missing") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def delete(self, key: str) -> None:
        with _suppress_missing():
            self._path(key).unlink()


class _suppress_missing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: object, tb: object) -> bool:
        return isinstance(exc, FileNotFoundError)
