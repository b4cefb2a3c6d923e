"""Photos as evidence of a job: what each one shows, and the rule for a claim's parts.

The crew photographs the vehicle before and after the repair, the odometer,
the VIN plate and each replaced part. The bytes are kept outside the log
under their SHA-256; the incident's event records that hash with the size,
type, who sent it and when, and the time and position the photo's own
metadata claims.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rescue.domain.errors import NotFound

KINDS = ("before", "after", "odometer", "vin_plate", "part", "other")
MAX_BYTES = 10 * 1024 * 1024


def check_kind(kind: str, part_no: str | None) -> tuple[str, str | None]:
    """What the photo shows; a photo of a part names the part (its number as diagnosed)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    part = (part_no or "").strip() or None
    if part is not None and len(part) > 40:
        raise ValueError("part_no is at most 40 characters")
    if kind == "part" and part is None:
        raise ValueError("a photo of a part names it: give part_no")
    return kind, part if kind == "part" else None


def photo_doc(fields: dict[str, Any], actor: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {**fields, "by": actor.get("name"), "van_id": actor.get("van_id"), "at": at.isoformat()}


def photos_of(aggregate: Any) -> list[dict[str, Any]]:
    """The incident's photos, oldest first (none for one recorded before photos existed)."""
    kept: list[dict[str, Any]] = aggregate.__dict__.setdefault("photos", [])
    return kept


def find_photo(photos: list[dict[str, Any]], photo_id: str) -> dict[str, Any]:
    for photo in photos:
        if photo["photo_id"] == photo_id:
            return photo
    raise NotFound(f"no photo {photo_id}")


def parts_without_photo(
    diagnosis: dict[str, Any] | None, photos: list[dict[str, Any]]
) -> list[str]:
    """The replaced parts (as diagnosed) that no photo shows: a claim for them needs one."""
    shown = {p.get("part_no") for p in photos if p.get("kind") == "part"}
    parts = (diagnosis or {}).get("parts") or []
    return [p["part_no"] for p in parts if p.get("part_no") and p["part_no"] not in shown]
