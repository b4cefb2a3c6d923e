"""The shell blocks of README.md and docs/*.md run as written, in a scratch folder with this
checkout's .venv; a block that cannot run there is fenced `sh no-run: <why>` and says why."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(sh[^\n]*)\n(.*?)^```$", re.M | re.S)


def shell_blocks() -> list[tuple[str, str, str]]:
    """(where, fence info, body) of every sh block."""
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text[: match.start()].count("\n") + 1
            found.append((f"{doc.relative_to(ROOT)}:{line}", match[1].strip(), match[2]))
    return found


BLOCKS = shell_blocks()
RUNNABLE = [b for b in BLOCKS if not b[1].startswith("sh no-run")]


def test_the_docs_have_shell_blocks_and_each_skipped_one_says_why() -> None:
    assert len(BLOCKS) >= 5 and RUNNABLE
    unexplained = [
        where
        for where, info, _ in BLOCKS
        if info.startswith("sh no-run") and len(info.partition(":")[2].strip()) < 10
    ]
    assert unexplained == [], "write `sh no-run: <why it cannot run here>`"
    assert all(
        info in ("sh", "sh no-run") or info.startswith("sh no-run:") for _, info, _ in BLOCKS
    )


@pytest.mark.parametrize(("where", "info", "body"), RUNNABLE, ids=[b[0] for b in RUNNABLE])
def test_a_shell_block_runs_as_written(where: str, info: str, body: str, tmp_path: Path) -> None:
    # The block runs where a reader would be, a checkout's root: here a scratch folder with
    # the checkout's .venv, so whatever it writes under ./var goes away with the test.
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESCUE_")}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", body],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"{where}:\n{body}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
