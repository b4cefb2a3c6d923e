"""docs/settings.md is what `python -m rescue.settings_doc` writes from `Settings` today."""

from __future__ import annotations

from pathlib import Path

from rescue.settings import Settings
from rescue.settings_doc import COMMAND, DOC, render

ROOT = Path(__file__).resolve().parents[2]


def test_the_settings_reference_matches_the_settings() -> None:
    written = (ROOT / DOC).read_text(encoding="utf-8")
    missing = [n for n in Settings.model_fields if f"`RESCUE_{n.upper()}`" not in written]
    assert missing == [], f"settings missing from {DOC}: {missing}; run `{COMMAND}`"
    assert written == render(), f"{DOC} is out of date: run `{COMMAND}`"


def test_every_setting_says_what_it_does() -> None:
    silent = [n for n, f in Settings.model_fields.items() if not f.description]
    assert silent == [], "give these settings a description= in src/rescue/settings.py"
