"""Options shared by the commands, each showing in `--help` what it falls back to."""

from __future__ import annotations

from typing import Annotated

import typer

from rescue.settings import Settings


def setting_default(name: str) -> str:
    """What an option left unset falls back to: the setting's variable, then its default."""
    return f"env RESCUE_{name.upper()}, else {Settings.model_fields[name].default}"


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="store: sqlite:///path or postgresql://...", show_default=setting_default("db")
    ),
]
