"""S3 adapter for the files library (satisfies shared.services.files.ObjectStorage).

Pre-signed URLs are SigV4 with `content-type` and `content-length` among the signed headers, so S3 itself
refuses an upload of another type or length. Locally AWS_ENDPOINT_URL points them at moto server.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from botocore.exceptions import ClientError

from shared.services.files import PresignedUpload, StoredObject

_MISSING = {"404", "NoSuchKey", "NotFound"}


def content_disposition(name: str) -> str:
    """`attachment` with an ASCII fallback name and the exact UTF-8 one (RFC 6266 / RFC 5987); no header injection."""
    fallback = "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\' else "_" for ch in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{urllib.parse.quote(name, safe='')}"


class S3FileStorage:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def presign_put(self, key: str, *, content_type: str, size_bytes: int, expires_s: int) -> PresignedUpload:
        url = self._client.generate_presigned_url(
            "put_object", ExpiresIn=expires_s,
            Params={"Bucket": self._bucket, "Key": key, "ContentType": content_type, "ContentLength": size_bytes})
        # Content-Length is signed too, but HTTP clients set it from the body (browsers refuse to set it).
        return PresignedUpload(url=str(url), headers={"Content-Type": content_type})

    def presign_get(self, key: str, *, expires_s: int, download_name: str | None = None) -> str:
        params = {"Bucket": self._bucket, "Key": key}
        if download_name:
            params["ResponseContentDisposition"] = content_disposition(download_name)
        return str(self._client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_s))

    def head(self, key: str) -> StoredObject | None:
        try:
            got = self._client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in _MISSING:
                return None
            raise
        return StoredObject(size_bytes=int(got["ContentLength"]), content_type=str(got.get("ContentType") or ""))

    def read_prefix(self, key: str, size: int) -> bytes:
        try:
            got = self._client.get_object(Bucket=self._bucket, Key=key, Range=f"bytes=0-{size - 1}")
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in _MISSING | {"InvalidRange"}:  # gone, or empty
                return b""
            raise
        data: bytes = got["Body"].read()
        return data

    def delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self._bucket, Key=key)
