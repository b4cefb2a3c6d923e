"""`rescue parts ...`: the spare-parts plan read from the log."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from rescue.cli.options import DbOption

parts_cli = typer.Typer(
    help="Spare parts: ABC classes and the replenishment plan.", no_args_is_help=True
)


@parts_cli.command("plan")
def plan_command(
    db: DbOption = None,
    station: Annotated[
        str | None,
        typer.Option("--station", help="one station only", show_default="every station"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the plan as JSON")] = False,
) -> None:
    """Print the ABC classes of the parts used and the (T, S) order for each station and part."""
    from rescue.bootstrap import bootstrap
    from rescue.settings import Settings

    settings = Settings(db=db) if db is not None else Settings()
    rescue = bootstrap(settings, follow=False)
    try:
        abc = rescue.planner.abc()
        plan = rescue.planner.replenishment(station)
    finally:
        rescue.close()
    if as_json:
        typer.echo(json.dumps({"abc": abc, "replenishment": plan}, indent=2, ensure_ascii=False))
        return
    typer.echo(_abc_table(abc))
    typer.echo("")
    typer.echo(_plan_table(plan, settings.review_days, settings.lead_time_days))


def _abc_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "ABC: no parts used yet"
    lines = [
        "ABC classes by consumption value",
        f"{'class':<6}{'part':<12}{'qty':>6}{'value':>12}{'share':>8}",
    ]
    for r in rows:
        lines.append(
            f"{r['class']:<6}{r['part_no']:<12}{r['qty']:>6}{r['consumption_value']:>12.2f}"
            f"{r['share'] * 100:>7.1f}%"
        )
    return "\n".join(lines)


def _plan_table(rows: list[dict[str, Any]], review_days: int, lead_days: int) -> str:
    if not rows:
        return "replenishment: no parts on the vans and none used"
    lines = [
        f"(T, S) plan: review every {review_days} d, lead time {lead_days} d",
        f"{'station':<12}{'part':<12}{'class':>6}{'on hand':>9}{'forecast':>10}{'S':>6}{'order':>7}"
        f"{'  held-out MAE (mean)':<22}",
    ]
    for r in rows:
        check = r["holdout"]
        error = f"  {check['mae']:.2f} ({check['mae_mean']:.2f})" if check else "  -"
        lines.append(
            f"{r['station_id']:<12}{r['part_no']:<12}{r['class']:>6}{r['on_hand']:>9}"
            f"{r['forecast']:>10.2f}{r['order_up_to']:>6}{r['order_qty']:>7}{error}"
        )
    return "\n".join(lines)
