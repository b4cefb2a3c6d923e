"""The bench report: goals, met, JSON rows, and a suite that survives a broken benchmark."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from rescue.bench import registry, suite
from rescue.bench.live import _collector_paused
from rescue.bench.registry import BenchContext, Benchmark
from rescue.bench.report import Cond, Goal, Row, write_json, write_png


def test_goals_on_value_and_ratio() -> None:
    fast = Goal.of(Cond("value", "<=", 1.0, "ms"), Cond("ratio", ">=", 20.0))
    assert Row("q", 0.5, "ms", baseline=20.0, ratio=40.0, goal=fast).met is True
    assert Row("q", 1.5, "ms", baseline=60.0, ratio=40.0, goal=fast).met is False
    assert Row("q", 0.5, "ms", baseline=5.0, ratio=10.0, goal=fast).met is False
    assert Row("q", 0.5, "ms").met is None
    assert str(fast) == "value <= 1 ms and ratio >= 20"
    assert Row("r", None, "", goal=fast).met is False


def test_json_rows_carry_the_required_keys(tmp_path: Path) -> None:
    rows = [
        Row("a", 10.0, "x/s", 20.0, 0.5, Goal.of(Cond("ratio", ">=", 0.6))),
        Row("b", 2.0, "ms", 1.0, 0.5, Goal.of(Cond("value", "<=", 10.0, "ms"))),
    ]
    write_json(rows, tmp_path / "bench.json")
    loaded = json.loads((tmp_path / "bench.json").read_text())
    assert [r["met"] for r in loaded] == [False, True]
    assert loaded[0]["goal"] == "ratio >= 0.6"
    assert {"metric", "value", "unit", "baseline", "ratio", "goal", "met"} <= set(loaded[1])
    write_png(rows, tmp_path / "bench.png", "test")
    assert (tmp_path / "bench.png").read_bytes()[:4] == b"\x89PNG"


def good(ctx: BenchContext) -> list[Row]:
    assert ctx.quick
    return [Row("good", 1.0, "s", 2.0, 2.0, Goal.of(Cond("value", "<=", 3.0, "s")))]


def broken(ctx: BenchContext) -> list[Row]:
    raise RuntimeError("boom")


def test_a_benchmark_that_fails_is_reported_and_sets_the_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        registry,
        "BENCHMARKS",
        [
            Benchmark("good", "good one", f"{__name__}:good"),
            Benchmark("broken", "broken one", f"{__name__}:broken"),
        ],
    )
    monkeypatch.setattr(suite, "BENCHMARKS", registry.BENCHMARKS)
    assert suite.run_suite(quick=True, out=tmp_path) == 1
    rows = json.loads((tmp_path / "bench.json").read_text())
    assert [(r["metric"], r["met"]) for r in rows] == [("good", True), ("broken one", False)]
    assert "boom" in rows[1]["note"]
    assert suite.run_suite(quick=True, out=tmp_path, only=["good"]) == 0


def test_the_live_load_generator_collects_no_cycles_while_it_measures() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), _collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("a measurement that failed")
    assert gc.isenabled()
