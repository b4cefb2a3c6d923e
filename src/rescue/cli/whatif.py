"""`rescue whatif`: the recorded calls of a period replayed against a changed network."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from rescue.cli.options import DbOption

__all__ = ["whatif_command"]


def _moment(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{name}: not an ISO-8601 time: {text!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def whatif_command(
    start: Annotated[str, typer.Option("--from", help="ISO-8601 start (UTC if no offset)")],
    end: Annotated[str, typer.Option("--to", help="ISO-8601 end, exclusive")],
    network: Annotated[
        Path | None,
        typer.Option(
            help="the changed network as GeoJSON (as `rescue network export` writes)",
            show_default="the network in the store",
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="directory for whatif.json and whatif.png")] = Path(
        "whatif"
    ),
    db: DbOption = None,
) -> None:
    """Replay the calls recorded in a period through the dispatch rule against a changed network.

    Reads the log only; writes OUT/whatif.json and OUT/whatif.png.
    """
    from rescue.bootstrap import bootstrap
    from rescue.cli.whatif_plot import draw_whatif
    from rescue.places.geojson import network_from_geojson
    from rescue.places.network import Network
    from rescue.services.whatif import what_if
    from rescue.settings import Settings

    first, last = _moment(start, "--from"), _moment(end, "--to")
    if last <= first:
        raise typer.BadParameter("--to must be after --from")
    changed: Network | None = None
    if network is not None:
        try:
            changed = network_from_geojson(json.loads(network.read_text()))
        except (OSError, ValueError) as error:
            typer.echo(f"error: {network}: {error}", err=True)
            raise typer.Exit(2) from None
    settings = Settings(db=db) if db is not None else Settings()
    app = bootstrap(settings, follow=False)
    try:
        document = what_if(
            app.store,
            first,
            last,
            changed,
            app.etas.table(),
            settings.dispatch_params(),
            settings.max_dispatch_km,
        )
    finally:
        app.close()
    out.mkdir(parents=True, exist_ok=True)
    (out / "whatif.json").write_text(json.dumps(document, indent=1, ensure_ascii=False))
    draw_whatif(document, out / "whatif.png")
    recorded, replayed = document["overall"]["recorded"], document["overall"]["replayed"]
    same = document["assignments"]["rule_answered"]
    typer.echo(f"{recorded['calls']} calls from {first.isoformat()} to {last.isoformat()}")
    for label, key in (
        ("answer to arrival, median min", "answer_to_arrival_median_min"),
        ("answer to arrival, p90 min", "answer_to_arrival_p90_min"),
        ("share reached within 30 min", "within_30_min"),
        ("share reached within 60 min", "within_60_min"),
        ("calls queued", "queued"),
    ):
        typer.echo(f"  {label:<32} recorded {recorded[key]!s:>8}   replayed {replayed[key]!s:>8}")
    typer.echo(
        f"  same first van as recorded: {same['same_van']} of {same['calls']} calls the rule "
        "answered without a decline or an override"
    )
    typer.echo(f"wrote {out / 'whatif.json'} and {out / 'whatif.png'}")
