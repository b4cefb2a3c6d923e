"""Erasure by crypto-shredding, through a real server on each store: after `POST
/api/privacy/erase` the caller's name and phone read as erased in every answer and export,
other callers are untouched, the erasure is on the record without the data, and the hash
chain still verifies."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx

from rescue.store.privacy import erased_caller
from tests.e2e.test_incident_life import report_body
from tests.e2e.test_personal_data_at_rest import stored_bytes
from tests.live import LiveServer, bearer

NAME, PHONE = "欧阳娜娜", "13712345678"
OTHER_NAME, OTHER_PHONE = "李四", "13698765432"
ERASED = erased_caller()


def readings(http: httpx.Client, incident_id: str, headers: dict[str, str]) -> list[Any]:
    """The caller as each answer shows it: details, history event and state, export."""
    details = http.get(f"/api/incidents/{incident_id}", headers=headers).json()
    history = http.get(f"/api/incidents/{incident_id}/history", headers=headers).json()
    export = http.get(f"/api/incidents/{incident_id}/export", headers=headers).json()
    reported = next(e for e in history["events"] if e["type"] == "Reported")
    exported = next(e for e in export["events"] if e["type"] == "Incident.Reported")
    return [
        details["caller"],
        reported["data"]["caller"],
        history["state"]["caller"],
        exported["data"]["caller"],
    ]


def test_an_erased_caller_reads_as_erased_everywhere_and_the_chain_verifies(
    server: tuple[LiveServer, dict[str, str]],
) -> None:
    live, tokens = server
    op, adm = bearer(tokens["op"]), bearer(tokens["adm"])
    with httpx.Client(base_url=live.url, timeout=30) as http:
        # 1. Two calls by the caller to erase (the second reuses their key), one by another.
        ids = []
        for name, phone in ((NAME, PHONE), (NAME, "+86 137-1234-5678"), (OTHER_NAME, OTHER_PHONE)):
            created = http.post("/api/incidents", json=report_body(name, phone), headers=op)
            assert created.status_code == 201, created.text
            ids.append(created.json()["incident_id"])
        mine, again, other = ids
        assert readings(http, mine, op) == [{"name": NAME, "phone": PHONE}] * 4
        assert readings(http, again, op)[0] == {"name": NAME, "phone": PHONE}

        # 2. Only an admin may erase, and only a phone number.
        body = {"phone": PHONE, "reason": "the caller asked, ticket 42"}
        assert http.post("/api/privacy/erase", json=body).status_code == 401
        assert http.post("/api/privacy/erase", json=body, headers=op).status_code == 403
        bad = http.post("/api/privacy/erase", json={"phone": "not a phone"}, headers=adm)
        assert bad.status_code == 422, bad.text

        # 3. The admin erases the caller: one key destroyed.
        erased = http.post("/api/privacy/erase", json=body, headers=adm)
        assert erased.status_code == 200, erased.text
        answer = erased.json()
        assert answer["keys_destroyed"] == 1
        assert answer["reason"] == body["reason"]
        assert answer["by"]["role"] == "admin"

        # 4. Both of their calls read as erased in every answer; the other caller does not.
        assert readings(http, mine, op) == [ERASED] * 4
        assert readings(http, again, op) == [ERASED] * 4
        assert readings(http, other, op) == [{"name": OTHER_NAME, "phone": OTHER_PHONE}] * 4
        # An auditor's masked export shows the erasure, not a mask of the marker.
        masked = http.get(
            f"/api/incidents/{mine}/export?masked=true", headers=bearer(tokens["aud"])
        )
        assert (
            next(e for e in masked.json()["events"] if e["type"] == "Incident.Reported")["data"][
                "caller"
            ]
            == ERASED
        )

        # 5. Erasing again records the request with nothing left to destroy.
        twice = http.post("/api/privacy/erase", json=body, headers=adm)
        assert twice.status_code == 200 and twice.json()["keys_destroyed"] == 0

        # 6. A new call from the same number gets a new key and reads in the clear.
        new = http.post("/api/incidents", json=report_body(NAME, PHONE), headers=op).json()
        assert readings(http, new["incident_id"], op)[0] == {"name": NAME, "phone": PHONE}
        assert readings(http, mine, op)[0] == ERASED

        # 7. The chain over the whole log, erasure events included, still verifies.
        check = http.get("/api/audit/verify", headers=adm)
        assert check.status_code == 200 and check.json()["ok"] is True, check.text
    live.stop()

    # 8. The erasure is on the record without the phone, and `rescue audit verify` passes.
    stored = stored_bytes(live.db)
    assert b"ticket 42" in stored
    assert PHONE.encode() not in stored
    verified = subprocess.run(
        [sys.executable, "-m", "rescue.cli", "audit", "verify", "--db", live.db],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
