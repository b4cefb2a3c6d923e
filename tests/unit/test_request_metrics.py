"""The request metrics middleware on a small real ASGI app, stacked as the server stacks it (the
request log inside): requests are counted and timed by method, route template and status,
errors nobody handled as 500, and WebSockets pass through uncounted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI, WebSocket
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient

from rescue.api import request_log
from rescue.api.metrics import Metrics, RequestMetrics


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def client(metrics: Metrics) -> Iterator[TestClient]:
    app = FastAPI()
    request_log.install(app)
    app.add_middleware(RequestMetrics, metrics=metrics)

    @app.get("/items/{item_id}")
    def item(item_id: str) -> dict[str, str]:
        return {"item": item_id}

    @app.post("/items", status_code=201)
    async def add_item() -> dict[str, str]:
        return {}

    @app.get("/broken")
    def broken() -> None:
        raise RuntimeError("the disk is on fire")

    @app.get("/stream")
    def stream() -> StreamingResponse:
        return StreamingResponse(iter([b"a", b"b", b"c"]), status_code=206)

    @app.websocket("/ws")
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(await ws.receive_text())
        await ws.close()

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def count(metrics: Metrics, method: str, route: str, status: str) -> float:
    labels = {"method": method, "route": route, "status": status}
    return metrics.registry.get_sample_value("rescue_http_requests_total", labels) or 0.0


def timed(metrics: Metrics, method: str, route: str) -> float:
    labels = {"method": method, "route": route}
    return metrics.registry.get_sample_value("rescue_http_request_seconds_count", labels) or 0.0


def test_requests_are_counted_by_route_template_and_status(
    client: TestClient, metrics: Metrics
) -> None:
    assert client.get("/items/a").status_code == 200
    assert client.get("/items/b").status_code == 200
    assert client.post("/items").status_code == 201
    assert client.get("/nowhere/13912345678").status_code == 404
    # One series per route template, not per path.
    assert count(metrics, "GET", "/items/{item_id}", "200") == 2
    assert timed(metrics, "GET", "/items/{item_id}") == 2
    assert count(metrics, "POST", "/items", "201") == 1
    assert count(metrics, "GET", "unmatched", "404") == 1
    assert count(metrics, "GET", "/items/a", "200") == 0


def test_an_unhandled_error_is_counted_as_the_500_it_was_answered(
    client: TestClient, metrics: Metrics
) -> None:
    answer = client.get("/broken")
    assert answer.status_code == 500
    assert answer.headers[request_log.HEADER] in answer.json()["detail"]
    assert count(metrics, "GET", "/broken", "500") == 1
    assert timed(metrics, "GET", "/broken") == 1


def test_a_streamed_answer_is_counted_once_with_its_status(
    client: TestClient, metrics: Metrics
) -> None:
    answer = client.get("/stream")
    assert (answer.status_code, answer.content) == (206, b"abc")
    assert count(metrics, "GET", "/stream", "206") == 1


def test_websockets_pass_through_uncounted(client: TestClient, metrics: Metrics) -> None:
    with client.websocket_connect("/ws") as ws:
        ws.send_text("hello")
        assert ws.receive_text() == "hello"
    samples = [
        sample
        for family in metrics.registry.collect()
        if family.name == "rescue_http_requests"
        for sample in family.samples
    ]
    assert samples == []
