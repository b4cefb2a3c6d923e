"""An exported incident carries the hashes that prove it: it verifies without the database, and
any alteration (data, stored bytes, a removed or reordered event) makes the check fail.
Callers' name and phone are in the export only for roles that may see them."""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from rescue.services.audit import verify, verify_export
from rescue.store.chain import link
from tests.builders import HttpWorld, served
from tests.record_builders import call, worked

NAME, PHONE = "张三丰", "13912345678"


@pytest.fixture
def world(store_url: str) -> Iterator[HttpWorld]:
    with served(store_url) as served_world:
        yield served_world


@pytest.fixture
def exported(world: HttpWorld) -> dict[str, Any]:
    incident_id = worked(world.app, call("D22"))
    answer = world.get(f"/api/incidents/{incident_id}/export", "auditor")
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


def check_file(document: dict[str, Any], folder: Path) -> subprocess.CompletedProcess[str]:
    path = folder / "export.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "rescue.cli", "audit", "verify-export", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def kinds(document: dict[str, Any]) -> list[str]:
    return [p.kind for p in verify_export(document)]


def test_an_export_verifies_offline(
    world: HttpWorld, exported: dict[str, Any], tmp_path: Path
) -> None:
    # 1. The export holds the incident's events and the claim and follow-up recorded with it.
    types = [e["type"] for e in exported["events"]]
    assert types[0] == "Incident.Reported"
    assert {"Incident.Completed", "Claim.Drafted", "FollowUp.Scheduled"} <= set(types)
    assert set(exported["aggregates"]) == {"incident", "claim", "followup"}
    # 2. Its hashes are the chain's: the same as in the store, and the head is the log's head.
    with_hashes = world.app.store.recorder.select_chained  # type: ignore[attr-defined]
    first = exported["events"][0]
    stored = {r.notification_id: r.hash for r in with_hashes(UUID(first["originator_id"]))}
    assert stored[first["notification_id"]] == first["hash"]
    head = verify(world.app.store.recorder).head  # type: ignore[arg-type]
    assert head is not None and exported["head"]["hash"] == head.hash
    # 3. It checks out on its own, in process and with the command.
    assert verify_export(exported) == []
    done = check_file(exported, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "intact" in done.stdout


def test_an_altered_export_fails(exported: dict[str, Any], tmp_path: Path) -> None:
    events = exported["events"]
    diagnosed = next(i for i, e in enumerate(events) if e["type"] == "Incident.Diagnosed")

    # 1. The readable data says something else than what was recorded.
    altered = copy.deepcopy(exported)
    altered["events"][diagnosed]["data"]["cause"] = "customer misuse"
    assert kinds(altered) == ["changed"]
    done = check_file(altered, tmp_path)
    assert done.returncode == 1
    assert f"notification {events[diagnosed]['notification_id']}" in done.stderr

    # 2. The stored bytes are changed (and the readable data with them).
    altered = copy.deepcopy(exported)
    state = base64.b64decode(altered["events"][diagnosed]["state_base64"])
    state = state.replace(b"fuel pump seized", b"fuel pump broken")
    altered["events"][diagnosed]["state_base64"] = base64.b64encode(state).decode()
    altered["events"][diagnosed]["data"]["cause"] = "fuel pump broken"
    assert kinds(altered) == ["changed"]

    # 3. An event is left out.
    altered = copy.deepcopy(exported)
    del altered["events"][diagnosed]
    assert "removed" in kinds(altered)
    assert check_file(altered, tmp_path).returncode == 1

    # 4. Two events trade places.
    altered = copy.deepcopy(exported)
    moved = altered["events"]
    moved[diagnosed], moved[diagnosed + 1] = moved[diagnosed + 1], moved[diagnosed]
    assert "out_of_order" in kinds(altered)

    # 5. A changed event's hash is recomputed to fit: the next event's link gives it away.
    altered = copy.deepcopy(exported)
    target = altered["events"][diagnosed]
    successor = altered["events"][diagnosed + 1]
    assert successor["prev_id"] == target["notification_id"]
    state = base64.b64decode(target["state_base64"]).replace(b"seized", b"broken")
    target["state_base64"] = base64.b64encode(state).decode()
    target["data"]["cause"] = "fuel pump broken"
    target["hash"] = link(
        bytes.fromhex(target["prev_hash"]),
        target["notification_id"],
        target["originator_id"],
        target["originator_version"],
        target["topic"],
        state,
    ).hex()
    problems = verify_export(altered)
    assert [(p.kind, p.notification_id) for p in problems] == [
        ("chain_altered", successor["notification_id"])
    ]


def test_personal_data_in_exports_follows_the_role(world: HttpWorld) -> None:
    incident_id = worked(world.app, call("D22"))
    url = f"/api/incidents/{incident_id}/export"

    def caller(document: dict[str, Any]) -> Any:
        return document["events"][0]["data"]["caller"]

    # 1. Auditors and operators see the caller; the export says so.
    for who in ("auditor", "operator"):
        document = world.get(url, who).json()
        assert (document["personal_data"], caller(document)) == (
            "clear",
            {"name": NAME, "phone": PHONE},
        )
    # 2. An auditor may ask for a masked export, to hand on; an admin always gets one.
    for who, params in (("auditor", {"masked": "true"}), ("admin", {})):
        document = world.get(url, who, params=params).json()
        assert document["personal_data"] == "masked"
        assert caller(document) == {"name": "张**", "phone": "*******5678"}
        dumped = json.dumps(document, ensure_ascii=False)
        assert NAME not in dumped and PHONE not in dumped
        assert verify_export(document) == []
    # 3. A crew may not export; nobody without a token.
    assert world.get(url, "crew1").status_code == 403
    assert world.get(url, None).status_code == 401


def test_an_admin_cannot_ask_for_the_caller_in_the_clear(world: HttpWorld) -> None:
    incident_id = worked(world.app, call("D22"))
    url = f"/api/incidents/{incident_id}/export"
    for params in ({"masked": "false"}, {"masked": "0"}):
        answer = world.get(url, "admin", params=params)
        assert answer.status_code == 200, answer.text
        document = answer.json()
        assert document["personal_data"] == "masked"
        dumped = json.dumps(document, ensure_ascii=False)
        assert NAME not in dumped and PHONE not in dumped
        assert json.dumps(NAME)[1:-1] not in answer.text
