"""`rescue eta ...`: fit travel times from the log's trips, and report how wrong they are."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from rescue.cli.options import DbOption, setting_default

eta_cli = typer.Typer(
    help="Travel times learned from completed trips: fit and error report.", no_args_is_help=True
)


def _settings(db: str | None) -> Any:
    from rescue.settings import Settings

    return Settings(db=db) if db is not None else Settings()


@eta_cli.command("fit")
def fit_command(
    db: DbOption = None,
    min_trips: Annotated[
        int | None,
        typer.Option(
            min=1, help="trips a cell needs", show_default=setting_default("eta_min_trips")
        ),
    ] = None,
) -> None:
    """Fit the ETA model on every completed trip in the log and record it."""
    from rescue.bootstrap import bootstrap
    from rescue.domain.actors import Actor
    from rescue.domain.vocabulary import Role

    app = bootstrap(_settings(db), follow=False)
    try:
        result = app.etas.fit(Actor(role=Role.ADMIN, name="cli"), min_trips=min_trips)
    finally:
        app.close()
    cells = result.pop("cell_list")
    typer.echo(
        f"ETA model version {result['version']}: {result['trips']} trips, "
        f"{len(cells)} cells with at least {result['min_trips']} trips"
    )
    for cell in cells:
        typer.echo(
            f"  {cell['scope']:<8} {cell['name']:<16} {cell['band']:<13} "
            f"{cell['trips']:>6} trips  {60 / cell['min_per_km']:6.1f} km/h geodesic  "
            f"band x{cell['low_ratio']:.2f}..x{cell['high_ratio']:.2f}"
        )


def _print(title: str, report: dict[str, Any]) -> None:
    typer.echo(
        f"{title}: fitted on {report['trips_fitted']} trips, tested on {report['trips_tested']}, "
        f"{report['cells_fitted']} cells"
    )
    typer.echo(
        f"  {'cell':<40} {'fit n':>6} {'test n':>6} {'fitted p50/p90':>16} "
        f"{'default p50/p90':>16} {'ratio':>6} goal"
    )
    rows = report["cells"] + ([report["overall"]] if report["overall"] else [])
    for row in rows:
        goal = {True: "met", False: "missed", None: "-"}[row["goal_met"]]
        typer.echo(
            f"  {row['cell']:<40} {row['trips_fitted']:>6} {row['trips_tested']:>6} "
            f"{row['fitted_median_abs_min']!s:>7}/{row['fitted_p90_abs_min']!s:<8} "
            f"{row['default_median_abs_min']!s:>7}/{row['default_p90_abs_min']!s:<8} "
            f"{row['ratio']!s:>6} {goal}"
        )


@eta_cli.command("report")
def report_command(
    db: DbOption = None,
    holdout: Annotated[
        float, typer.Option(min=0.05, max=0.95, help="share of the log's latest trips tested")
    ] = 0.3,
    simulated: Annotated[
        int, typer.Option(min=0, help="simulated trips to test as well (0: none)")
    ] = 20_000,
    min_trips: Annotated[
        int | None,
        typer.Option(
            min=1, help="trips a cell needs", show_default=setting_default("eta_min_trips")
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="write eta_report.json here", show_default="not written")
    ] = None,
) -> None:
    """ETA error (median and p90 of |minutes|) of the fitted model against the fixed rule."""
    from rescue.bench.eta_errors import error_report, simulated_trips, split_holdout
    from rescue.bootstrap import bootstrap
    from rescue.services.eta import trips_from_log

    settings = _settings(db)
    cells_need = settings.eta_min_trips if min_trips is None else min_trips
    common = {
        "min_trips": cells_need,
        "circuity": settings.circuity,
        "speed_kmh": settings.speed_kmh,
    }
    document: dict[str, Any] = {}
    if simulated:
        train, test = split_holdout(simulated_trips(simulated), holdout)
        document["simulated"] = error_report(train, test, **common)
        _print("simulated driving", document["simulated"])
    app = bootstrap(settings, follow=False)
    try:
        trips = trips_from_log(app.store)
    finally:
        app.close()
    if len(trips) >= 2:
        train, test = split_holdout(trips, holdout)
        document["log"] = error_report(train, test, **common)
        _print("the log, latest trips held out", document["log"])
    else:
        typer.echo(f"the log holds {len(trips)} completed trips: nothing to test")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "eta_report.json").write_text(json.dumps(document, indent=2))
        typer.echo(f"wrote {out / 'eta_report.json'}")
