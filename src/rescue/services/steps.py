"""The steps of an incident after dispatch, as one table: who may take each, what it asks for.

REST (`/api/incidents/{id}/{action}`) and the crew socket both serve exactly
the steps of `STEPS`; each entry names its request model, the role that may
take it, and the function that applies it to the incident (and to the vans
and after-sales records it touches), inside one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import Aggregate
from pydantic import BaseModel

from rescue.domain.access import Principal
from rescue.domain.actors import SYSTEM_ACTOR
from rescue.domain.errors import Forbidden, Invalid, NotFound
from rescue.domain.idempotency import IdempotencyKey, Result
from rescue.domain.ids import station_uuid
from rescue.domain.incidents import Incident
from rescue.domain.vocabulary import Role
from rescue.services.aftersales import AfterSales
from rescue.services.dispatch import DispatchService
from rescue.services.parts import fit_from_van
from rescue.services.runner import CommandRunner, Decision
from rescue.services.step_requests import (
    Accept,
    Cancel,
    Complete,
    Decline,
    Diagnose,
    NoBody,
    Resolve,
)


@dataclass(frozen=True, slots=True)
class StepCall:
    """One step being applied: the incident as loaded, who acts, and the request's fields."""

    steps: IncidentSteps
    incident: Incident
    van_id: str  # the acting crew's van ("" for an operator)
    data: dict[str, Any]
    actor: dict[str, Any]


# Applies a step to `call.incident`; returns the other aggregates it changed.
Apply = Callable[[StepCall], list[Aggregate]]


@dataclass(frozen=True, slots=True)
class Step:
    action: str
    request: type[BaseModel]
    role: Role
    summary: str
    apply: Apply
    frees_van: bool = False  # a van becomes free: queued incidents may be offered


def _accept(call: StepCall) -> list[Aggregate]:
    call.incident.accept(call.van_id, call.data["eta_min"], call.actor)
    van = call.steps.runner.van(call.incident.van_id or "")
    van.engage(str(call.incident.id), call.actor)
    return [van]


def _decline(call: StepCall) -> list[Aggregate]:
    incident, reason = call.incident, call.data["reason"]
    incident.decline(call.van_id, reason, call.actor)
    van = call.steps.runner.van(call.van_id)
    van.release(str(incident.id), f"declined: {reason}", call.actor)
    reoffer = call.steps.dispatch.plan_offer(incident, SYSTEM_ACTOR, "reoffer")
    return [van, *(a for a in reoffer if a is not incident)]


def _depart(call: StepCall) -> list[Aggregate]:
    call.incident.depart(call.van_id, call.actor)
    return []


def _arrive(call: StepCall) -> list[Aggregate]:
    call.incident.arrive(call.van_id, call.actor)
    return []


def _diagnose(call: StepCall) -> list[Aggregate]:
    data = call.data
    earlier = call.incident.diagnosis["parts"] if call.incident.diagnosis else None
    # `from_van` is recorded only for a part that came off the van's stock.
    parts = [p if p.get("from_van") else _without_from_van(p) for p in data.get("parts", [])]
    call.incident.diagnose(call.van_id, data["cause"], parts, data.get("findings", []), call.actor)
    # Parts fitted from the van come off its stock in the same transaction.
    return fit_from_van(call.steps.runner, call.incident, earlier, call.van_id, call.actor)


def _without_from_van(part: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in part.items() if k != "from_van"}


def _resolve(call: StepCall) -> list[Aggregate]:
    tow_station = call.data.get("tow_station_id")
    if tow_station is not None and not call.steps.runner.exists(station_uuid(tow_station)):
        raise Invalid("tow_station_id", f"no station {tow_station}")
    call.incident.resolve(call.van_id, call.data["outcome"], tow_station, call.actor)
    return []


def _complete(call: StepCall) -> list[Aggregate]:
    incident = call.incident
    incident.complete(
        call.van_id, call.data["customer_signed"], call.data.get("satisfaction"), call.actor
    )
    van = call.steps.runner.van(call.van_id)
    van.release(str(incident.id), "completed", call.actor)
    # The claim (or paid-service mark) and the follow-up call, in this transaction.
    return [van, *call.steps.aftersales.on_completion(incident, call.actor)]


def _cancel(call: StepCall) -> list[Aggregate]:
    reason = call.data["reason"]
    bound = call.incident.cancel(reason, call.actor)
    if bound is None:
        return []
    van = call.steps.runner.van(bound)
    van.release(str(call.incident.id), f"cancelled: {reason}", call.actor)
    return [van]


def _close(call: StepCall) -> list[Aggregate]:
    call.incident.close(call.actor)
    return []


STEPS: dict[str, Step] = {
    step.action: step
    for step in (
        Step(
            "accept",
            Accept,
            Role.CREW,
            "Accepts the offered job with an ETA in minutes (crew of the offered van).",
            _accept,
        ),
        Step(
            "decline",
            Decline,
            Role.CREW,
            "Declines the offer with a reason; the next nearest van is offered (crew).",
            _decline,
            frees_van=True,
        ),
        Step(
            "depart",
            NoBody,
            Role.CREW,
            "The van sets off to the scene (crew of the assigned van).",
            _depart,
        ),
        Step(
            "arrive", NoBody, Role.CREW, "The van is on scene (crew of the assigned van).", _arrive
        ),
        Step(
            "diagnose",
            Diagnose,
            Role.CREW,
            "Records cause, parts and warranty findings (crew of the assigned van).",
            _diagnose,
        ),
        Step(
            "resolve",
            Resolve,
            Role.CREW,
            "Repaired on site, or towed to a station (crew of the assigned van).",
            _resolve,
        ),
        Step(
            "complete",
            Complete,
            Role.CREW,
            "The job is done, with the customer's sign-off (crew of the assigned van).",
            _complete,
            frees_van=True,
        ),
        Step(
            "cancel",
            Cancel,
            Role.OPERATOR,
            "Cancels an open incident with a reason; its van is freed (operator).",
            _cancel,
            frees_van=True,
        ),
        Step("close", NoBody, Role.OPERATOR, "Closes a completed incident (operator).", _close),
    )
}


class IncidentSteps:
    def __init__(
        self, runner: CommandRunner, dispatch: DispatchService, aftersales: AfterSales
    ) -> None:
        self.runner = runner
        self.dispatch = dispatch
        self.aftersales = aftersales

    def take(
        self,
        incident_id: str,
        action: str,
        data: dict[str, Any],
        principal: Principal,
        idempotency: IdempotencyKey | None = None,
    ) -> Result:
        """Takes one step of `STEPS` on an incident for the principal, in one transaction."""
        step = STEPS.get(action)
        if step is None:
            raise NotFound(f"no step {action}")
        if principal.role != step.role:
            raise Forbidden(f"{action} is a step for the {step.role.value} role")
        actor = principal.actor.as_dict()

        def decide() -> Decision:
            incident = self.runner.incident(incident_id)
            call = StepCall(self, incident, principal.van_id or "", data, actor)
            return [incident, *step.apply(call)], Result(incident.as_public())

        result = self.runner.run(idempotency, decide)
        if step.frees_van:
            self.dispatch.offer_queued()
        return result
