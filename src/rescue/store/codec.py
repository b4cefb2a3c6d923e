"""The one place that knows the library's stored-event JSON: writing GPS fixes fast, reading states.

Writing: positions are the volume of the log, and the library's encoder calls
back into Python for every datetime. For `VanTrack.PositionReported`, whose
fields are plain JSON apart from two datetimes, orjson writes the very same
document (datetimes tagged exactly as the library's `DatetimeAsISO`
transcoding tags them), so the library's decoder reads it back unchanged.
Every other event takes the library's path.

Reading without building events, for the readers that cannot afford the
library's decoder or want the document as stored: `plain_json` undoes the
mapper's cipher and compressor when it has them (the one place that does),
`state_document` and `untag` give the document and its plain values, and
`position_fixes` reads GPS fixes' fields straight from their JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from rescue.domain.tracks import VanTrack
from rescue.store.legacy_topics import legacy_topic, register_legacy_topics

# Old logs must read: their rows name the classes by the modules they had then.
register_legacy_topics()
POSITION_TOPIC = get_topic(VanTrack.PositionReported)
# GPS reports are told apart by topic before decoding: a log may hold both names.
POSITION_TOPICS = frozenset({POSITION_TOPIC, legacy_topic(POSITION_TOPIC) or POSITION_TOPIC})
DATETIME = "datetime_iso"


class FastPositionMapper(Mapper[UUID]):
    @property
    def plain(self) -> bool:
        """Whether states are stored as encoded (no compression or cipher over them)."""
        return not (self.compressor or self.cipher)

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        if type(domain_event) is not VanTrack.PositionReported:
            return super().to_stored_event(domain_event)
        fields = vars(domain_event)
        return StoredEvent(
            originator_id=fields["originator_id"],
            originator_version=fields["originator_version"],
            topic=POSITION_TOPIC,
            state=self.position_state(
                fields["originator_id"],
                fields["originator_version"],
                fields["timestamp"],
                fields["lat"],
                fields["lon"],
                fields["recorded_at"],
                fields["speed_kmh"],
                fields["heading"],
                fields["accuracy_m"],
                fields.get("device"),
            ),
        )

    def position_state(
        self,
        originator_id: UUID,
        originator_version: int,
        timestamp: datetime,
        lat: float,
        lon: float,
        recorded_at: datetime,
        speed_kmh: float | None,
        heading: float | None,
        accuracy_m: float | None,
        device: dict[str, Any] | None = None,
    ) -> bytes:
        """The stored state of the PositionReported event with these fields.

        Written by `encode_position` when it can; otherwise (a UTC offset with
        seconds, a compressor or cipher over the states) the library's way, from
        the event. The position writer calls this without building the event
        (rescue.services.positions).
        """
        if self.plain:
            state = encode_position(
                timestamp, lat, lon, recorded_at, speed_kmh, heading, accuracy_m, device
            )
            if state is not None:
                return state
        # The event class's fields come from the library's metaclass, unseen by mypy.
        event_class: Any = VanTrack.PositionReported
        event = event_class(
            originator_id=originator_id,
            originator_version=originator_version,
            timestamp=timestamp,
            lat=lat,
            lon=lon,
            recorded_at=recorded_at,
            speed_kmh=speed_kmh,
            heading=heading,
            accuracy_m=accuracy_m,
            device=device,
        )
        return super().to_stored_event(event).state


def encode_position(
    timestamp: datetime,
    lat: float,
    lon: float,
    recorded_at: datetime,
    speed_kmh: float | None,
    heading: float | None,
    accuracy_m: float | None,
    device: dict[str, Any] | None = None,
) -> bytes | None:
    """A PositionReported event's state as the library's transcoder would write it, or None.

    None when orjson cannot write the same document: a UTC offset with seconds
    (orjson writes whole minutes and would silently move the instant), or a value
    it refuses. The caller then takes the library's encoder.
    """
    # UTC, what the API hands over, is told by identity: the general test costs a
    # third of the encoding.
    if timestamp.tzinfo is not UTC and not _whole_minutes_offset(timestamp):
        return None
    if recorded_at.tzinfo is not UTC and not _whole_minutes_offset(recorded_at):
        return None
    # orjson writes a datetime as isoformat() does (RFC 3339, offset kept,
    # microseconds only when non-zero), without calling back into Python.
    try:
        return orjson.dumps(
            {
                "timestamp": {"_type_": DATETIME, "_data_": timestamp},
                "lat": lat,
                "lon": lon,
                "recorded_at": {"_type_": DATETIME, "_data_": recorded_at},
                "speed_kmh": speed_kmh,
                "heading": heading,
                "accuracy_m": accuracy_m,
                "device": device,
            }
        )
    except orjson.JSONEncodeError:
        return None


def _whole_minutes_offset(moment: datetime) -> bool:
    offset = moment.utcoffset()
    return offset is None or not (offset.seconds % 60 or offset.microseconds)


# -- reading stored states --------------------------------------------------------------------


# A GPS fix's fields as stored: timestamp, lat, lon, recorded_at, speed_kmh, heading,
# accuracy_m; the times are the ISO text written, offset kept. A plain tuple, unpacked
# by the readers: a NamedTuple's constructor is one more Python call per fix.
PositionFix = tuple[str, float, float, str, float | None, float | None, float | None]


def plain_json(mapper: Mapper[Any], state: bytes) -> bytes:
    """A stored state as the transcoder wrote it: deciphered, then decompressed, as the mapper does.

    Raises the cipher's error for a state it did not encrypt (a wrong key, altered bytes).
    """
    if mapper.cipher:
        state = mapper.cipher.decrypt(state)
    if mapper.compressor:
        state = mapper.compressor.decompress(state)
    return state


def state_document(state: bytes, mapper: Mapper[Any] | None = None) -> dict[str, Any]:
    """The JSON object of a stored state, tagged values still tagged.

    Without a mapper the state must be plain JSON (an export checked offline).
    Read with the standard `json` module, as the library's transcoder reads:
    it also takes what orjson refuses (NaN, integers past 64 bits). Raises
    ValueError for bytes that are not a JSON object.
    """
    if mapper is not None:
        state = plain_json(mapper, state)
    document = json.loads(state)
    if not isinstance(document, dict):
        raise ValueError(f"a stored state is a JSON object, not {type(document).__name__}")
    return document


def untag(value: Any) -> Any:
    """The library's tagged values (datetimes, UUIDs...) as the data they tag.

    A tagged value is stored as `{"_type_": name, "_data_": data}`; a datetime
    becomes its ISO text, offset kept, exactly as stored.
    """
    if isinstance(value, dict):
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            return untag(value["_data_"])
        return {key: untag(item) for key, item in value.items()}
    if isinstance(value, list):
        return [untag(item) for item in value]
    return value


def position_fixes(mapper: Mapper[Any], states: Sequence[bytes]) -> list[PositionFix]:
    """Stored PositionReported states' fields (see `PositionFix`), without building events.

    The read side's hot path (most of the log is GPS fixes): orjson and a
    tuple, no event object and no callback per datetime, and one call for a
    whole run of fixes rather than one per fix. States
    written by the library's encoder read the same; one holding what orjson
    refuses (NaN) falls back to the standard `json` module.
    """
    if mapper.cipher or mapper.compressor:
        states = [plain_json(mapper, state) for state in states]
    loads = orjson.loads
    fixes: list[PositionFix] = []
    append = fixes.append
    for state in states:
        try:
            document = loads(state)
        except orjson.JSONDecodeError:
            document = json.loads(state)
        append(
            (
                document["timestamp"]["_data_"],
                document["lat"],
                document["lon"],
                document["recorded_at"]["_data_"],
                document["speed_kmh"],
                document["heading"],
                document["accuracy_m"],
            )
        )
    return fixes


def position_fix(mapper: Mapper[Any], state: bytes) -> PositionFix:
    """One stored PositionReported state's fields (see `position_fixes`)."""
    return position_fixes(mapper, (state,))[0]
