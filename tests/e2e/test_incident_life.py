"""An incident's whole life through the HTTP API of a real server, by the right roles only."""

from __future__ import annotations

import httpx

from rescue.domain.validation import vin_with_check_digit
from tests.e2e.conftest import NETWORK
from tests.live import LiveServer, bearer

HQ = NETWORK.stations[0]
REPAIR_VAN = NETWORK.vans[1]


def report_body(name: str = "张三", phone: str = "13800138000") -> dict[str, object]:
    return {
        "caller": {"name": name, "phone": phone},
        "vehicle": {
            "vin": vin_with_check_digit("LJNTGU2S0JN000001"),
            "plate": "豫A12345",
            "model_series": "D22",
            "odometer_km": 12000,
            "sold_on": "2025-03-01",
        },
        "location": {"lat": HQ.lat, "lon": HQ.lon, "description": "outside HQ"},
        "fault": {"category": "battery", "description": "will not start"},
        "safety": {"at_night": True},
    }


def test_whole_life_by_the_right_roles(server: tuple[LiveServer, dict[str, str]]) -> None:
    live, tokens = server
    op, aud = bearer(tokens["op"]), bearer(tokens["aud"])
    crew, other_crew = bearer(tokens["crew-repair"]), bearer(tokens["crew-tow"])
    with httpx.Client(base_url=live.url, timeout=30) as http:
        # 1. No token: 401. A crew cannot take calls: 403.
        assert http.post("/api/incidents", json=report_body()).status_code == 401
        assert http.post("/api/incidents", json=report_body(), headers=crew).status_code == 403

        # 2. The operator takes the call; the nearest battery van is HQ's repair van.
        reported = http.post("/api/incidents", json=report_body(), headers=op)
        assert reported.status_code == 201, reported.text
        body = reported.json()
        incident_id = body["incident_id"]
        assert body["status"] == "reported"
        assert body["recommendations"][0]["van_id"] == REPAIR_VAN.van_id
        assert body["recommendations"][0]["distance_km"] == 0.0

        # 3. Only an operator dispatches.
        url = f"/api/incidents/{incident_id}"
        assert http.post(f"{url}/dispatch", json={}, headers=aud).status_code == 403
        dispatched = http.post(f"{url}/dispatch", json={}, headers=op)
        assert dispatched.status_code == 200, dispatched.text
        assert dispatched.json()["status"] == "offered"
        assert dispatched.json()["van_id"] == REPAIR_VAN.van_id

        # 4. Another van's crew cannot accept; the operator cannot do crew steps.
        assert (
            http.post(f"{url}/accept", json={"eta_min": 9}, headers=other_crew).status_code == 403
        )
        assert http.post(f"{url}/accept", json={"eta_min": 9}, headers=op).status_code == 403

        # 5. The crew works the job step by step.
        steps = [
            ("accept", {"eta_min": 9}, "accepted"),
            ("depart", None, "en_route"),
            ("arrive", None, "on_scene"),
            (
                "diagnose",
                {
                    "cause": "battery cell failure",
                    "parts": [
                        {
                            "part_no": "BAT-55",
                            "name": "battery",
                            "system": "other",
                            "qty": 1,
                            "original": True,
                        }
                    ],
                    "findings": [],
                },
                "on_scene",
            ),
            ("resolve", {"outcome": "repaired_on_site"}, "on_scene"),
            ("complete", {"customer_signed": True, "satisfaction": 5}, "completed"),
        ]
        for action, data, status in steps:
            answer = http.post(f"{url}/{action}", json=data, headers=crew)
            assert answer.status_code == 200, (action, answer.text)
            assert answer.json()["status"] == status

        # 6. A step out of turn is a 409 that shows the current state.
        late = http.post(f"{url}/depart", headers=crew)
        assert late.status_code == 409
        assert late.json()["state"]["status"] == "completed"

        # 7. Only the operator closes; then nothing changes any more.
        assert http.post(f"{url}/close", headers=crew).status_code == 403
        assert http.post(f"{url}/close", headers=op).json()["status"] == "closed"
        assert http.post(f"{url}/cancel", json={"reason": "x"}, headers=op).status_code == 409

        # 8. The van is free again; the history names every actor in order.
        assert (
            http.get(f"/api/vans/{REPAIR_VAN.van_id}", headers=op).json()["status"] == "available"
        )
        history = http.get(f"{url}/history", headers=aud)
        assert history.status_code == 200
        kinds = [(e["type"], e["actor"]["role"]) for e in history.json()["events"]]
        assert kinds == [
            ("Reported", "operator"),
            ("Offered", "operator"),
            ("Accepted", "crew"),
            ("Departed", "crew"),
            ("Arrived", "crew"),
            ("Diagnosed", "crew"),
            ("Resolved", "crew"),
            ("Completed", "crew"),
            ("Closed", "operator"),
        ]
        assert history.json()["state"]["caller"] == {"name": "张三", "phone": "13800138000"}
        assert http.get(f"{url}/history", headers=crew).status_code == 403
        assert http.get(f"{url}/history").status_code == 401
