"""A worker process starts from exactly the parent's settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rescue.api.workers import worker_environment
from rescue.settings import Settings


def test_every_setting_survives_the_trip_through_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    parent = Settings(
        db=f"sqlite:///{tmp_path / 'r.db'}",
        sms_templates={"accepted": "救援车 {call_sign} 已出发 {link}"},
        sms_password="s3cret",
        key_file=tmp_path / "key",
    )
    for name in list(os.environ):
        if name.startswith("RESCUE_"):
            monkeypatch.delenv(name)
    for name, value in worker_environment(parent).items():
        monkeypatch.setenv(name, value)
    assert Settings() == parent
