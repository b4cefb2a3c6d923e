"""Topics of stored events written before the domain moved into `rescue.domain`.

A stored event names its class by topic (`module:qualname`). Logs written
when the aggregates lived in flat modules (`rescue.incidents:Incident.Reported`)
must still read, and the hash chain covers the topic as stored, so the rows are
never rewritten: each old module name is registered as an alias of the module
that holds its classes now.
"""

from __future__ import annotations

from types import ModuleType

from eventsourcing.utils import register_topic

from rescue.domain import (
    access,
    claims,
    followups,
    idempotency,
    incidents,
    stations,
    tracks,
    vans,
)

MOVED: dict[str, ModuleType] = {
    f"rescue.{module.__name__.rsplit('.', 1)[-1]}": module
    for module in (access, claims, followups, idempotency, incidents, stations, tracks, vans)
}


def legacy_topic(topic: str) -> str | None:
    """The topic a class of a moved module had before the move, or None."""
    module, _, qualname = topic.partition(":")
    if not module.startswith("rescue.domain."):
        return None
    old = "rescue." + module.removeprefix("rescue.domain.")
    return f"{old}:{qualname}" if old in MOVED else None


def register_legacy_topics() -> None:
    for old, module in MOVED.items():
        register_topic(old, module)


register_legacy_topics()
