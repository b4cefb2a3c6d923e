"""The `rescue` command: thin wrappers that parse options and call the application."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from rescue.cli.audit import audit_cli
from rescue.cli.eta import eta_cli
from rescue.cli.options import DbOption, setting_default
from rescue.cli.parts import parts_cli
from rescue.cli.whatif import whatif_command
from rescue.domain.actors import Actor
from rescue.domain.errors import RescueError
from rescue.domain.vocabulary import Role
from rescue.settings import Settings

# Click's plain help: every option with its default, and flags shown as flags
# (rich's panels print a metavar such as <bool> beside each flag).
app = typer.Typer(
    help="Event-sourced roadside rescue and dispatch.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
users = typer.Typer(help="Access tokens: add, list and revoke.", no_args_is_help=True)
network_cli = typer.Typer(
    help="The service network: load, export and import.", no_args_is_help=True
)
keys = typer.Typer(help="The cipher key sealing callers' personal data.", no_args_is_help=True)
projections_cli = typer.Typer(help="Read models fed from the event log.", no_args_is_help=True)
app.add_typer(projections_cli, name="projections")
app.add_typer(users, name="users")
app.add_typer(keys, name="key")
app.add_typer(network_cli, name="network")
app.add_typer(audit_cli, name="audit")
app.add_typer(eta_cli, name="eta")
privacy_cli = typer.Typer(help="Callers' personal data: erasure on request.", no_args_is_help=True)
app.add_typer(privacy_cli, name="privacy")
app.command("whatif")(whatif_command)

_DEFAULTS = Settings.model_fields
_default = setting_default
app.add_typer(parts_cli, name="parts")

WorkersOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        envvar="RESCUE_WORKERS",
        help="server processes sharing the port",
        show_default="one per core",
    ),
]
PinCoresOption = Annotated[
    bool,
    typer.Option(
        "--pin-cores/--share-cores",
        envvar="RESCUE_PIN_CORES",
        help="with several processes, each runs on a core of its own while there are enough",
    ),
]
ADMIN_CLI = Actor(role=Role.ADMIN, name="cli")


def _settings(db: str | None, **overrides: object) -> Settings:
    values: dict[str, object] = {k: v for k, v in overrides.items() if v is not None}
    if db is not None:
        values["db"] = db
    return Settings(**values)  # type: ignore[arg-type]


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[
        str | None, typer.Option(help="address to listen on", show_default=_default("host"))
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="port to listen on", show_default=_default("port"))
    ] = None,
    log_level: Annotated[
        str | None,
        typer.Option(help="DEBUG, INFO, WARNING or ERROR", show_default=_default("log_level")),
    ] = None,
    log_format: Annotated[
        str | None,
        typer.Option(help="json or text", show_default=_default("log_format")),
    ] = None,
    workers: WorkersOption = None,
    pin_cores: PinCoresOption = True,
) -> None:
    """Serve the API, web pages and live projections; logs one JSON line per request."""
    import logging
    import os

    import uvicorn

    from rescue.api.main import create_app
    from rescue.api.shared_port import hold_port, run_workers
    from rescue.api.workers import default_workers, worker_environment
    from rescue.logs import configure, uvicorn_level

    settings = _settings(db, host=host, port=port, log_level=log_level, log_format=log_format)
    if settings.resolved_key() is None:
        _fail(
            "no cipher key for callers' personal data: set RESCUE_CIPHER_KEY, or "
            "RESCUE_KEY_FILE to a key file (create one with `rescue key new FILE`)"
        )
    configure(settings.log_level, settings.log_format)
    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        # Logging is set up above (and by each worker); uvicorn's access log
        # would repeat each request line.
        "log_config": None,
        "log_level": uvicorn_level(settings.log_level).lower(),
        "access_log": False,
        # Open sockets (consoles, tablets) must not hold a shutdown up for long.
        "timeout_graceful_shutdown": 10,
        # No per-message compression on WebSockets: every board change is compressed
        # anew for each socket (each has its own compression state), which cost more
        # than the whole fan-out with hundreds of consoles watching.
        "ws_per_message_deflate": False,
    }
    count = workers or default_workers()
    if count == 1:
        uvicorn.run(create_app(settings), **common)
        return
    # Each worker process builds its app from the environment it inherits.
    os.environ.update(worker_environment(settings))
    try:
        listener = hold_port(settings.host, settings.port)
    except OSError as error:
        _fail(f"cannot listen on {settings.host}:{settings.port}: {error}")
        return
    logging.getLogger("rescue.serve").info(
        "serving on http://%s:%d with %d processes", settings.host, settings.port, count
    )
    run_workers(
        listener,
        "rescue.api.workers:worker_app",
        count,
        pin_cores=pin_cores,
        factory=True,
        # A worker starting on a busy machine (imports, replaying the log) may
        # not answer the supervisor's ping for a while: 5 s, the default,
        # killed healthy workers at start-up over and over.
        timeout_worker_healthcheck=30,
        **common,
    )


@app.command("backup")
def backup_command(
    to: Annotated[Path, typer.Option("--to", help="the backup file to write")],
    db: DbOption = None,
    force: Annotated[bool, typer.Option(help="replace an existing backup file")] = False,
) -> None:
    """Copy the store while servers keep writing: a consistent snapshot of the log.

    SQLite: the online backup API (never `cp` a database in WAL mode). PostgreSQL:
    pg_dump --format=custom (the client tools must be on PATH).
    """
    from rescue.store.backup import BackupError, backup

    settings = _settings(db)
    try:
        head = backup(settings.db, to, replace=force)
    except BackupError as error:
        _fail(str(error))
    size = f"{to.stat().st_size:,} bytes"
    typer.echo(f"backed up to {to} ({size}" + (f"; {head.describe()})" if head else ")"))
    _backup_photos(settings, to)


@app.command("restore")
def restore_command(
    source: Annotated[Path, typer.Option("--from", help="a file written by `rescue backup`")],
    db: DbOption = None,
    force: Annotated[
        bool, typer.Option(help="replace a store that holds events (stop its servers first)")
    ] = False,
) -> None:
    """Load a backup into an empty store; then check it with `rescue audit verify`."""
    from rescue.store.backup import BackupError, log_head, restore

    settings = _settings(db)
    try:
        restore(source, settings.db, replace=force)
    except BackupError as error:
        _fail(str(error))
    typer.echo(f"restored {source} into the store: {log_head(settings.db).describe()}")
    _restore_photos(settings, source)


def _backup_photos(settings: Settings, to: Path) -> None:
    """Copies the photos beside the backup file (`<file>.photos`), after the log's snapshot:
    a photo's bytes are stored before its event, so every photo the snapshot records is
    there to copy."""
    from rescue.bootstrap import photo_storage
    from rescue.store.photos import DirectoryPhotos, copy_photos, photos_beside

    copied = copy_photos(photo_storage(settings), DirectoryPhotos(photos_beside(to)))
    typer.echo(f"photos: {copied} copied to {photos_beside(to)}")


def _restore_photos(settings: Settings, source: Path) -> None:
    from rescue.bootstrap import photo_storage
    from rescue.store.photos import DirectoryPhotos, copy_photos, photos_beside

    if not photos_beside(source).is_dir():
        typer.echo(f"photos: none beside the backup ({photos_beside(source)})")
        return
    copied = copy_photos(DirectoryPhotos(photos_beside(source)), photo_storage(settings))
    typer.echo(f"photos: {copied} restored from {photos_beside(source)}")


@keys.command("new")
def key_new(
    path: Annotated[Path, typer.Argument(help="file to create (mode 0600)")],
) -> None:
    """Create a new AES key file for sealing callers' personal data."""
    from rescue.store.privacy import load_or_create_key

    _, created = load_or_create_key(path)
    if not created:
        _fail(f"{path} exists already; not overwritten")
    typer.echo(f"created {path}; keep it safe: without it callers' names and phones cannot be read")


@keys.command("rotate")
def key_rotate(
    to: Annotated[
        Path | None,
        typer.Option(
            "--to",
            help="file for the new master key (mode 0600)",
            show_default="RESCUE_KEY_FILE, replaced",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Re-wrap every caller's key under a new master key; the events are not rewritten.

    Stop the servers first: a server still holding the old key answers 503 for
    callers' data until it is restarted with the new one.
    """
    from rescue.store.caller_keys import CallerKeys, fingerprint
    from rescue.store.privacy import new_key

    settings = _settings(db)
    old = settings.resolved_key()
    if not old:
        _fail("no current key: set RESCUE_CIPHER_KEY or RESCUE_KEY_FILE to the key in use")
    assert old is not None
    target = to or settings.key_file
    if target is None:
        _fail("the key comes from RESCUE_CIPHER_KEY: say where the new one goes with --to FILE")
    assert target is not None
    if to is not None and to.exists():
        _fail(f"{to} exists already; not overwritten")
    new = new_key()
    # The new key is on disk before the table is re-wrapped, so a crash in
    # between leaves a key that opens the table (FILE.new) rather than none.
    staged = target.with_name(target.name + ".new")
    _write_secret(staged, new)
    keys = CallerKeys(settings.db)
    try:
        count = keys.rotate(old, new)
    except RescueError as error:
        staged.unlink(missing_ok=True)
        _fail(str(error))
    finally:
        keys.close()
    staged.replace(target)
    typer.echo(
        f"re-wrapped {count} caller key(s) under master key {fingerprint(new)} "
        f"(was {fingerprint(old)}); the new key is in {target}"
        + ("" if to is None else "; point RESCUE_KEY_FILE at it and restart the servers")
    )


def _write_secret(path: Path, text: str) -> None:
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")


@privacy_cli.command("erase")
def privacy_erase(
    phone: Annotated[str, typer.Option("--phone", help="the caller's phone number")],
    reason: Annotated[
        str, typer.Option("--reason", help="why, for the record (no personal data)")
    ] = "the caller asked",
    db: DbOption = None,
) -> None:
    """Erase a caller's name and phone everywhere by destroying their key; record who and why."""
    from rescue.bootstrap import bootstrap

    settings = _settings(db)
    if settings.resolved_key() is None:
        _fail("no cipher key: set RESCUE_CIPHER_KEY or RESCUE_KEY_FILE")
    rescue = bootstrap(settings)
    try:
        done = rescue.erasure.erase(phone, ADMIN_CLI, reason)
    except RescueError as error:
        _fail(str(error))
    finally:
        rescue.close()
    typer.echo(
        f"erased: {done['keys_destroyed']} key(s) destroyed, "
        f"{done['values_withheld']} value(s) sealed with the shared key withheld; "
        f"recorded as erasure {done['erasure_id']}"
    )


@users.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="the user's name")],
    role: Annotated[Role, typer.Option("--role", help="operator, crew, auditor or admin")],
    van: Annotated[
        str | None,
        typer.Option("--van", help="the van a crew token acts for", show_default="none"),
    ] = None,
    expires_in: Annotated[
        str | None,
        typer.Option(
            "--expires-in",
            help="the token stops working after this long: 90m, 8h, 30d or seconds",
            show_default="never: works until revoked",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Print a new bearer token for NAME, once; only its hash is stored."""
    from rescue.bootstrap import bootstrap
    from rescue.domain.access import parse_lifetime

    lifetime = None
    if expires_in is not None:
        try:
            lifetime = parse_lifetime(expires_in)
        except ValueError as error:
            _fail(f"--expires-in: {error}")
    rescue = bootstrap(_settings(db))
    try:
        token = rescue.access.add_user(name, role.value, van, ADMIN_CLI, expires_in=lifetime)
    except RescueError as error:
        _fail(str(error))
    finally:
        rescue.close()
    typer.echo(token)


@users.command("list")
def users_list(db: DbOption = None) -> None:
    """List every account: name, role, van, created, expires, revoked; never a token."""
    from rescue.bootstrap import bootstrap
    from rescue.services.clock import utcnow
    from rescue.services.user_list import list_users

    rescue = bootstrap(_settings(db), follow=False)
    try:
        rows = list_users(rescue.store, utcnow())
    finally:
        rescue.close()
    now = utcnow()
    header = ("name", "role", "van", "created", "expires", "revoked")
    table = [header]
    for user in rows:
        expires = user["expires"]
        table.append(
            (
                user["name"],
                user["role"],
                user["van_id"] or "-",
                user["created"].isoformat(timespec="seconds"),
                "never"
                if expires is None
                else expires.isoformat(timespec="seconds")
                + (" (expired)" if expires <= now else ""),
                "yes" if user["revoked"] else "no",
            )
        )
    widths = [max(len(str(r[i])) for r in table) for i in range(len(header))]
    for row in table:
        typer.echo("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    typer.echo(f"{len(rows)} user(s)")


@users.command("revoke")
def users_revoke(
    name: Annotated[str, typer.Argument(help="the user whose tokens stop working")],
    db: DbOption = None,
) -> None:
    """Revoke every token of NAME, at once."""
    from rescue.bootstrap import bootstrap

    rescue = bootstrap(_settings(db))
    try:
        count = rescue.access.revoke_user(name, ADMIN_CLI)
    except RescueError as error:
        _fail(str(error))
    finally:
        rescue.close()
    typer.echo(f"revoked {count} token(s) of {name}")


@projections_cli.command("run")
def projections_run(
    db: DbOption = None,
    exit_when_current: Annotated[
        bool, typer.Option(help="stop once the read models reflect the whole log")
    ] = False,
) -> None:
    """Keep the read models current in this process (servers do this themselves too)."""
    from rescue.bootstrap import bootstrap
    from rescue.projections.runner import ProjectionRunner
    from rescue.projections.storage import ViewStore

    settings = _settings(db)
    rescue = bootstrap(settings, follow=False)
    runner = ProjectionRunner(rescue.store, ViewStore(settings.db))
    try:
        while True:
            if runner.step() == 0:
                if exit_when_current:
                    break
                time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        rescue.close()
    position = runner.models.position if runner.models else 0
    typer.echo(f"read models at log position {position}")


@projections_cli.command("rebuild")
def projections_rebuild(db: DbOption = None) -> None:
    """Rebuild the read models (board, vans, station load, KPIs) from the whole event log."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from rescue.bootstrap import bootstrap
    from rescue.projections.runner import rebuild
    from rescue.projections.storage import ViewStore

    settings = _settings(db)
    rescue = bootstrap(settings, follow=False)
    store = ViewStore(settings.db)
    try:
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        ) as bar:
            task = bar.add_task("events", total=rescue.store.recorder.max_notification_id() or 0)
            models = rebuild(
                rescue.store,
                store,
                lambda done, total: bar.update(task, completed=done, total=total),
            )
    finally:
        store.close()
        rescue.close()
    counts = ", ".join(f"{len(docs)} {name}" for name, docs in models.docs.items())
    typer.echo(f"rebuilt at log position {models.position}: {counts}")


@network_cli.command("load")
def network_load(
    db: DbOption = None,
    seed: Annotated[int, typer.Option(help="layout seed")] = 7,
    full: Annotated[bool, typer.Option(help="with 3 county and 5 town stations per point")] = False,
) -> None:
    """Load the national demo network (stations and vans on duty) into the store."""
    from rescue.bootstrap import bootstrap
    from rescue.simulator.network import build_network

    network = build_network(
        seed=seed,
        county_per_service_point=3 if full else 0,
        town_per_service_point=5 if full else 0,
    )
    rescue = bootstrap(_settings(db))
    try:
        added = rescue.network.load_network(
            [dataclasses.asdict(s) for s in network.stations],
            [dataclasses.asdict(v) for v in network.vans],
            ADMIN_CLI,
        )
    finally:
        rescue.close()
    typer.echo(f"added {added[0]} stations and {added[1]} vans")


@network_cli.command("export")
def network_export(
    out: Annotated[Path, typer.Argument(help="GeoJSON file to write")],
    db: DbOption = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="write the generated demo network instead of the store's")
    ] = False,
    seed: Annotated[int, typer.Option(help="layout seed of the demo network (with --demo)")] = 7,
) -> None:
    """Write the network in the store (stations and their vans) as GeoJSON."""
    from rescue.places.geojson import network_geojson

    if demo:
        from rescue.simulator.network import build_network

        network = build_network(seed=seed)
    else:
        from rescue.bootstrap import bootstrap
        from rescue.services.network_export import network_of

        rescue = bootstrap(_settings(db))
        try:
            network = network_of(rescue.view.stations.values(), rescue.view.vans.values())
        finally:
            rescue.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(network_geojson(network), ensure_ascii=False))
    typer.echo(f"wrote {out}: {len(network.stations)} stations, {len(network.vans)} vans")


@network_cli.command("import")
def network_import(
    source: Annotated[Path, typer.Argument(help="GeoJSON file (as written by export)")],
    db: DbOption = None,
) -> None:
    """Load stations and vans from a GeoJSON file; what exists already is kept."""
    from rescue.bootstrap import bootstrap
    from rescue.places.geojson import network_from_geojson
    from rescue.progress import progress_bar
    from rescue.services.network_import import import_network

    # The whole file is read and checked before the store is opened: a bad file adds nothing.
    try:
        network = network_from_geojson(json.loads(source.read_text(encoding="utf-8")))
    except (OSError, ValueError) as error:
        _fail(f"cannot import {source}: {error}")
    rescue = bootstrap(_settings(db))
    try:
        with progress_bar() as progress:
            task = progress.add_task(
                "loading the network", total=len(network.stations) + len(network.vans)
            )
            stations, vans = import_network(
                rescue.network,
                network,
                ADMIN_CLI,
                advance=lambda done: progress.advance(task, done),
            )
    except ValueError as error:
        _fail(f"cannot import {source}: {error}")
    finally:
        rescue.close()
    typer.echo(f"added {stations} stations and {vans} vans")


@app.command()
def bench(
    quick: Annotated[
        bool, typer.Option("--quick", help="small sizes, finishes in seconds")
    ] = False,
    out: Annotated[Path, typer.Option("--out", help="folder for bench.json")] = Path("var/bench"),
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="run only this benchmark (repeatable), e.g. http, live",
            show_default="every benchmark",
        ),
    ] = None,
    pg_url: Annotated[
        str | None,
        typer.Option(
            "--pg-url",
            envvar="RESCUE_BENCH_PG_URL",
            help=(
                "postgresql://user:pass@host:port/db: the http, live and calls benchmarks also "
                "run on PostgreSQL, rows labelled (PostgreSQL). Each creates a database "
                "rescue_bench_<random> there and drops it after, so the user must be allowed "
                "CREATE DATABASE; the database named is only connected to"
            ),
            show_default="SQLite only",
        ),
    ] = None,
) -> None:
    """Run the benchmark suite; print a table and write DIR/bench.json."""
    from rescue.bench.registry import BENCHMARKS
    from rescue.bench.suite import run_suite

    known = [b.name for b in BENCHMARKS]
    unknown = [name for name in only or () if name not in known]
    if unknown:
        _fail(f"no benchmark {', '.join(unknown)}; there are: {', '.join(known)}")
    if pg_url is not None and not pg_url.startswith(("postgresql://", "postgres://")):
        _fail(f"--pg-url takes postgresql://user:pass@host:port/db, not {pg_url!r}")
    sys.exit(run_suite(quick=quick, out=out, only=only or None, pg_url=pg_url))


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="sqlite:///path or postgresql://...",
            show_default="sqlite:///var/demo/rescue.db",
        ),
    ] = None,
    calls_per_hour: Annotated[
        float, typer.Option(help="simulated calls per hour, averaged over the day")
    ] = 60.0,
    seed: Annotated[
        int | None, typer.Option(help="simulator seed", show_default="from the clock")
    ] = None,
    token_lifetime: Annotated[
        str,
        typer.Option(
            "--token-lifetime",
            help="the demo's tokens stop working after this long (90m, 8h, 30d) or never",
        ),
    ] = "1d",
    workers: WorkersOption = None,
) -> None:
    """Serve the demo national network with tokens for every role, and simulate calls and vans."""
    from rescue.cli.demo import run_demo
    from rescue.domain.access import parse_lifetime

    lifetime = None
    if token_lifetime.strip().lower() != "never":
        try:
            lifetime = parse_lifetime(token_lifetime)
        except ValueError as error:
            _fail(f"--token-lifetime: {error}")
    run_demo(
        host=host,
        port=port,
        db=db,
        calls_per_hour=calls_per_hour,
        seed=seed,
        token_lifetime=lifetime,
        workers=workers,
    )


@app.command()
def simulate(
    db: DbOption = None,
    url: Annotated[
        str | None,
        typer.Option(
            help="drive this running server", show_default="a server started here on --db"
        ),
    ] = None,
    scenario: Annotated[str, typer.Option(help="ordinary, snowstorm or station_out")] = "ordinary",
    speed: Annotated[float, typer.Option(help="simulated seconds per real second")] = 60.0,
    minutes: Annotated[
        float, typer.Option(help="real minutes of calls (simulated: minutes x speed)")
    ] = 10.0,
    seed: Annotated[int, typer.Option(help="seeds calls and crews")] = 1,
    calls_per_hour: Annotated[float, typer.Option(help="calls per simulated hour")] = 40.0,
    start_hour: Annotated[float, typer.Option(help="simulated start, hour of day")] = 7.0,
    province: Annotated[
        str | None, typer.Option(help="snowstorm province", show_default="Henan")
    ] = None,
    station: Annotated[
        str | None,
        typer.Option(help="station_out station id", show_default="chosen by the scenario"),
    ] = None,
    concurrency: Annotated[
        int,
        typer.Option(help="the call-taker's HTTP requests in flight (each crew has its own)"),
    ] = 16,
) -> None:
    """Run a simulated scenario through the HTTP API with real tokens (tokens via --db)."""
    from rescue.simulator.runner import run_simulate

    settings = _settings(db)
    if settings.db == _DEFAULTS["db"].default:
        # Simulated calls and tokens would mix with real ones in the default store.
        _fail(
            f"rescue simulate writes calls and tokens into its store: name one with --db "
            f"(or RESCUE_DB) rather than the default {settings.db}"
        )

    sys.exit(
        run_simulate(
            settings=settings,
            url=url,
            scenario_name=scenario,
            speed=speed,
            minutes=minutes,
            seed=seed,
            calls_per_hour=calls_per_hour,
            start_hour=start_hour,
            province=province,
            station_id=station,
            concurrency=concurrency,
        )
    )


if __name__ == "__main__":
    app()


@app.command("sms-gateway")
def sms_gateway(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8025,
    record: Annotated[
        Path | None,
        typer.Option(
            help="also append each message to this JSON-lines file", show_default="not recorded"
        ),
    ] = None,
) -> None:
    """Run a stand-in SMS gateway that records the texts it is sent (RESCUE_SMS_URL=.../send)."""
    from rescue.simulator.sms_gateway import main

    main(["--host", host, "--port", str(port), *(["--record", str(record)] if record else [])])
