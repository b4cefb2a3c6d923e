"""A mapper that encodes GPS position events without the generic JSON encoder.

Positions are the volume of the log, and the library's encoder calls back into
Python for every datetime. For `VanTrack.PositionReported`, whose fields are
plain JSON apart from two datetimes, orjson writes the very same document
(datetimes tagged exactly as the library's `DatetimeAsISO` transcoding tags
them), so the library's decoder reads it back unchanged. Every other event
takes the library's path.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from rescue.tracks import VanTrack

POSITION_TOPIC = get_topic(VanTrack.PositionReported)
DATETIME = "datetime_iso"


class FastPositionMapper(Mapper[UUID]):
    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        if type(domain_event) is not VanTrack.PositionReported or self.compressor or self.cipher:
            return super().to_stored_event(domain_event)
        fields = vars(domain_event)
        try:
            state = self._encode(fields)
        except orjson.JSONEncodeError:  # e.g. an offset with seconds: the library's way
            return super().to_stored_event(domain_event)
        return StoredEvent(
            originator_id=fields["originator_id"],
            originator_version=fields["originator_version"],
            topic=POSITION_TOPIC,
            state=state,
        )

    @staticmethod
    def _encode(fields: dict[str, Any]) -> bytes:
        # orjson writes a datetime as isoformat() does (RFC 3339, offset kept,
        # microseconds only when non-zero), without calling back into Python.
        return orjson.dumps(
            {
                "timestamp": {"_type_": DATETIME, "_data_": fields["timestamp"]},
                "lat": fields["lat"],
                "lon": fields["lon"],
                "recorded_at": {"_type_": DATETIME, "_data_": fields["recorded_at"]},
                "speed_kmh": fields["speed_kmh"],
                "heading": fields["heading"],
                "accuracy_m": fields["accuracy_m"],
            }
        )
