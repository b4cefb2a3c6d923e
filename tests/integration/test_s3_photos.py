"""Photos in an S3-compatible object store: a real S3 server (moto's, on loopback) holds the
bytes behind the same `PhotoStorage`; uploads through the API land in the bucket, and
`rescue audit verify` catches an object altered in the bucket behind the application's back."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer
from typer.testing import CliRunner

from rescue.bootstrap import photo_storage
from rescue.cli import app as cli
from rescue.domain.errors import Unavailable
from rescue.settings import Settings
from rescue.store.photos import DirectoryPhotos, MissingPhoto
from rescue.store.s3_photos import S3Photos, s3_client
from tests.builders import served
from tests.integration.test_photos import on_scene, photo, upload

KEY, SECRET, REGION = "rescue-test-key", "rescue-test-secret", "us-east-1"
buckets = count(1)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(endpoint: str) -> Any:
    return s3_client(endpoint, REGION, KEY, SECRET)


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"rescue-photos-{next(buckets)}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_settings(endpoint: str, bucket: str) -> dict[str, Any]:
    """The photo settings of a store whose photos live under `evidence/` in the bucket."""
    return {
        "photos_s3_url": endpoint,
        "photos_s3_bucket": bucket,
        "photos_s3_prefix": "evidence/",
        "photos_s3_region": REGION,
        "photos_s3_access_key": KEY,
        "photos_s3_secret_key": SECRET,
    }


def test_put_get_exists_and_hashes_against_a_real_s3_server(s3: Any, bucket: str) -> None:
    storage = S3Photos(s3, bucket, prefix="evidence/")
    red, blue = photo(), photo((10, 10, 200))
    sha_red = storage.put(red)
    assert sha_red == hashlib.sha256(red).hexdigest()
    # The object sits where a photo directory would keep the file, under the prefix.
    stored = s3.get_object(Bucket=bucket, Key=f"evidence/{sha_red[:2]}/{sha_red}")
    assert stored["Body"].read() == red
    assert storage.put(red) == sha_red  # again: the same hash, still one object
    sha_blue = storage.put(blue)
    assert storage.get(sha_red) == red and storage.get(sha_blue) == blue
    assert storage.exists(sha_red) and not storage.exists("0" * 64)
    assert not storage.exists("not-a-hash")
    with pytest.raises(MissingPhoto):
        storage.get("0" * 64)
    with pytest.raises(MissingPhoto):
        storage.get("../../etc/passwd")
    # Objects outside the photo layout (another prefix, a stray name) are not photos.
    s3.put_object(Bucket=bucket, Key="elsewhere/ab/" + "ab" * 32, Body=b"x")
    s3.put_object(Bucket=bucket, Key="evidence/README", Body=b"x")
    assert list(storage.hashes()) == sorted([sha_red, sha_blue])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="evidence/")["Contents"]]
    assert len(keys) == 3


def test_hashes_pages_through_a_long_listing(s3: Any, bucket: str) -> None:
    storage = S3Photos(s3, bucket)
    stored = {storage.put(f"photo {n}".encode()) for n in range(1005)}  # S3 pages by 1000
    assert list(storage.hashes()) == sorted(stored)


def test_the_settings_choose_the_bucket_and_keep_the_directory_as_default(
    s3_settings: dict[str, Any], sqlite_url: str
) -> None:
    assert isinstance(photo_storage(Settings(db=sqlite_url)), DirectoryPhotos)
    chosen = photo_storage(Settings(db=sqlite_url, **s3_settings))
    assert isinstance(chosen, S3Photos)
    assert (chosen.bucket, chosen.prefix) == (s3_settings["photos_s3_bucket"], "evidence/")
    assert SECRET not in repr(Settings(db=sqlite_url, **s3_settings))
    with pytest.raises(ValueError, match="RESCUE_PHOTOS_S3_BUCKET"):
        photo_storage(Settings(db=sqlite_url, photos_s3_url=s3_settings["photos_s3_url"]))


def test_an_upload_through_the_api_lands_in_the_bucket_and_audit_catches_an_alteration(
    store_url: str,
    s3: Any,
    s3_settings: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bucket = s3_settings["photos_s3_bucket"]
    with served(store_url, **s3_settings) as world:
        incident_id = on_scene(world)
        data = photo()
        answer = upload(world, incident_id, data, kind="odometer")
        assert answer.status_code == 201, answer.text
        sha256 = answer.json()["sha256"]
        assert sha256 == hashlib.sha256(data).hexdigest()
        key = f"evidence/{sha256[:2]}/{sha256}"
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data
        upload(world, incident_id, photo((10, 10, 200)), kind="after")
        # The auditor is served the bytes from the bucket, as stored.
        photo_id = answer.json()["photo_id"]
        got = world.get(f"/api/incidents/{incident_id}/photos/{photo_id}", "auditor")
        assert got.status_code == 200 and got.content == data

        # `rescue audit verify` reads the same settings from the environment.
        for name, value in s3_settings.items():
            monkeypatch.setenv(f"RESCUE_{name.upper()}", value)
        runner = CliRunner()
        verify = ["audit", "verify", "--db", store_url]
        intact = runner.invoke(cli, verify)
        assert intact.exit_code == 0, intact.output
        assert "2 photos match their recorded hashes" in intact.output

        # One byte of the object changes in the bucket: the chain is intact, the photo is not.
        altered = bytearray(data)
        altered[-10] ^= 0xFF
        s3.put_object(Bucket=bucket, Key=key, Body=bytes(altered))
        caught = runner.invoke(cli, verify)
        assert caught.exit_code == 1, caught.output
        assert "altered" in caught.output and sha256 in caught.output
        api = world.get("/api/audit/verify", "auditor").json()["photos"]
        assert [(p["kind"], p["sha256"]) for p in api["problems"]] == [("altered", sha256)]

        # Gone from the bucket altogether is caught too.
        s3.delete_object(Bucket=bucket, Key=key)
        assert "missing" in runner.invoke(cli, verify).output


def test_backup_copies_the_bucket_beside_the_file_and_restore_fills_another_bucket(
    sqlite_url: str,
    tmp_path: Path,
    s3: Any,
    s3_settings: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with served(sqlite_url, **s3_settings) as world:
        sha256 = upload(world, on_scene(world), photo()).json()["sha256"]
    for name, value in s3_settings.items():
        monkeypatch.setenv(f"RESCUE_{name.upper()}", value)
    runner = CliRunner()
    backup_file = tmp_path / "backups" / "rescue.db"
    made = runner.invoke(cli, ["backup", "--db", sqlite_url, "--to", str(backup_file)])
    assert made.exit_code == 0, made.output
    assert list(DirectoryPhotos(tmp_path / "backups" / "rescue.db.photos").hashes()) == [sha256]
    # Restored into a new store whose photos go to a bucket of their own.
    other = f"rescue-photos-{next(buckets)}"
    s3.create_bucket(Bucket=other)
    monkeypatch.setenv("RESCUE_PHOTOS_S3_BUCKET", other)
    restored = f"sqlite:///{tmp_path / 'restored' / 'rescue.db'}"
    back = runner.invoke(cli, ["restore", "--from", str(backup_file), "--db", restored])
    assert back.exit_code == 0, back.output
    assert "photos: 1 restored" in back.output
    assert S3Photos(s3, other, "evidence/").get(sha256) == photo()
    checked = runner.invoke(cli, ["audit", "verify", "--db", restored])
    assert checked.exit_code == 0, checked.output
    assert "1 photos match their recorded hashes" in checked.output


def test_an_unreachable_or_refusing_store_is_unavailable_not_missing(
    endpoint: str, bucket: str
) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on once this closes
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    once = Config(retries={"max_attempts": 1}, connect_timeout=5)
    nobody = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{closed}",
        region_name=REGION,
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        config=once,
    )
    gone = S3Photos(nobody, bucket)
    for attempt in (
        lambda: gone.put(b"x"),
        lambda: gone.get("a" * 64),
        lambda: gone.exists("a" * 64),
        lambda: list(gone.hashes()),
    ):
        with pytest.raises(Unavailable, match="unavailable"):
            attempt()
    # A bucket that is not there is a store that refuses, not a photo that is missing.
    wrong = S3Photos(s3_client(endpoint, REGION, KEY, SECRET), "no-such-bucket")
    with pytest.raises(Unavailable, match="refused"):
        list(wrong.hashes())


def test_audit_verify_says_when_the_photo_store_cannot_be_read(
    store_url: str, s3_settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    with served(store_url, **s3_settings) as world:
        answer = upload(world, on_scene(world), photo(), kind="odometer")
        assert answer.status_code == 201, answer.text
    # The auditor's machine names a bucket that is not there.
    for name, value in {**s3_settings, "photos_s3_bucket": "no-such-bucket"}.items():
        monkeypatch.setenv(f"RESCUE_{name.upper()}", value)
    checked = CliRunner().invoke(cli, ["audit", "verify", "--db", store_url])
    assert checked.exit_code == 2, checked.output
    assert "photos could not be checked" in checked.output
    assert "is intact" in checked.output
