"""The OpenAPI document against the server: schemathesis fuzzes every operation in-process.

Each operation gets `RESCUE_FUZZ_EXAMPLES` generated requests (100 by default, 500 in the
slow test), positive and negative, with a real token of a role allowed there, ids that
name seeded incidents and vans as often as random ones, and bodies that often carry
valid VINs, phones and station ids so the handlers run, not only the validation. Every
answer must be no server error, carry a declared status and content type, and match the
declared body schema, within REQUEST_TIMEOUT_S; and nothing in the server (request log,
log follower, position writer, timers) may log an error meanwhile. The figures (examples,
statuses, time per operation) are printed.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi as schemathesis_asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rescue.api.main import create_app
from rescue.bootstrap import Rescue, bootstrap
from tests.access_rules import ALLOWED, CREW
from tests.builders import (
    ADMIN,
    OPERATOR,
    USERS,
    crew,
    line_network,
    load,
    report,
    reported,
    settings_for,
    vin,
    work_to_completion,
)

EXAMPLES_ENV = "RESCUE_FUZZ_EXAMPLES"
DEFAULT_EXAMPLES = 100
FULL_EXAMPLES = 500
# A request waiting this long is stuck (a read waits at most 30 s for the log follower).
REQUEST_TIMEOUT_S = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Values that get a generated request past the lookups: known ids, a VIN with a good check
# digit, a mobile number. Put into bodies and queries wherever a field of that name is.
PLAUSIBLE: dict[str, Any] = {
    "station_id": "S1",
    "tow_station_id": "S2",
    "van_id": "V2",
    "vin": vin(7),
    "phone": "13800138000",
    "sold_on": "2022-03-01",
    "lat": 34.74,
    "lon": 113.62,
}


@dataclass
class Fuzzed:
    """What the fuzzer did to one operation."""

    examples: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0
    failure: str | None = None


@dataclass
class Target:
    schema: Any
    tokens: dict[str, str]
    incident_ids: list[str]


@pytest.fixture
def target(sqlite_url: str) -> Iterator[Target]:
    # No rate limit: the fuzzer sends thousands of requests a second under one token.
    config = settings_for(sqlite_url, rate_limit_per_s=1e9, rate_limit_burst=1e9)
    seeded = bootstrap(config)
    try:
        tokens, incident_ids = _seed(seeded)
    finally:
        seeded.close()
    api = create_app(config)
    schema = schemathesis.openapi.from_asgi("/openapi.json", api)  # starts the app
    # Tokens are ours (a real one per call); the fuzzer leaves Authorization alone.
    schema.config.generation.update(with_security_parameters=False)
    try:
        yield Target(schema, tokens, incident_ids)
    finally:
        schemathesis_asgi.shutdown_lifespans()


def _seed(app: Rescue) -> tuple[dict[str, str], list[str]]:
    """Three stations and vans, a token per kind of caller, incidents in several states."""
    load(app, *line_network(3))
    tokens = {
        who: app.access.add_user(f"user-{who}", role, van_id, ADMIN)
        for who, (role, van_id) in USERS.items()
    }
    completed = reported(app, report(n=1))
    app.dispatch.dispatch(completed, OPERATOR.actor)
    work_to_completion(app, completed, "V1")
    offered = reported(app, report(n=2, category="flat_tire"))
    app.dispatch.dispatch(offered, OPERATOR.actor)
    on_scene = reported(app, report(n=3))
    app.dispatch.dispatch(on_scene, OPERATOR.actor, "V2", "nearest van is busy")
    for action, data in [("accept", {"eta_min": 10.0}), ("depart", {}), ("arrive", {})]:
        app.steps.take(on_scene, action, data, crew("V2"))
    waiting = reported(app, report(n=4, injury=True))
    return tokens, [completed, offered, on_scene, waiting]


def _plausible(value: Any) -> Any:
    """The value with every field named in PLAUSIBLE set to a known good value."""
    if isinstance(value, dict):
        return {k: PLAUSIBLE[k] if k in PLAUSIBLE else _plausible(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plausible(v) for v in value]
    return value


def fuzz_operation(target: Target, operation: Any, examples: int) -> Fuzzed:
    method, path = operation.method.upper(), operation.path
    allowed = ALLOWED[(method, path)]
    callers = sorted(allowed) if allowed else [CREW]
    result = Fuzzed()
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    @given(
        case=cases,
        who=st.sampled_from(callers),
        incident=st.sampled_from([None, *target.incident_ids]),
        van=st.sampled_from([None, "V1", "V2"]),
        plausible=st.booleans(),
    )
    def one_request(
        case: Any, who: str, incident: str | None, van: str | None, plausible: bool
    ) -> None:
        result.examples += 1
        token = target.tokens[who]
        if incident is not None and "incident_id" in (case.path_parameters or {}):
            case.path_parameters["incident_id"] = incident
        if van is not None and "van_id" in (case.path_parameters or {}):
            case.path_parameters["van_id"] = van
        if plausible:
            case.body = _plausible(case.body)
            if isinstance(case.query, dict):
                case.query = _plausible(case.query)
        if path in ("/osmand", "/") and incident is not None:
            # The tracker protocol's credential, with the position it must carry.
            case.query = {"lat": PLAUSIBLE["lat"], "lon": PLAUSIBLE["lon"], **(case.query or {})}
            case.query["id"] = token
        response = case.call_and_validate(
            headers={"Authorization": f"Bearer {token}"}, checks=CHECKS, timeout=REQUEST_TIMEOUT_S
        )
        result.statuses[response.status_code] += 1

    started = time.monotonic()
    try:
        one_request()
    except (Exception, BaseExceptionGroup) as error:  # a failed check: go on with the others
        result.failure = str(error)
    result.seconds = time.monotonic() - started
    return result


def fuzz_all(target: Target, examples: int) -> dict[tuple[str, str], Fuzzed]:
    results = {}
    for loaded in target.schema.get_all_operations():
        operation = loaded.ok()
        results[(operation.method.upper(), operation.path)] = fuzz_operation(
            target, operation, examples
        )
    return results


def summary(results: dict[tuple[str, str], Fuzzed]) -> str:
    lines = [
        f"{method:5} {path:55} {r.examples:5} {r.seconds:6.1f}s {dict(sorted(r.statuses.items()))}"
        for (method, path), r in results.items()
    ]
    total = sum(r.examples for r in results.values())
    seconds = sum(r.seconds for r in results.values())
    lines.append(f"{len(results)} operations, {total} requests, {seconds:.0f} s")
    return "\n".join(lines)


def check_results(
    target: Target,
    results: dict[tuple[str, str], Fuzzed],
    examples: int,
    logged: list[logging.LogRecord],
) -> None:
    print(summary(results))
    # 1. Every operation of the document was fuzzed, and the list of routes is the access
    #    table's: the callers the fuzzer uses are the ones allowed.
    assert set(results) == set(ALLOWED)
    # 2. No server error, no undeclared status or content type, no body off its schema.
    failures = {op: r.failure for op, r in results.items() if r.failure}
    assert not failures, "\n\n".join(f"{m} {p}:\n{text}" for (m, p), text in failures.items())
    # 3. The fuzzer got past the gate everywhere: each operation answered something other
    #    than 401/403 (the tokens worked), and each with inputs got all its examples.
    gated = [op for op, r in results.items() if not set(r.statuses) - {401, 403}]
    assert gated == [], gated
    short = [
        (op, r.examples)
        for op, r in results.items()
        if r.examples < examples and _has_inputs(target.schema[op[1]][op[0]])
    ]
    assert short == [], short
    # 4. Nothing went wrong behind the answers.
    errors = [f"{r.name}: {r.getMessage()}" for r in logged if r.levelno >= logging.ERROR]
    assert errors == []


def _has_inputs(operation: Any) -> bool:
    return bool(operation.path_parameters or operation.query or operation.body)


def examples_per_operation() -> int:
    return int(os.environ.get(EXAMPLES_ENV, DEFAULT_EXAMPLES))


def test_every_operation_answers_fuzzed_requests_as_declared(
    target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    examples = examples_per_operation()
    check_results(target, fuzz_all(target, examples), examples, caplog.records)


@pytest.mark.slow
def test_every_operation_answers_500_fuzzed_requests_each_as_declared(
    target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    check_results(target, fuzz_all(target, FULL_EXAMPLES), FULL_EXAMPLES, caplog.records)
