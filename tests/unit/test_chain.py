"""The chain's link rule is fixed (stored chains and reviewers' own checkers depend on it), and
personal data is masked the same way in every export."""

from __future__ import annotations

import hashlib
from uuid import UUID

from rescue.services.audit import mask_caller, readable
from rescue.store.chain import GENESIS, link
from rescue.store.recorders import originator_key

ORIGINATOR = UUID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
TOPIC = "rescue.incidents:Incident.Diagnosed"
STATE = (
    b'{"cause":"pump","timestamp":{"_type_":"datetime_iso","_data_":"2025-01-02T03:04:05+00:00"}}'
)


def test_the_link_rule_is_the_documented_one() -> None:
    # 1. Written out by hand, as a reviewer would in any language.
    by_hand = hashlib.sha256(
        bytes(32) + b"42\n0f1e2d3c4b5a69788796a5b4c3d2e1f0\n6\n" + TOPIC.encode() + b"\n" + STATE
    ).digest()
    # 2. The chain's own function gives the same digest.
    assert link(GENESIS, 42, originator_key(ORIGINATOR), 6, TOPIC, STATE) == by_hand
    # 3. Each input matters: the place, the version, the previous hash, one byte of state.
    others = {
        link(GENESIS, 43, originator_key(ORIGINATOR), 6, TOPIC, STATE),
        link(GENESIS, 42, originator_key(ORIGINATOR), 7, TOPIC, STATE),
        link(by_hand, 42, originator_key(ORIGINATOR), 6, TOPIC, STATE),
        link(GENESIS, 42, originator_key(ORIGINATOR), 6, TOPIC, STATE.replace(b"pump", b"pumq")),
    }
    assert by_hand not in others and len(others) == 4


def test_the_readable_view_comes_from_the_stored_bytes() -> None:
    # 1. Tagged values are shown plain; the time and actor are lifted out of the data.
    view = readable(TOPIC, STATE)
    assert view == {
        "type": "Incident.Diagnosed",
        "at": "2025-01-02T03:04:05+00:00",
        "actor": None,
        "data": {"cause": "pump"},
    }


def test_a_masked_caller_keeps_only_a_hint() -> None:
    # 1. First character of the name, last four digits of the phone.
    assert mask_caller({"name": "欧阳娜娜", "phone": "13712345678"}) == {
        "name": "欧***",
        "phone": "*******5678",
    }
    # 2. Short or missing values do not leak either.
    assert mask_caller({"name": "李", "phone": "12345"}) == {"name": "李*", "phone": "*****"}
    assert mask_caller({}) == {"name": "", "phone": ""}
