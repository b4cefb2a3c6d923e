"""`rescue simulate`: one scenario against a store, with its own server or a running one."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, time, timedelta

import typer

from rescue.bootstrap import bootstrap
from rescue.domain.validation import CHINA_TZ
from rescue.progress import progress_bar
from rescue.services.whatif import queueing_figures
from rescue.services.whatif_record import read_period
from rescue.settings import Settings
from rescue.simulator.audit import check_log
from rescue.simulator.engine import SimTokens, Simulation
from rescue.simulator.network import build_network
from rescue.simulator.scenarios import named_scenario
from rescue.simulator.server import ServerThread
from rescue.simulator.setup import issue_tokens, load_van_stock, load_with_progress

__all__ = ["run_simulate"]


def run_simulate(
    *,
    settings: Settings,
    url: str | None,
    scenario_name: str,
    speed: float,
    minutes: float,
    seed: int,
    calls_per_hour: float,
    start_hour: float,
    province: str | None,
    station_id: str | None,
    concurrency: int,
) -> int:
    """Runs the scenario; prints a summary and the log check. Exit code 0 when clean."""
    start = datetime.combine(datetime.now(CHINA_TZ).date(), time(0), tzinfo=CHINA_TZ)
    scenario = named_scenario(
        scenario_name,
        start=start + timedelta(hours=start_hour),
        hours=minutes * speed / 60.0,
        calls_per_hour=calls_per_hour,
        province=province,
        station_id=station_id,
    )
    app = bootstrap(settings)
    try:
        with progress_bar() as progress:
            if not app.view.stations:
                network = build_network()
                load_with_progress(app, network, progress=progress)
                # Parts on the vans, so crews fit from stock and the log has consumption.
                load_van_stock(app, network, seed=seed)
            van_ids = sorted(app.view.vans)
            tokens: SimTokens = issue_tokens(app, van_ids, progress=progress)
    finally:
        app.close()

    server: ServerThread | None = None
    if url is None:
        if settings.resolved_key() is None:
            typer.secho(
                "no cipher key: set RESCUE_CIPHER_KEY or RESCUE_KEY_FILE "
                "(create one with `rescue key new FILE`), or give --url of a running server",
                fg=typer.colors.RED,
                err=True,
            )
            return 2
        server = ServerThread(settings).start()
        url = server.url
    typer.echo(
        f"simulating {scenario.name} against {url}: {len(van_ids)} vans, "
        f"{minutes:g} min of calls at {speed:g}x (= {minutes * speed / 60:g} simulated hours), "
        f"seed {seed}"
    )
    logging.basicConfig(level=logging.WARNING)
    simulation = Simulation(
        url,
        tokens,
        scenario,
        seed=seed,
        speed=speed,
        concurrency=concurrency,
        status_every_s=10.0,
        on_status=lambda line: typer.echo(str(line)),
    )
    began = datetime.now(UTC)
    try:
        report = asyncio.run(simulation.run())
    except KeyboardInterrupt:
        typer.echo("interrupted")
        return 130
    finally:
        if server is not None:
            server.stop()
    typer.echo(report.summary())
    for error in report.errors[:20]:
        typer.echo(f"  error: {error}")

    app = bootstrap(settings)
    try:
        check = check_log(app.store, van_ids, report.incidents)
        period = read_period(app.store, began, datetime.now(UTC), with_fixes=False)
    finally:
        app.close()
    _print_queueing(queueing_figures(period, time_scale=speed))
    if check.problems:
        typer.secho(f"log check: {len(check.problems)} problem(s)", fg=typer.colors.RED)
        for problem in check.problems[:20]:
            typer.echo(f"  {problem}")
    else:
        typer.echo(
            f"log check: every call ended completed or cancelled; no van held two jobs "
            f"({check.van_holdings} van assignments checked)"
        )
    return 0 if not check.problems and not report.errors else 1


def _print_queueing(figures: dict[str, object]) -> None:
    """The network's queueing over the run, in simulated minutes (what a what-if compares)."""
    typer.echo(
        f"queueing (simulated minutes): {figures['calls']} calls, {figures['queued']} queued, "
        f"{figures['never_offered']} never offered, {figures['open_at_end']} open at the end; "
        f"time to dispatch median {figures['time_to_dispatch_median_min']} "
        f"p90 {figures['time_to_dispatch_p90_min']}; answer to arrival median "
        f"{figures['answer_to_arrival_median_min']} p90 {figures['answer_to_arrival_p90_min']}; "
        f"reached within 30 min {figures['within_30_min']}, within 60 {figures['within_60_min']}"
    )
