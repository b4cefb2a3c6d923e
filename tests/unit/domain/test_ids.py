"""Aggregate ids from natural keys never change: stored logs find their aggregates by them. The
ids kept in memory for the busy paths are the same ids on every call."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import pytest

from rescue.domain.ids import station_uuid, token_uuid, track_uuid, van_uuid

# What stores already hold for these keys: uuid5 of "kind:key" in the project's namespace.
STORED: list[tuple[Callable[[str], UUID], str, str]] = [
    (van_uuid, "V-0001", "3c96ba36-3112-58ab-8029-809b7bd40ef6"),
    (track_uuid, "V-0001", "d0c4af7e-2bd9-5c7a-8d22-dd9894aaba6e"),
    (station_uuid, "SH-01", "441684e5-abd6-54f9-93b4-cca5ac6967cc"),
    (token_uuid, "ab" * 32, "25e3c713-cd00-546d-b04f-24bc3eb05017"),
]


@pytest.mark.parametrize(("derive", "key", "stored"), STORED)
def test_an_id_is_the_one_stores_hold_on_every_call(
    derive: Callable[[str], UUID], key: str, stored: str
) -> None:
    assert [derive(key) for _ in range(3)] == [UUID(stored)] * 3
