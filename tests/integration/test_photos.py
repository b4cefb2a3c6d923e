"""Photos as evidence: uploaded by the crew (type by content, size limit), stored by SHA-256
outside the log, recorded on the incident, served without location to all but auditors,
listed on the claim, carried by the export, and checked by `rescue audit verify`."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from rescue.cli import app as cli
from rescue.domain.photos import MAX_BYTES
from rescue.services.imagery import inspect, sample_photo
from rescue.store.photos import DirectoryPhotos, default_photo_dir
from tests.builders import OPERATOR, HttpWorld, crew, report, reported, served

WHERE = {"lat": 34.7577, "lon": 113.6486}


@pytest.fixture
def photos_dir(tmp_path: Path) -> Path:
    return tmp_path / "photos-store"


@pytest.fixture
def world(store_url: str, photos_dir: Path) -> Iterator[HttpWorld]:
    with served(store_url, photos_dir=photos_dir) as world:
        yield world


def on_scene(world: HttpWorld) -> str:
    incident_id = reported(world.app, report())
    assert world.app.dispatch.dispatch(incident_id, OPERATOR.actor).body["van_id"] == "V1"
    for action, data in (("accept", {"eta_min": 9.0}), ("depart", {}), ("arrive", {})):
        world.app.steps.take(incident_id, action, data, crew("V1"))
    return incident_id


def photo(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    return sample_photo(colour, taken_at=datetime(2026, 12, 2, 9, 30, 1), **WHERE)


def upload(world: HttpWorld, incident_id: str, data: bytes, who: str = "crew1", **form: Any) -> Any:
    return world.post(
        f"/api/incidents/{incident_id}/photos",
        who,
        files={"file": ("camera.jpg", data, "image/jpeg")},
        data=form or {"kind": "before"},
    )


def encoded(kind: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 10), (1, 2, 3)).save(out, format=kind)
    return out.getvalue()


def test_a_photo_is_stored_by_hash_and_recorded_with_what_it_claims(
    world: HttpWorld, photos_dir: Path
) -> None:
    incident_id = on_scene(world)
    data = photo()
    # 1. The crew uploads: 201 with the hash, size and type read from the content.
    answer = upload(world, incident_id, data, kind="odometer")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    sha256 = hashlib.sha256(data).hexdigest()
    assert (body["sha256"], body["bytes"]) == (sha256, len(data))
    assert body["content_type"] == "image/jpeg"
    assert body["kind"] == "odometer" and body["by"] == "user-crew1"
    assert "gps" not in body  # the crew's own copy of the record has no location either
    # 2. The bytes sit outside the log under their hash.
    assert (photos_dir / sha256[:2] / sha256).read_bytes() == data
    # 3. The event records hash, size, type, who, and the time and place the photo claims.
    events = world.get(f"/api/incidents/{incident_id}/history", "auditor").json()["events"]
    attached = next(e for e in events if e["type"] == "PhotoAttached")
    assert attached["data"]["sha256"] == sha256 and attached["data"]["bytes"] == len(data)
    assert attached["data"]["taken_at"] == "2026-12-02T09:30:01"
    assert attached["data"]["gps"] == WHERE
    assert attached["actor"] == {"role": "crew", "name": "user-crew1", "van_id": "V1"}
    # 4. The export carries the hash in the chained event.
    export = world.get(f"/api/incidents/{incident_id}/export", "auditor").json()
    chained = next(e for e in export["events"] if e["type"] == "Incident.PhotoAttached")
    assert chained["data"]["sha256"] == sha256 and len(chained["hash"]) == 64


def test_location_is_served_only_to_auditors(world: HttpWorld) -> None:
    incident_id = on_scene(world)
    photo_id = upload(world, incident_id, photo()).json()["photo_id"]
    path = f"/api/incidents/{incident_id}/photos"
    listed = {who: world.get(path, who).json() for who in ("auditor", "operator", "crew1")}
    assert listed["auditor"][0]["gps"] == WHERE
    assert "gps" not in listed["operator"][0] and "gps" not in listed["crew1"][0]
    original = photo()
    for who in ("auditor", "operator", "crew1"):
        served_bytes = world.get(f"{path}/{photo_id}", who)
        assert served_bytes.status_code == 200, (who, served_bytes.text)
        assert served_bytes.headers["content-type"] == "image/jpeg"
        facts = inspect(served_bytes.content)
        if who == "auditor":
            assert served_bytes.content == original  # as stored: it hashes to the record
        else:
            assert facts.gps is None and facts.taken_at == "2026-12-02T09:30:01"
    assert world.get(f"{path}/{photo_id}", "crew2").status_code == 403
    assert world.get(f"{path}/{'0' * 32}", "operator").status_code == 404


def test_the_same_photo_again_or_a_retry_records_it_once(world: HttpWorld) -> None:
    incident_id = on_scene(world)
    data = photo()
    first = upload(world, incident_id, data)
    again = upload(world, incident_id, data)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["photo_id"] == first.json()["photo_id"]
    key = {"Idempotency-Key": "tablet-photo-7"}
    other = photo((30, 200, 30))
    sent = world.post(
        f"/api/incidents/{incident_id}/photos",
        "crew1",
        files={"file": ("a.jpg", other, "image/jpeg")},
        data={"kind": "after"},
        headers=key,
    )
    resent = world.post(
        f"/api/incidents/{incident_id}/photos",
        "crew1",
        files={"file": ("a.jpg", other, "image/jpeg")},
        data={"kind": "after"},
        headers=key,
    )
    assert (sent.status_code, resent.status_code) == (201, 201)
    assert sent.json() == resent.json()
    assert len(world.get(f"/api/incidents/{incident_id}/photos", "operator").json()) == 2


@pytest.mark.parametrize(
    ("content", "form", "status"),
    [
        (encoded("GIF"), {"kind": "before"}, 422),  # not a type we take
        (b"%PDF-1.7 not an image", {"kind": "before"}, 422),  # named .jpg, is not
        (photo()[:300], {"kind": "before"}, 422),  # truncated
        (b"", {"kind": "before"}, 422),
        (photo(), {"kind": "selfie"}, 422),
        (photo(), {"kind": "part"}, 422),  # a part photo names the part
        (photo(), {"kind": "part", "part_no": "P" * 41}, 422),
        (b"\xff\xd8" + b"\0" * MAX_BYTES, {"kind": "before"}, 413),
    ],
)
def test_bad_uploads_are_refused_4xx_and_store_nothing(
    world: HttpWorld, photos_dir: Path, content: bytes, form: dict[str, str], status: int
) -> None:
    incident_id = on_scene(world)
    answer = upload(world, incident_id, content, **form)
    assert answer.status_code == status, answer.text
    assert world.get(f"/api/incidents/{incident_id}/photos", "operator").json() == []
    assert list(DirectoryPhotos(photos_dir).hashes()) == []


def test_who_may_upload(world: HttpWorld) -> None:
    incident_id = on_scene(world)
    assert upload(world, incident_id, photo(), who="crew2").status_code == 403
    assert upload(world, incident_id, photo(), who="operator").status_code == 403
    assert upload(world, incident_id, photo(), who="auditor").status_code == 403
    assert upload(world, "no-such-incident", photo()).status_code == 404
    no_file = world.post(f"/api/incidents/{incident_id}/photos", "crew1", data={"kind": "x"})
    assert no_file.status_code == 422
    world.app.steps.take(incident_id, "cancel", {"reason": "customer left"}, OPERATOR)
    # A cancelled incident takes no more photos (its record is closed).
    assert upload(world, incident_id, photo()).status_code == 409


def test_the_claim_lists_its_photos_and_asks_for_a_replaced_part(world: HttpWorld) -> None:
    incident_id = on_scene(world)
    part = {"part_no": "BAT-55", "name": "battery", "system": "other", "qty": 1, "original": True}
    world.app.steps.take(
        incident_id, "diagnose", {"cause": "dead cell", "parts": [part]}, crew("V1")
    )
    claim = world.get(f"/api/incidents/{incident_id}/claim", "operator").json()
    assert claim["evidence"]["parts_without_photo"] == ["BAT-55"]
    assert "BAT-55" in claim["evidence"]["requests"][0]
    shot = upload(world, incident_id, photo(), kind="part", part_no="BAT-55").json()
    claim = world.get(f"/api/incidents/{incident_id}/claim", "auditor").json()
    assert claim["evidence"]["parts_without_photo"] == []
    assert claim["evidence"]["requests"] == []
    assert [(p["photo_id"], p["sha256"]) for p in claim["evidence"]["photos"]] == [
        (shot["photo_id"], shot["sha256"])
    ]


def test_audit_verify_catches_a_photo_altered_on_disk(
    world: HttpWorld, store_url: str, photos_dir: Path
) -> None:
    incident_id = on_scene(world)
    sha256 = upload(world, incident_id, photo()).json()["sha256"]
    upload(world, incident_id, photo((10, 10, 200)), kind="after")
    runner = CliRunner()
    verify = ["audit", "verify", "--db", store_url, "--photos", str(photos_dir)]
    intact = runner.invoke(cli, verify)
    assert intact.exit_code == 0, intact.output
    assert "2 photos match their recorded hashes" in intact.output
    assert world.get("/api/audit/verify", "auditor").json()["photos"]["ok"] is True
    # One byte of the stored photo changes on disk: the chain is intact, the photo is not.
    stored = photos_dir / sha256[:2] / sha256
    altered = bytearray(stored.read_bytes())
    altered[-10] ^= 0xFF
    stored.write_bytes(bytes(altered))
    caught = runner.invoke(cli, verify)
    assert caught.exit_code == 1, caught.output
    assert "altered" in caught.output and sha256 in caught.output
    api = world.get("/api/audit/verify", "auditor").json()["photos"]
    assert api["ok"] is False
    assert [(p["kind"], p["sha256"]) for p in api["problems"]] == [("altered", sha256)]
    # Gone altogether is caught too.
    stored.unlink()
    assert "missing" in runner.invoke(cli, verify).output


def test_photos_default_beside_the_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "var" / "rescue.db"
    assert default_photo_dir(f"sqlite:///{db}") == tmp_path / "var" / "rescue.db.photos"


def test_a_backup_carries_the_photos_and_restores_them_verified(
    sqlite_url: str, tmp_path: Path
) -> None:
    with served(sqlite_url) as world:  # photos in the default place, beside the database
        incident_id = on_scene(world)
        sha256 = upload(world, incident_id, photo()).json()["sha256"]
    runner = CliRunner()
    backup_file = tmp_path / "backups" / "rescue.db"
    made = runner.invoke(cli, ["backup", "--db", sqlite_url, "--to", str(backup_file)])
    assert made.exit_code == 0, made.output
    beside = DirectoryPhotos(tmp_path / "backups" / "rescue.db.photos")
    assert list(beside.hashes()) == [sha256]
    restored = f"sqlite:///{tmp_path / 'restored' / 'rescue.db'}"
    back = runner.invoke(cli, ["restore", "--from", str(backup_file), "--db", restored])
    assert back.exit_code == 0, back.output
    assert DirectoryPhotos(tmp_path / "restored" / "rescue.db.photos").get(sha256) == photo()
    checked = runner.invoke(cli, ["audit", "verify", "--db", restored])
    assert checked.exit_code == 0, checked.output
    assert "1 photos match their recorded hashes" in checked.output


def test_an_unreadable_multipart_body_is_422(world: HttpWorld) -> None:
    incident_id = on_scene(world)
    answer = world.post(
        f"/api/incidents/{incident_id}/photos",
        "crew1",
        content=b"--b0\r\n-19410--b0--\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=b0"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["body"]
