"""`rescue audit ...`: check the log's hash chain, and check an exported incident offline."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from rescue.cli.options import DbOption

audit_cli = typer.Typer(
    help="Tamper evidence: the log's hash chain and incident exports.", no_args_is_help=True
)


def _anchor(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    position, _, digest = value.partition(":")
    if not position.isdigit() or len(digest) != 64:
        raise typer.BadParameter("expected NOTIFICATION_ID:HASH (64 hex digits)")
    return int(position), digest.lower()


@audit_cli.command("verify")
def verify_command(
    db: DbOption = None,
    anchor: Annotated[
        str | None,
        typer.Option(
            help="NOTIFICATION_ID:HASH from an earlier run, kept outside the database",
            show_default="no anchor: the chain is checked from its start",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the full report as JSON")] = False,
    photos_dir: Annotated[
        Path | None,
        typer.Option(
            "--photos",
            help="the photo directory (instead of a configured bucket)",
            show_default="env RESCUE_PHOTOS_S3_BUCKET or RESCUE_PHOTOS_DIR, else beside the store",
        ),
    ] = None,
) -> None:
    """Recompute the log's hash chain and every recorded photo's hash; exit 0 if intact, 1
    naming the first bad event and every photo whose bytes are gone or altered."""
    from eventsourcing.persistence import InfrastructureFactory
    from eventsourcing.utils import Environment

    from rescue.bootstrap import photo_storage
    from rescue.domain.errors import Unavailable
    from rescue.services.audit import verify
    from rescue.services.photos import verify_photos
    from rescue.settings import Settings
    from rescue.store.env import APPLICATION_NAME, store_env

    expected = _anchor(anchor)
    settings = Settings() if db is None else Settings(db=db)
    if photos_dir is not None:
        settings = settings.model_copy(update={"photos_dir": photos_dir, "photos_s3_bucket": None})
    url = settings.db
    env = Environment(APPLICATION_NAME, {**os.environ, **store_env(url)})
    factory = InfrastructureFactory.construct(env)
    try:
        recorder = factory.application_recorder()
        result = verify(recorder, anchor=expected)  # type: ignore[arg-type]
        try:
            photos = verify_photos(recorder, photo_storage(settings))
        except Unavailable as error:
            chain = "intact" if result.ok else "TAMPERED"
            typer.secho(
                f"photos could not be checked: {error}; the chain of {result.checked} events"
                f" is {chain}. Check the photo store's settings, or pass --photos DIR.",
                fg=typer.colors.RED,
                err=True,
            )
            raise typer.Exit(2) from None
    finally:
        factory.close()
    if as_json:
        typer.echo(json.dumps({**result.as_dict(), "photos": photos.as_dict()}, indent=2))
    head = result.head
    where = f"head {head.notification_id}:{head.hash}" if head else "empty log"
    for problem in photos.problems[:20]:
        typer.secho(f"PHOTO TAMPERED: {problem.describe()}", fg=typer.colors.RED, err=True)
    if len(photos.problems) > 20:
        typer.secho(f"  ... {len(photos.problems) - 20} more photos", err=True)
    if result.ok:
        if not as_json:
            typer.echo(
                f"intact: {result.checked} events chained; {where}; "
                f"{photos.checked} photos match their recorded hashes"
                if photos.ok
                else f"chain intact: {result.checked} events chained; {where}"
            )
        if not photos.ok:
            raise typer.Exit(1)
        return
    first = result.problems[0]
    typer.secho(f"TAMPERED: first bad event: {first.describe()}", fg=typer.colors.RED, err=True)
    for more in result.problems[1:10]:
        typer.secho(f"  also: {more.describe()}", err=True)
    if len(result.problems) > 10:
        typer.secho(f"  ... {len(result.problems) - 10} more", err=True)
    raise typer.Exit(1)


@audit_cli.command("verify-export")
def verify_export_command(
    path: Annotated[
        Path, typer.Argument(help="an incident export (GET /api/incidents/{id}/export)")
    ],
) -> None:
    """Check an exported incident without the database; exit 0 if intact, 1 naming what is wrong."""
    from rescue.services.audit import verify_export

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        typer.secho(f"cannot read {path}: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    problems = verify_export(document)
    if not problems:
        count = len(document.get("events", []))
        typer.echo(f"intact: {count} events of incident {document.get('incident_id')} check out")
        return
    typer.secho(f"TAMPERED: {problems[0].describe()}", fg=typer.colors.RED, err=True)
    for more in problems[1:10]:
        typer.secho(f"  also: {more.describe()}", err=True)
    raise typer.Exit(1)
