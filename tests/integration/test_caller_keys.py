"""Per-caller keys on each store: values sealed with the one key of earlier versions still
read; `rescue key rotate` re-wraps the key table under a new master key without rewriting an
event; `rescue privacy erase` erases a caller whichever way their data was sealed, records the
erasure and leaves the hash chain verifiable."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rescue.bootstrap import Rescue, bootstrap
from rescue.cli.main import app as cli
from rescue.domain.errors import Unavailable
from rescue.domain.privacy import Erasure
from rescue.services.dispatch import DispatchService
from rescue.settings import Settings
from rescue.store.caller_keys import CallerKeys, fingerprint
from rescue.store.env import store_env
from rescue.store.privacy import PER_CALLER, PersonalData, erased_caller, new_key
from rescue.store.sqlite_datastore import writers_turn
from tests.builders import OPERATOR, ids_with, report, reported

NAME, PHONE = "欧阳娜娜", "13712345678"
OTHER_NAME, OTHER_PHONE = "李四", "13698765432"


def call_by(name: str, phone: str) -> dict[str, Any]:
    body = report()
    body["caller"] = {"name": name, "phone": phone}
    return body


def caller(app: Rescue, incident_id: str) -> dict[str, Any]:
    return app.queries.incident_details(incident_id, with_caller=True)["caller"]


def sealed(app: Rescue, incident_id: str) -> str:
    return str(app.queries.incident(incident_id).sealed_caller)


def run_cli(args: list[str], key_file: Path) -> str:
    # The key comes from the file only, as an operator's set-up would have it.
    env = {"RESCUE_KEY_FILE": str(key_file), "RESCUE_CIPHER_KEY": None}
    result = CliRunner().invoke(cli, args, env=env)  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output
    return result.output


def test_single_key_values_read_after_rotation_and_erase(store_url: str, tmp_path: Path) -> None:
    key = new_key()
    settings = Settings(db=store_url, cipher_key=key)
    app = bootstrap(settings)
    try:
        # 1. Two calls recorded the way earlier versions did: sealed with the one key.
        single_key = DispatchService(app.runner, app.view, settings, PersonalData(key), app.clock)
        old_mine, old_other = (
            str(single_key.report_incident(call_by(n, p), OPERATOR.actor).body["incident_id"])
            for n, p in ((NAME, PHONE), (OTHER_NAME, OTHER_PHONE))
        )
        # 2. A call recorded now: sealed with the caller's own key, which the value names.
        new_mine = reported(app, call_by(NAME, PHONE))
        assert not sealed(app, old_mine).startswith(PER_CALLER + ":")
        assert sealed(app, new_mine).startswith(PER_CALLER + ":")
        for incident_id, name, phone in (
            (old_mine, NAME, PHONE),
            (old_other, OTHER_NAME, OTHER_PHONE),
            (new_mine, NAME, PHONE),
        ):
            assert caller(app, incident_id) == {"name": name, "phone": phone}
        head = app.store.recorder.max_notification_id()
    finally:
        app.close()

    # 3. Rotate the master key kept in a file: the file now holds another key.
    key_file = tmp_path / "master.key"
    key_file.write_text(key + "\n")
    said = run_cli(["key", "rotate", "--db", store_url], key_file)
    rotated = key_file.read_text().strip()
    assert rotated != key
    assert fingerprint(rotated) in said and fingerprint(key) in said
    assert not Path(f"{key_file}.new").exists()

    # 4. Every value reads with the new key, and no event was written or rewritten.
    app = bootstrap(Settings(db=store_url, cipher_key=rotated))
    try:
        assert app.store.recorder.max_notification_id() == head
        assert caller(app, old_mine) == {"name": NAME, "phone": PHONE}
        assert caller(app, new_mine) == {"name": NAME, "phone": PHONE}
    finally:
        app.close()
    # The old key no longer opens the key table: a clear refusal, not garbage.
    app = bootstrap(Settings(db=store_url, cipher_key=key))
    try:
        with pytest.raises(Unavailable, match="master key"):
            caller(app, new_mine)
    finally:
        app.close()

    # 5. Erase the caller: both their single-key call and their own-key call read as erased.
    said = run_cli(
        [
            "privacy",
            "erase",
            "--phone",
            "+86 137 1234 5678",
            "--reason",
            "asked by phone",
            "--db",
            store_url,
        ],
        key_file,
    )
    assert "1 key(s) destroyed" in said and "1 value(s)" in said
    app = bootstrap(Settings(db=store_url, cipher_key=rotated))
    try:
        assert caller(app, old_mine) == erased_caller()
        assert caller(app, new_mine) == erased_caller()
        assert caller(app, old_other) == {"name": OTHER_NAME, "phone": OTHER_PHONE}
        # 6. The erasure is recorded, with who and why but not the data.
        (erasure_id,) = ids_with(app, Erasure.Erased)
        erasure: Erasure = app.store.repository.get(erasure_id)
        assert erasure.reason == "asked by phone"
        assert erasure.actor["role"] == "admin"
        assert PHONE not in str(vars(erasure))
    finally:
        app.close()

    # 7. The hash chain over the whole log still verifies.
    assert run_cli(["audit", "verify", "--db", store_url], key_file).startswith("intact")


def test_rotation_needs_the_current_key(store_url: str, tmp_path: Path) -> None:
    key = new_key()
    app = bootstrap(Settings(db=store_url, cipher_key=key))
    try:
        incident_id = reported(app, call_by(NAME, PHONE))
    finally:
        app.close()
    # A key file holding another key: the rotation refuses and the table is untouched.
    wrong = tmp_path / "wrong.key"
    wrong.write_text(new_key() + "\n")
    env = {"RESCUE_KEY_FILE": str(wrong), "RESCUE_CIPHER_KEY": None}
    result = CliRunner().invoke(cli, ["key", "rotate", "--db", store_url], env=env)  # type: ignore[arg-type]
    assert result.exit_code == 2
    assert "master key" in result.output
    assert not Path(f"{wrong}.new").exists()
    app = bootstrap(Settings(db=store_url, cipher_key=key))
    try:
        assert caller(app, incident_id) == {"name": NAME, "phone": PHONE}
    finally:
        app.close()


def test_processes_starting_at_once_on_a_fresh_database_create_the_key_table_once(
    store_url: str,
) -> None:
    """Several server processes' first calls, at the same moment, on a store without the table.

    Each thread stands for a process: its own `CallerKeys`, its own connection.
    """
    master = new_key()
    start = threading.Barrier(8)
    errors: list[BaseException] = []
    found: list[tuple[str, str]] = []

    def first_call() -> None:
        keys = CallerKeys(store_url)
        try:
            start.wait()
            found.append(keys.key_for(master, "13800138000"))
        except BaseException as error:  # collected for the assertion below
            errors.append(error)
        finally:
            keys.close()

    threads = [threading.Thread(target=first_call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(found) == 8 and len(set(found)) == 1, "one key for the caller, whoever asked"


def test_a_first_call_queues_with_the_stores_other_writers_on_sqlite(store_url: str) -> None:
    """A new caller's key is written in the writers' queue, not by SQLite's busy handler.

    Under the fleet's GPS load the writers pass the lock along the queue without
    a gap; a writer outside it kept losing to them (3.2 s for one first call).
    Here the queue is held, as a writer of another process holds it: the key
    is not written until that writer is done.
    """
    if not store_url.startswith("sqlite:///"):
        pytest.skip("the writers' queue is SQLite's (PostgreSQL queues writers itself)")
    keys = CallerKeys(store_url)
    master = new_key()
    keys.key_for(master, "13800000001")  # the table exists: only the key is left to write
    written: list[tuple[str, str]] = []
    path = store_env(store_url)["SQLITE_DBNAME"]
    try:
        with writers_turn(path):
            first_call = threading.Thread(
                target=lambda: written.append(keys.key_for(master, "13800000002"))
            )
            first_call.start()
            first_call.join(0.5)
            assert first_call.is_alive() and written == [], "wrote without its turn"
        first_call.join(30)
        assert len(written) == 1
        assert keys.key_for(master, "13800000002") == written[0]
    finally:
        keys.close()
