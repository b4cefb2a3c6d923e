"""The settings reference (docs/settings.md), written from `Settings` itself.

`python -m rescue.settings_doc` rewrites the file; a test fails while the file
and the settings differ, so a new setting cannot ship undocumented.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt
from pydantic.fields import FieldInfo

from rescue.settings import Settings

DOC = Path("docs/settings.md")
COMMAND = "python -m rescue.settings_doc"

_HEADER = f"""# Settings

Every setting is an environment variable with the `RESCUE_` prefix; `rescue serve`
also takes `--db`, `--host`, `--port`, `--log-level` and `--log-format`, which win
over the variables. A bad value stops the command at start-up with a message
naming the variable. The key settings (`RESCUE_CIPHER_KEY`, `RESCUE_KEY_FILE`) are
described in [security.md](security.md).

This file is generated from `src/rescue/settings.py` by `{COMMAND}`
(run it from the repository's root after changing a setting); a test fails
while the two differ.

| variable | default | allowed | what it does |
|---|---|---|---|
"""


def _type_name(annotation: Any) -> str:
    if get_origin(annotation) is Literal:
        return " or ".join(str(a) for a in get_args(annotation))
    text = getattr(annotation, "__name__", None) or str(annotation)
    return text.replace("typing.", "").replace("pathlib.", "").replace("pydantic.types.", "")


def _bounds(field: FieldInfo) -> str:
    words = []
    for rule in field.metadata:
        if isinstance(rule, Ge):
            words.append(f">= {rule.ge}")
        elif isinstance(rule, Gt):
            words.append(f"> {rule.gt}")
        elif isinstance(rule, Le):
            words.append(f"<= {rule.le}")
        elif isinstance(rule, Lt):
            words.append(f"< {rule.lt}")
    kind = _type_name(field.annotation)
    return f"{kind} {' and '.join(words)}".strip()


def _default(field: FieldInfo) -> str:
    if field.default is None:
        return "unset"
    return f"`{field.default}`"


def render() -> str:
    rows = []
    for name, field in Settings.model_fields.items():
        what = (field.description or "").replace("|", "\\|") or "-"
        allowed = _bounds(field).replace("|", "\\|")
        rows.append(f"| `RESCUE_{name.upper()}` | {_default(field)} | {allowed} | {what} |")
    return _HEADER + "\n".join(rows) + "\n"


def main() -> None:
    DOC.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {DOC} ({len(Settings.model_fields)} settings)\n")


if __name__ == "__main__":
    main()
