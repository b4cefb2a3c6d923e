"""Scorecards over HTTP on both stores: per station and per van, from the read models, every
figure traceable to its incidents; a restarted runner and a rebuild agree with them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rescue.domain.actors import Actor
from rescue.projections.models import ReadModels
from rescue.projections.runner import ProjectionRunner, load_models, predates_scores, rebuild
from rescue.projections.storage import ViewStore
from tests.builders import (
    OPERATOR,
    FakeClock,
    HttpWorld,
    crew,
    report,
    reported,
    served,
    work_to_completion,
)

DESK = Actor(role="operator", name="desk")


def caught_up(world: HttpWorld) -> ReadModels:
    """Steps the server's read-model runner until it has applied the whole log."""
    runner: ProjectionRunner = world.client.app.state.projections  # type: ignore[attr-defined]
    head = world.app.store.recorder.max_notification_id()
    while runner.step() or runner.models is None or runner.models.position < head:
        pass
    return runner.models


def a_day_of_calls(world: HttpWorld, clock: FakeClock) -> dict[str, str]:
    """Four calls with every kind of offer ending; returns their ids by name."""
    app = world.app
    # 1. Declined by V1 (no tow hook), served by V2: repaired on site, unhappy customer.
    declined = reported(app, report(n=1))
    assert app.dispatch.dispatch(declined, OPERATOR.actor).body["van_id"] == "V1"
    app.steps.take(declined, "decline", {"reason": "no tow hook"}, crew("V1"))
    assert app.queries.incident(declined).van_id == "V2"  # offered on at once
    work_to_completion(app, declined, "V2")
    # 2. V1 lets the offer expire; the system offers it to V2, which tows it away.
    expired = reported(app, report(n=2))
    assert app.dispatch.dispatch(expired, OPERATOR.actor).body["van_id"] == "V1"
    clock.advance(app.settings.offer_timeout_s + 1)
    app.dispatch.expire_due_offers()
    assert app.queries.incident(expired).van_id == "V2"
    work_to_completion(app, expired, "V2", tow_station_id="S1")
    # 3. Offered to V1, then the operator gives it to V2 instead; V2 never answers
    #    before the caller cancels.
    withdrawn = reported(app, report(n=3))
    app.dispatch.dispatch(withdrawn, OPERATOR.actor)
    app.dispatch.dispatch(withdrawn, OPERATOR.actor, "V2", "V2 is closer by road")
    app.steps.take(withdrawn, "cancel", {"reason": "fixed it himself"}, OPERATOR)
    # 4. V1 accepts and repairs on site; the customer is happy.
    served_by_v1 = reported(app, report(n=4))
    app.dispatch.dispatch(served_by_v1, OPERATOR.actor)
    work_to_completion(app, served_by_v1, "V1")
    # 5. The follow-up calls: 2/5 for the first (a complaint opens), 5/5 for the last.
    clock.advance(48 * 3600)
    app.aftersales.record_call(declined, {"reached": True, "satisfaction": 2}, DESK)
    app.aftersales.record_call(served_by_v1, {"reached": True, "satisfaction": 5}, DESK)
    return {
        "declined": declined,
        "expired": expired,
        "withdrawn": withdrawn,
        "served_by_v1": served_by_v1,
    }


def by_key(answer: Any) -> dict[str, dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    return {row["key"]: row for row in answer.json()["rows"]}


def test_scorecards_per_station_and_van_trace_to_their_incidents(store_url: str) -> None:
    clock = FakeClock()
    with served(store_url, clock=clock) as world:
        calls = a_day_of_calls(world, clock)
        caught_up(world)
        # 1. Per van: V1 had four offers (declined, expired, withdrawn, accepted), V2 three.
        vans = by_key(world.get("/api/scorecards", "auditor", params={"by": "van"}))
        v1, v2 = vans["V1"], vans["V2"]
        assert v1["station_id"] == "S1" and v1["call_sign"]
        assert [v1[k] for k in ("offers_made", "offers_accepted", "offers_declined")] == [4, 1, 1]
        assert [v1[k] for k in ("offers_expired", "offers_withdrawn", "offers_cancelled")] == [
            1,
            1,
            0,
        ]
        assert v1["declined_reasons"] == {"no tow hook": 1}
        assert v1["acceptance_rate"] == 0.25
        assert [v2[k] for k in ("offers_made", "offers_accepted", "offers_cancelled")] == [3, 2, 1]
        # 2. The served calls' figures go to the van that accepted them.
        assert v2["repaired_on_site"] == {"n": 2, "count": 1, "rate": 0.5}
        assert v1["repaired_on_site"] == {"n": 1, "count": 1, "rate": 1.0}
        assert v2["satisfaction"] == {"n": 1, "mean": 2.0}
        assert v1["satisfaction"] == {"n": 1, "mean": 5.0}
        assert (v2["complaints"], v1["complaints"]) == (1, 0)
        for row in (v1, v2):
            for figure in ("answer_to_dispatch_s", "dispatch_to_accept_s", "dispatch_to_arrival_s"):
                stats = row[figure]
                assert stats["n"] == row["offers_accepted"], (figure, row)
                assert 0 <= stats["median"] <= stats["p90"], (figure, row)
            # Each job arrived seconds after a 20-minute promise.
            assert row["arrival_within_eta"]["rate"] == 1.0
        # 3. Per station: the same offers, counted at each van's station.
        stations = by_key(world.get("/api/scorecards", "operator", params={"by": "station"}))
        assert stations["S1"]["offers_made"] == 4 and stations["S2"]["offers_made"] == 3
        assert stations["S2"]["name"] and stations["S2"]["complaints"] == 1
        # 4. A click on a figure lists its incidents, and they account for the figure.
        behind = world.get(
            "/api/scorecards/incidents",
            "admin",
            params={"by": "van", "key": "V1", "figure": "offers_declined"},
        ).json()["incidents"]
        assert [(i["incident_id"], i["value"]) for i in behind] == [
            (calls["declined"], "no tow hook")
        ]
        made = world.get(
            "/api/scorecards/incidents",
            "auditor",
            params={"by": "van", "key": "V1", "figure": "offers_made"},
        ).json()["incidents"]
        assert sorted(i["value"] for i in made) == ["accepted", "declined", "expired", "withdrawn"]
        complaints = world.get(
            "/api/scorecards/incidents",
            "auditor",
            params={"by": "station", "key": "S2", "figure": "complaints"},
        ).json()["incidents"]
        assert [i["incident_id"] for i in complaints] == [calls["declined"]]
        incidents = world.get(
            "/api/scorecards/incidents",
            "auditor",
            params={"by": "van", "key": "V2", "figure": "incidents"},
        ).json()["incidents"]
        assert {i["incident_id"] for i in incidents} == {
            calls["declined"],
            calls["expired"],
            calls["withdrawn"],
        }
        # 5. A period before the calls holds none of them; one around them holds all.
        before = datetime.now(UTC) - timedelta(days=1)
        empty = by_key(
            world.get(
                "/api/scorecards",
                "auditor",
                params={
                    "by": "van",
                    "from": (before - timedelta(days=1)).isoformat(),
                    "to": before.isoformat(),
                },
            )
        )
        assert (
            empty["V1"]["offers_made"] == 0
            and empty["V1"]["dispatch_to_accept_s"]["median"] is None
        )
        around = by_key(
            world.get(
                "/api/scorecards",
                "auditor",
                params={"by": "van", "from": before.isoformat()},
            )
        )
        assert around["V1"]["offers_made"] == 4


def test_bad_scorecard_queries_are_refused_with_the_field_named(store_url: str) -> None:
    with served(store_url) as world:
        now = datetime.now(UTC)
        cases = [
            ({"by": "fleet"}, "by"),
            ({}, "by"),
            ({"by": "van", "from": "2026-01-01T00:00:00"}, "from"),
            (
                {
                    "by": "van",
                    "from": now.isoformat(),
                    "to": (now - timedelta(hours=1)).isoformat(),
                },
                "to",
            ),
            ({"by": "van", "from": "yesterday"}, "from"),
        ]
        for params, field in cases:
            answer = world.get("/api/scorecards", "operator", params=params)
            assert answer.status_code == 422, (params, answer.text)
            assert any(d["loc"][-1] == field for d in answer.json()["detail"]), answer.json()
        answer = world.get(
            "/api/scorecards/incidents",
            "operator",
            params={"by": "van", "key": "V1", "figure": "speed"},
        )
        assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == [
            "query",
            "figure",
        ]
        assert world.get("/api/scorecards", "crew1", params={"by": "van"}).status_code == 403


def test_models_stored_before_scorecards_are_rebuilt_once(store_url: str) -> None:
    clock = FakeClock()
    with served(store_url, clock=clock) as world:
        calls = a_day_of_calls(world, clock)
        models = caught_up(world)
        expected = {k: v for k, v in models.docs["scores"].items()}
        assert calls["declined"] in expected
        settings = world.app.settings
        app = world.app
        # 1. The stored models as an older server left them: no `scores` documents.
        store = ViewStore(settings.db)
        try:
            stale = load_models(store)
            store.replace_all(
                stale.position,
                [
                    (m, k, d)
                    for m, docs in stale.docs.items()
                    if m != "scores"
                    for k, d in docs.items()
                ],
            )
            assert predates_scores(load_models(store))
            # 2. A runner that loads them rebuilds them, scores included, once.
            runner = ProjectionRunner(app.store, ViewStore(settings.db))
            runner.step()
            assert runner.models is not None
            assert runner.models.docs["scores"] == expected
            assert not predates_scores(load_models(store))
            assert load_models(store).docs == rebuild(app.store, None).docs
            runner._store.close()
        finally:
            store.close()


def test_a_server_process_that_does_not_run_the_read_models_answers_from_the_stored_ones(
    store_url: str,
) -> None:
    clock = FakeClock()
    with served(store_url, clock=clock) as world:
        a_day_of_calls(world, clock)
        caught_up(world)
        params = {"by": "van"}
        here = world.get("/api/scorecards", "auditor", params=params).json()
        # 1. This process loses the election: its runner stops and holds no models.
        runner: ProjectionRunner = world.client.app.state.projections  # type: ignore[attr-defined]
        with runner.lock:
            runner._leader = lambda: False  # type: ignore[method-assign]
            runner.models = None
        # 2. It answers the same scorecards and lists from what the runner stored.
        stored = world.get("/api/scorecards", "auditor", params=params)
        assert stored.status_code == 200, stored.text
        assert stored.json() == here
        behind = world.get(
            "/api/scorecards/incidents",
            "auditor",
            params={"by": "van", "key": "V1", "figure": "offers_made"},
        )
        assert len(behind.json()["incidents"]) == 4
