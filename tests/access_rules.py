"""Who may call what: every HTTP route's allowed callers, shared by the access matrix and the
API fuzz test (which calls each route with the token of a caller allowed there)."""

from __future__ import annotations

OP, AUD, ADM, CREW, OTHER = "operator", "auditor", "admin", "crew1", "crew2"
ANYONE = {OP, AUD, ADM, CREW, OTHER}
DESK = {OP, AUD}
# Crew steps are for the crew of the incident's van: another van's crew gets 403 (the
# incident is not with that van, whatever its status), as do the desk roles.
STEPS = ("accept", "decline", "depart", "arrive", "diagnose", "resolve", "complete")
STEP_ROUTES = {f"/api/incidents/{{incident_id}}/{step}" for step in STEPS}

# None: open to anyone (no bearer token checked).
ALLOWED: dict[tuple[str, str], set[str] | None] = {
    ("GET", "/healthz"): None,  # open
    ("GET", "/api/pages/config"): None,  # open: what a sign-in page needs
    ("POST", "/api/stations"): {ADM},
    ("GET", "/api/stations"): ANYONE,
    ("POST", "/api/vans"): {ADM},
    ("GET", "/api/vans"): ANYONE,
    ("GET", "/api/vans/{van_id}"): ANYONE,
    ("GET", "/api/vans/{van_id}/history"): DESK,
    ("POST", "/api/vans/{van_id}/shift"): {OP, ADM, CREW},
    ("POST", "/api/vans/{van_id}/positions"): {CREW},
    ("GET", "/api/pages/whoami"): ANYONE,
    ("GET", "/api/places"): ANYONE,
    ("GET", "/api/incidents/search"): DESK,
    ("POST", "/api/incidents"): {OP},
    ("GET", "/api/incidents"): DESK,
    ("GET", "/api/incidents/{incident_id}"): {OP, AUD, CREW},
    ("GET", "/api/incidents/{incident_id}/history"): DESK,
    ("POST", "/api/incidents/{incident_id}/dispatch"): {OP},
    **{("POST", route): {CREW} for route in STEP_ROUTES},
    ("POST", "/api/incidents/{incident_id}/cancel"): {OP},
    ("POST", "/api/incidents/{incident_id}/close"): {OP},
    ("GET", "/api/feeds"): DESK,
    ("GET", "/osmand"): None,  # the device id is the credential: checked in its own test
    ("POST", "/osmand"): None,
    ("POST", "/"): None,  # Traccar's default path
    ("GET", "/api/views/board"): DESK,
    ("GET", "/api/views/vans"): DESK,
    ("GET", "/api/views/stations"): DESK,
    ("GET", "/api/views/kpis"): DESK,
    ("GET", "/api/incidents/{incident_id}/claim"): DESK,
    ("POST", "/api/incidents/{incident_id}/claim/approval"): {ADM},
    ("POST", "/api/incidents/{incident_id}/claim/submit"): {OP, ADM},
    ("POST", "/api/incidents/{incident_id}/claim/answer"): {ADM},
    ("POST", "/api/incidents/{incident_id}/claim/settle"): {ADM},
    ("GET", "/api/followups"): {OP},
    ("GET", "/api/incidents/{incident_id}/followup"): DESK,
    ("POST", "/api/incidents/{incident_id}/followup/calls"): {OP},
    ("GET", "/api/complaints"): DESK,
    ("GET", "/api/incidents/{incident_id}/complaint"): DESK,
    ("POST", "/api/incidents/{incident_id}/complaint"): {OP},
    ("POST", "/api/incidents/{incident_id}/complaint/answer"): {OP},
    ("POST", "/api/incidents/{incident_id}/complaint/close"): {OP},
    ("GET", "/api/board"): DESK,
    ("GET", "/api/incidents/{incident_id}/export"): {OP, AUD, ADM},
    ("GET", "/api/audit/verify"): {AUD, ADM},
    ("POST", "/api/privacy/erase"): {ADM},
    ("POST", "/api/incidents/{incident_id}/messages"): {OP, CREW},
    ("GET", "/api/incidents/{incident_id}/messages"): {OP, AUD, CREW},
    ("POST", "/api/incidents/{incident_id}/messages/{message_id}/read"): {OP, CREW},
    ("POST", "/api/vans/{van_id}/messages"): {OP, CREW},
    ("GET", "/api/vans/{van_id}/messages"): {OP, AUD, CREW},
    ("POST", "/api/vans/{van_id}/messages/{message_id}/read"): {OP, CREW},
    ("GET", "/api/incidents/{incident_id}/tracking"): {OP},
    ("POST", "/api/incidents/{incident_id}/tracking/resend"): {OP},
    ("GET", "/t/{code}/status"): None,  # the code is the customer's key: its own test
    ("GET", "/t/{code}/events"): None,
    ("GET", "/api/scorecards"): {OP, AUD, ADM},
    ("GET", "/api/scorecards/incidents"): {OP, AUD, ADM},
    ("GET", "/api/vans/{van_id}/track"): DESK,
    ("GET", "/api/incidents/{incident_id}/notifications"): DESK,
    ("POST", "/api/webhooks"): {ADM},
    ("GET", "/api/webhooks"): {ADM},
    ("DELETE", "/api/webhooks/{webhook_id}"): {ADM},
    ("GET", "/api/webhooks/{webhook_id}/deliveries"): {ADM},
    ("POST", "/api/customers/lookup"): DESK,
    ("GET", "/api/vans/{van_id}/stock"): {OP, ADM, CREW},
    ("POST", "/api/vans/{van_id}/stock"): {ADM},
    ("GET", "/api/parts/abc"): {OP, AUD, ADM},
    ("GET", "/api/parts/replenishment"): {OP, AUD, ADM},
    ("GET", "/api/stats/faults"): {OP, AUD, ADM},
    ("GET", "/api/maintenance/vans"): {OP, AUD, ADM},
    ("GET", "/api/vans/{van_id}/maintenance"): {OP, AUD, ADM},
    ("POST", "/api/vans/{van_id}/maintenance"): {ADM},
    ("POST", "/api/incidents/{incident_id}/photos"): {CREW},
    ("GET", "/api/incidents/{incident_id}/photos"): {OP, AUD, CREW},
    ("GET", "/api/incidents/{incident_id}/photos/{photo_id}"): {OP, AUD, CREW},
}

# The WebSocket feeds (not in the OpenAPI document): who may open each.
SOCKETS: dict[str, set[str]] = {
    "/ws/board": DESK,
    "/ws/crew": {CREW, OTHER},  # any van's crew: each hears of its own van only
}
