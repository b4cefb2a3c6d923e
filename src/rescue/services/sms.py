"""Sending text messages: the gateway interface, the HTTP adapter, and the message templates.

The adapter POSTs `{"to", "text", "key"}` as JSON to the configured URL, with
the message's key also as `Idempotency-Key` (a gateway that honours it sends
a message retried after a crash only once) and the credentials as HTTP basic
auth or a bearer token. A 2xx answer is sent; a timeout, a refused
connection, 5xx, 408 or 429 is an outage and retried; any other 4xx refuses the
message for good (a malformed number), which is recorded, not retried.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from rescue.services.delivery import DeliveryFailed

# zh-CN by default; RESCUE_SMS_TEMPLATES (JSON) replaces any of them by name.
DEFAULT_TEMPLATES: dict[str, str] = {
    "help_on_the_way": (
        "【道路救援】救援车 {call_sign} 已接单，正赶往您的位置，预计 {eta_min} 分钟到达。"
        "实时查看救援车位置：{link}"
    ),
    "van_arrived": "【道路救援】救援车 {call_sign} 已到达现场，请留意身穿工作服的救援人员。",
    "job_completed": (
        "【道路救援】本次救援已完成，感谢您的耐心等待。我们将在 {followup_hours} 小时内"
        "致电回访，听取您的意见。"
    ),
    "tracking_link": "【道路救援】实时查看救援车位置与预计到达时间：{link}",
    "followup_reminder": (
        "【道路救援】我们致电回访未能接通您的电话，将于 {retry_at} 再次致电，请留意来电。"
    ),
}


class SmsGateway(Protocol):
    def send(self, to: str, text: str, key: str) -> str | None:
        """Sends one message; returns the gateway's id for it, raises DeliveryFailed."""

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Templates:
    texts: dict[str, str]

    @classmethod
    def with_overrides(cls, overrides: dict[str, str]) -> Templates:
        return cls({**DEFAULT_TEMPLATES, **overrides})

    def render(self, template: str, params: dict[str, Any]) -> str:
        text = self.texts[template]
        names = {field for _, field, _, _ in string.Formatter().parse(text) if field}
        # A parameter a template does not have (or a replaced template that lacks one) is
        # left out rather than failing the message.
        return text.format(**{name: _shown(params.get(name)) for name in names})


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.0f}"
    return str(value)


RETRIED_STATUSES = frozenset({408, 429})


class HttpSmsGateway:
    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        auth = httpx.BasicAuth(username, password or "") if username else None
        self._url = url
        self._client = httpx.Client(timeout=timeout_s, headers=headers, auth=auth)

    def send(self, to: str, text: str, key: str) -> str | None:
        try:
            answer = self._client.post(
                self._url,
                json={"to": to, "text": text, "key": key},
                headers={"Idempotency-Key": key},
            )
        except httpx.HTTPError as error:
            raise DeliveryFailed(f"gateway unreachable: {type(error).__name__}") from None
        if answer.is_success:
            try:
                body = answer.json()
            except ValueError:
                return None
            gateway_id = body.get("id") if isinstance(body, dict) else None
            return str(gateway_id) if gateway_id is not None else None
        permanent = answer.is_client_error and answer.status_code not in RETRIED_STATUSES
        raise DeliveryFailed(
            f"gateway answered HTTP {answer.status_code}",
            status_code=answer.status_code,
            permanent=permanent,
        )

    def close(self) -> None:
        self._client.close()
