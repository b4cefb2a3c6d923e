"""Benchmark results: rows, goals, and the table, JSON and PNG they are reported as.

Conventions of a row:

- `value` is what the project achieves, in `unit`; `baseline` is the raw
  baseline measured the same way in the same run (same unit).
- `ratio` always reads "higher is better": value / baseline for rates
  (positions per second), baseline / value for times (a speed-up; below 1
  means slower than the baseline).
- `goal` is one or more conditions on the value or the ratio; `met` is
  whether all hold (None when the row has no goal).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.table import Table

__all__ = ["Cond", "Goal", "Row", "render_table", "write_json", "write_markdown", "write_png"]


@dataclass(frozen=True, slots=True)
class Cond:
    on: Literal["value", "ratio"]
    op: Literal["<=", ">="]
    target: float
    unit: str = ""

    def holds(self, value: float | None, ratio: float | None) -> bool:
        x = value if self.on == "value" else ratio
        if x is None or math.isnan(x):
            return False
        return x <= self.target if self.op == "<=" else x >= self.target

    def attainment(self, value: float | None, ratio: float | None) -> float | None:
        """How far past the goal: 1.0 is exactly the goal, above is better."""
        x = value if self.on == "value" else ratio
        if x is None or x <= 0 or math.isnan(x):
            return None
        return self.target / x if self.op == "<=" else x / self.target

    def __str__(self) -> str:
        what = "ratio" if self.on == "ratio" else "value"
        unit = f" {self.unit}" if self.unit else ""
        return f"{what} {self.op} {self.target:g}{unit}"


@dataclass(frozen=True)
class Goal:
    conditions: tuple[Cond, ...]

    @classmethod
    def of(cls, *conditions: Cond) -> Goal:
        return cls(tuple(conditions))

    def met(self, value: float | None, ratio: float | None) -> bool:
        return all(c.holds(value, ratio) for c in self.conditions)

    def __str__(self) -> str:
        return " and ".join(str(c) for c in self.conditions)


@dataclass
class Row:
    metric: str
    value: float | None
    unit: str
    baseline: float | None = None
    ratio: float | None = None
    goal: Goal | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    failed: bool = False  # the benchmark did not run

    @property
    def met(self) -> bool | None:
        if self.failed:
            return False
        if self.goal is None:
            return None
        return self.goal.met(self.value, self.ratio)

    def as_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "value": _finite(self.value),
            "unit": self.unit,
            "baseline": _finite(self.baseline),
            "ratio": _finite(self.ratio),
            "goal": str(self.goal) if self.goal is not None else None,
            "met": self.met,
            "goal_conditions": [
                {"on": c.on, "op": c.op, "target": c.target, "unit": c.unit}
                for c in (self.goal.conditions if self.goal else ())
            ],
            "note": self.note,
            **({"details": self.extra} if self.extra else {}),
        }


def _finite(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) or math.isinf(x) else x


def _num(x: float | None) -> str:
    if x is None or math.isnan(x):
        return "-"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 0.01:
        return f"{x:.3g}" if abs(x) < 1 else f"{x:.2f}"
    return f"{x:.2g}"


def _met(row: Row) -> str:
    return {None: "-", True: "yes", False: "NO"}[row.met]


def render_table(rows: Sequence[Row], console: Console, title: str) -> None:
    table = Table(title=title, title_justify="left")
    for name, justify in (
        ("metric", "left"),
        ("value", "right"),
        ("unit", "left"),
        ("baseline", "right"),
        ("ratio", "right"),
        ("goal", "left"),
        ("met", "center"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        met = _met(row)
        style = "green" if row.met else ("red" if row.met is False else "")
        table.add_row(
            row.metric,
            _num(row.value),
            row.unit,
            _num(row.baseline),
            _num(row.ratio),
            str(row.goal) if row.goal else "-",
            f"[{style}]{met}[/]" if style else met,
        )
    console.print(table)
    for row in rows:
        if row.note:
            console.print(f"  {row.metric}: {row.note}")


def write_json(rows: Sequence[Row], path: Path) -> None:
    path.write_text(json.dumps([r.as_json() for r in rows], indent=2, ensure_ascii=False) + "\n")


def write_markdown(rows: Sequence[Row], path: Path, heading: str) -> None:
    """The table as Markdown, ready for the README."""
    lines = [
        heading,
        "",
        "| metric | value | unit | baseline | ratio | goal | met |",
        "|---|---:|---|---:|---:|---|:-:|",
    ]
    for r in rows:
        goal = str(r.goal) if r.goal else "-"
        lines.append(
            f"| {r.metric} | {_num(r.value)} | {r.unit} | {_num(r.baseline)} | "
            f"{_num(r.ratio)} | {goal} | {_met(r)} |"
        )
    path.write_text("\n".join(lines) + "\n")


def write_png(rows: Sequence[Row], path: Path, title: str) -> None:
    """Two panels: each metric's ratio to its baseline (with the ratio goal
    where there is one), and its value against its goal (1 = exactly met)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [r for r in rows if r.value is not None]
    names = [r.metric for r in shown]
    colours = ["#2e7d32" if r.met else ("#c62828" if r.met is False else "#757575") for r in shown]
    height = max(3.0, 0.45 * len(shown) + 1.5)
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, height), sharey=True)
    y = list(range(len(shown)))

    ratios = [r.ratio if r.ratio is not None and r.ratio > 0 else math.nan for r in shown]
    left.barh(y, ratios, color=colours)
    for i, r in enumerate(shown):
        for c in r.goal.conditions if r.goal else ():
            if c.on == "ratio":
                left.plot([c.target, c.target], [i - 0.4, i + 0.4], color="black", lw=2)
    left.axvline(1.0, color="#9e9e9e", ls=":", lw=1)
    left.set_xscale("log")
    left.set_xlabel("ratio to the raw baseline (higher is better; | = goal)")
    left.set_yticks(y, names)
    left.invert_yaxis()

    attain: list[float] = []
    for r in shown:
        scores = [
            s
            for c in (r.goal.conditions if r.goal else ())
            if (s := c.attainment(r.value, r.ratio)) is not None
        ]
        attain.append(min(scores) if scores else math.nan)
    right.barh(y, attain, color=colours)
    right.axvline(1.0, color="black", lw=2)
    right.set_xscale("log")
    right.set_xlabel("against the goal (1 = goal; right of the line = met)")
    for i, r in enumerate(shown):
        if not math.isnan(attain[i]):
            right.annotate(f" {_num(r.value)} {r.unit}", (attain[i], i), va="center", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
