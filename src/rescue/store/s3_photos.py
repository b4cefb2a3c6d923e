"""Photo bytes in an S3-compatible object store (AWS S3, MinIO, Ceph RGW, Garage, ...).

The same `PhotoStorage` as the directory, over one bucket: each photo is the
object `<prefix>ab/abcdef...`, the layout of `DirectoryPhotos`, so a photo
directory copied into the bucket as it is (`aws s3 sync`, `mc mirror`) is
found under the same hashes. Objects are written once under their hash and
never changed; writing the same bytes again is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from rescue.domain.errors import Unavailable
from rescue.store.photos import SHA256, MissingPhoto, digest

T = TypeVar("T")

# What S3 and its look-alikes answer for an object that is not there.
_ABSENT = {"404", "NoSuchKey", "NotFound"}


def s3_client(
    endpoint_url: str | None = None,
    region: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
) -> Any:
    """A boto3 S3 client. With an endpoint (a self-hosted store), bucket names go in the
    path, which every S3-compatible server understands; without one, AWS's own endpoint
    for the region and its usual addressing. Unset keys: boto3's usual credential chain
    (AWS_* variables, ~/.aws, an instance role)."""
    config = Config(
        s3={"addressing_style": "path" if endpoint_url else "auto"},
        retries={"max_attempts": 5, "mode": "standard"},
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=config,
    )


def _absent(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code", "")) in _ABSENT


def _reached(call: Callable[[], T]) -> T:
    """The call's answer; a store that cannot be reached, or refuses (a wrong key, no such
    bucket), is `Unavailable` (503, retry later), as an unreachable database is."""
    try:
        return call()
    except ClientError as error:
        if _absent(error):
            raise
        raise Unavailable(f"the photo store refused: {error}") from error
    except BotoCoreError as error:
        raise Unavailable(f"the photo store is unavailable: {error}") from error


class S3Photos:
    """Photos as objects in one bucket, under an optional key prefix (e.g. `rescue/photos/`).
    The client is boto3's, which is safe to share between the server's threads."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def __repr__(self) -> str:
        return f"S3Photos({self.bucket!r}, prefix={self.prefix!r})"

    def key(self, sha256: str) -> str:
        if not SHA256.match(sha256):
            raise MissingPhoto(sha256)
        return f"{self.prefix}{sha256[:2]}/{sha256}"

    def put(self, data: bytes) -> str:
        sha256 = digest(data)
        if not self.exists(sha256):
            key = self.key(sha256)
            _reached(lambda: self.client.put_object(Bucket=self.bucket, Key=key, Body=data))
        return sha256

    def get(self, sha256: str) -> bytes:
        try:
            key = self.key(sha256)
            body: bytes = _reached(
                lambda: self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            )
        except ClientError:  # only an absent object gets past _reached
            raise MissingPhoto(sha256) from None
        return body

    def exists(self, sha256: str) -> bool:
        try:
            key = self.key(sha256)
            _reached(lambda: self.client.head_object(Bucket=self.bucket, Key=key))
        except (MissingPhoto, ClientError):  # not a hash, or an absent object
            return False
        return True

    def hashes(self) -> Iterator[str]:
        # Listed in key order, so in hash order, as the directory lists them.
        pages = iter(
            self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
        )
        while (page := _reached(lambda: next(pages, None))) is not None:
            for item in page.get("Contents", []):
                name: str = item["Key"][len(self.prefix) :]
                fan, _, sha256 = name.partition("/")
                if SHA256.match(sha256) and fan == sha256[:2]:
                    yield sha256
