"""`rescue bench`: runs every registered benchmark, prints the table, writes JSON, Markdown, PNG.

Outputs in DIR: `bench.json` (a list of {metric, value, unit, baseline,
ratio, goal, met, ...}), `bench.png` (ratios and goals), `bench.md` (the
table with the date, commit and machine, for the README).

Exit code: 0 when every benchmark ran, 1 when one failed to run (its row
then has no value and `met: false`). A goal not met is reported in the
table and the JSON, not by the exit code: CI checks that the suite runs, the
numbers are for people.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from rescue.bench.registry import BENCHMARKS, BenchContext
from rescue.bench.report import Row, render_table, write_json, write_markdown, write_png
from rescue.progress import progress_bar

__all__ = ["run_suite"]


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _machine() -> str:
    return (
        f"{os.cpu_count()} cores, {platform.machine()}, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def run_suite(
    quick: bool, out: Path, only: Sequence[str] | None = None, pg_url: str | None = None
) -> int:
    """Runs the benchmarks (all, or those named in `only`); returns the exit code.

    `pg_url`: a PostgreSQL server on which the server benchmarks also run."""
    console = Console()
    if not console.is_terminal:
        # Logs and CI: wide enough for the table's rows to stay on one line.
        console = Console(width=160)
    out.mkdir(parents=True, exist_ok=True)
    chosen = [b for b in BENCHMARKS if only is None or b.name in only]
    rows: list[Row] = []
    failed: list[str] = []
    started = datetime.now(UTC)
    with (
        tempfile.TemporaryDirectory(prefix="rescue-bench-") as scratch,
        progress_bar(console) as progress,
    ):
        ctx = BenchContext(quick=quick, workdir=Path(scratch), progress=progress, pg_url=pg_url)
        overall = progress.add_task("benchmarks", total=len(chosen))
        for bench in chosen:
            progress.update(overall, description=f"benchmarks: {bench.name}")
            try:
                rows += bench.load()(ctx)
            except Exception as error:
                failed.append(bench.name)
                traceback.print_exc(file=sys.stderr)
                rows.append(
                    Row(
                        metric=bench.title,
                        value=None,
                        unit="",
                        note=f"failed to run: {type(error).__name__}: {error}",
                        failed=True,
                    )
                )
            progress.advance(overall)
    mode = ("quick" if quick else "full") + (" on SQLite and PostgreSQL" if pg_url else "")
    heading = (
        f"rescue bench ({mode}), {started:%Y-%m-%d %H:%M} UTC, commit {_commit()}, {_machine()}"
    )
    render_table(rows, console, heading)
    write_json(rows, out / "bench.json")
    write_markdown(rows, out / "bench.md", f"`rescue bench` ({mode}): {heading.split(', ', 1)[1]}")
    write_png(rows, out / "bench.png", heading)
    console.print(f"wrote {out / 'bench.json'}, {out / 'bench.png'} and {out / 'bench.md'}")
    if failed:
        console.print(f"[red]failed to run: {', '.join(failed)}[/]")
        return 1
    return 0
