"""A mapper that encodes GPS position events without the generic JSON encoder.

Positions are the volume of the log, and the library's encoder calls back into
Python for every datetime. For `VanTrack.PositionReported`, whose fields are
plain JSON apart from two datetimes, orjson writes the very same document
(datetimes tagged exactly as the library's `DatetimeAsISO` transcoding tags
them), so the library's decoder reads it back unchanged. Every other event
takes the library's path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from rescue.tracks import VanTrack

POSITION_TOPIC = get_topic(VanTrack.PositionReported)
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME


def _tag_datetime(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"_type_": "datetime_iso", "_data_": value.isoformat()}
    raise TypeError(f"cannot encode {type(value).__name__} on the position fast path")


class FastPositionMapper(Mapper[UUID]):
    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        if type(domain_event) is not VanTrack.PositionReported or self.compressor or self.cipher:
            return super().to_stored_event(domain_event)
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=POSITION_TOPIC,
            state=orjson.dumps(state, default=_tag_datetime, option=_OPTIONS),
        )
