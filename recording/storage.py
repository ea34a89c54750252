"""Where compressed recordings live, behind one small interface (``RecordingStore``): a local folder
(``LocalStore``, the default) or an S3-compatible object store (``S3Store``, boto3).

The interface is synchronous (files and boto3 are): async code calls it through ``asyncio.to_thread``;
HTTP endpoints are plain ``def`` and run in the threadpool. Keys are relative POSIX paths
(``2026/11/23/1795400369.2.3f1c….mp3``). ``put`` of an existing key replaces it (a re-run after a crash
re-puts the same key), ``delete`` of an absent key is no error.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from recording.config import RecordingSettings

__all__ = ["CHUNK", "LocalStore", "RecordingStore", "S3Store", "StoreError", "make_store"]

CHUNK = 64 * 1024


class StoreError(Exception):
    """The store refused or failed an operation (a bad key, the bucket unreachable)."""


class RecordingStore(Protocol):
    def put(self, key: str, data: Path | bytes) -> int:
        """Store ``data`` (a file or bytes) under ``key``; returns its size in bytes."""
        ...

    def open_range(self, key: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``start``..``end`` (inclusive, as HTTP ranges) of the object, in chunks."""
        ...

    def size(self, key: str) -> int:
        """The object's size; ``FileNotFoundError`` when absent."""
        ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...


def _check_key(key: str) -> PurePosixPath:
    path = PurePosixPath(key)
    if not key or path.is_absolute() or ".." in path.parts or "\\" in key:
        raise StoreError(f"bad storage key {key!r}")
    return path


class LocalStore:
    """Objects as files under ``root``; a put writes a temporary file and renames it (never half a file)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root.joinpath(*_check_key(key).parts)

    def put(self, key: str, data: Path | bytes) -> int:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".put-")
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(data, bytes):
                    out.write(data)
                else:
                    with Path(data).open("rb") as src:
                        while block := src.read(CHUNK):
                            out.write(block)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target.stat().st_size

    def open_range(self, key: str, start: int, end: int) -> Iterator[bytes]:
        handle = self.path(key).open("rb")  # opened now: a missing object fails before streaming starts

        def chunks() -> Iterator[bytes]:
            with handle:
                handle.seek(start)
                left = end - start + 1
                while left > 0:
                    block = handle.read(min(CHUNK, left))
                    if not block:
                        break
                    left -= len(block)
                    yield block

        return chunks()

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def keys(self) -> list[str]:
        """Every stored key (tests, maintenance)."""
        if not self.root.exists():
            return []
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in self.root.rglob("*")
            if p.is_file() and not p.name.startswith(".put-")
        )


class S3Store:
    """Objects in an S3-compatible bucket (AWS, MinIO, Ceph RGW) through boto3."""

    def __init__(
        self,
        bucket: str,
        endpoint_url: str | None = None,
        *,
        region_name: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        prefix: str = "",
        client: Any = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if client is None:
            import boto3

            client = boto3.client(
                "s3",
                endpoint_url=endpoint_url,
                region_name=region_name,
                aws_access_key_id=access_key,
                aws_secret_access_key=secret_key,
            )
        self.client = client

    def _key(self, key: str) -> str:
        path = _check_key(key).as_posix()
        return f"{self.prefix}/{path}" if self.prefix else path

    def put(self, key: str, data: Path | bytes) -> int:
        if isinstance(data, bytes):
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, ContentType="audio/mpeg"
            )
            return len(data)
        with Path(data).open("rb") as body:
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=body, ContentType="audio/mpeg"
            )
        return Path(data).stat().st_size

    def open_range(self, key: str, start: int, end: int) -> Iterator[bytes]:
        try:
            reply = self.client.get_object(
                Bucket=self.bucket, Key=self._key(key), Range=f"bytes={start}-{end}"
            )
        except self.client.exceptions.NoSuchKey as exc:
            raise FileNotFoundError(key) from exc
        body = reply["Body"]

        def chunks() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(CHUNK)
            finally:
                body.close()

        return chunks()

    def size(self, key: str) -> int:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(key) from exc
            raise
        return int(head["ContentLength"])

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except FileNotFoundError:
            return False
        return True

    def keys(self) -> list[str]:
        out: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        prefix = f"{self.prefix}/" if self.prefix else ""
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            out += [item["Key"][len(prefix) :] for item in page.get("Contents", [])]
        return sorted(out)


def make_store(settings: RecordingSettings) -> RecordingStore:
    """The store the settings name (``CALLCENTER_RECORDING_STORE=local|s3``)."""
    if settings.store == "s3":
        if not settings.s3_bucket:
            raise StoreError("CALLCENTER_RECORDING_S3_BUCKET is required with CALLCENTER_RECORDING_STORE=s3")
        return S3Store(
            settings.s3_bucket,
            settings.s3_endpoint,
            region_name=settings.s3_region,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            prefix=settings.s3_prefix,
        )
    return LocalStore(settings.recordings_root)
