"""The fixed words of the domain: tiers, capabilities, faults, statuses, roles.

These strings are part of the public interface (the HTTP API, the CLI, the tablets)
and of the stored events, so they never change spelling.
"""

from __future__ import annotations

from enum import StrEnum


class Tier(StrEnum):
    REGIONAL_OFFICE = "regional_office"
    DEALER = "dealer"
    SERVICE_POINT = "service_point"
    COUNTY_STATION = "county_station"
    TOWN_STATION = "town_station"


class Capability(StrEnum):
    TOW = "tow"
    BATTERY = "battery"
    TIRE = "tire"
    FUEL = "fuel"
    LOCKOUT = "lockout"
    REPAIR = "repair"


class FaultCategory(StrEnum):
    BATTERY = "battery"
    FLAT_TIRE = "flat_tire"
    OUT_OF_FUEL = "out_of_fuel"
    LOCKOUT = "lockout"
    ENGINE_FAILURE = "engine_failure"
    OVERHEATING = "overheating"
    TRANSMISSION = "transmission"
    ELECTRICAL = "electrical"
    ACCIDENT = "accident"
    OTHER = "other"


# What a van must carry to handle a fault. A vehicle that cannot be driven
# after an accident, a transmission or an engine failure has to be towed;
# everything else is first tried on the spot by a van with the right kit.
CAPABILITY_FOR_FAULT: dict[FaultCategory, Capability] = {
    FaultCategory.BATTERY: Capability.BATTERY,
    FaultCategory.FLAT_TIRE: Capability.TIRE,
    FaultCategory.OUT_OF_FUEL: Capability.FUEL,
    FaultCategory.LOCKOUT: Capability.LOCKOUT,
    FaultCategory.ENGINE_FAILURE: Capability.TOW,
    FaultCategory.OVERHEATING: Capability.REPAIR,
    FaultCategory.TRANSMISSION: Capability.TOW,
    FaultCategory.ELECTRICAL: Capability.REPAIR,
    FaultCategory.ACCIDENT: Capability.TOW,
    FaultCategory.OTHER: Capability.REPAIR,
}


class IncidentStatus(StrEnum):
    REPORTED = "reported"
    QUEUED = "queued"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    TOWING = "towing"
    COMPLETED = "completed"
    CLOSED = "closed"
    CANCELLED = "cancelled"


# Statuses in which an incident no longer changes.
FINAL_STATUSES = frozenset({IncidentStatus.CLOSED, IncidentStatus.CANCELLED})
# Statuses in which a van is bound to the incident.
VAN_BOUND_STATUSES = frozenset(
    {
        IncidentStatus.OFFERED,
        IncidentStatus.ACCEPTED,
        IncidentStatus.EN_ROUTE,
        IncidentStatus.ON_SCENE,
        IncidentStatus.TOWING,
    }
)


class VanStatus(StrEnum):
    OFF_DUTY = "off_duty"
    AVAILABLE = "available"
    OFFERED = "offered"
    BUSY = "busy"


class Role(StrEnum):
    OPERATOR = "operator"
    CREW = "crew"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Outcome(StrEnum):
    REPAIRED_ON_SITE = "repaired_on_site"
    TOWED = "towed"
