"""The ``[notifications]`` section of the settings: channels, and the rules that route notices to
them.

Here, at the bottom of the layers, so that :class:`pipeline.config.Settings` validates the whole
section when it loads the config file (a rule naming a channel that does not exist fails at
start, not at the first alert), without importing the dispatcher (:mod:`pipeline.notify`).

The rules follow Prometheus Alertmanager's routing where it fits: rules are tried in order and
the first that matches takes the notice unless it says ``continue = true``; a rule groups the
notices it takes by ``group_by`` labels, waits ``group_wait`` after a group's first notice so
that a burst becomes one message, and sends what joined an already notified group at most every
``group_interval``. Alertmanager's ``repeat_interval`` has no counterpart: a notice is an event,
sent once, not a state that keeps firing.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(value: object) -> object:
    """Alertmanager's ``30s``, ``5m``, ``1h30m``; a bare number is seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip()
        parts = _DURATION.findall(text)
        if not parts or "".join(f"{n}{u}" for n, u in parts) != text:
            raise ValueError(f"{value!r} is not a duration such as 30s, 5m or 1h30m")
        return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Secret(_Strict):
    """A secret given either in the file (``"…"``) or by the name of an environment variable
    that holds it (``{ env = "DINGTALK_SECRET" }``), so the file can be shared without it."""

    value: SecretStr | None = None
    env: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _plain_string(cls, value: object) -> object:
        return {"value": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_of(self) -> Secret:
        if (self.value is None) == (self.env is None):
            raise ValueError("give the secret itself or {env = \"VARIABLE\"}, not both or neither")
        return self

    def reveal(self) -> str:
        """The secret; a variable that is not set is a configuration error at the first use."""
        if self.value is not None:
            return self.value.get_secret_value()
        assert self.env is not None
        if self.env not in os.environ:
            raise ValueError(f"environment variable {self.env} (a notification secret) is not set")
        return os.environ[self.env]


class _Channel(_Strict):
    timeout_s: float = Field(10.0, gt=0, description="Timeout of one HTTP request or SMTP "
                             "session.")
    max_attempts: int = Field(6, ge=1, description="Attempts before a message is marked failed.")
    backoff_s: Duration = Field(timedelta(seconds=30), description="Pause after the first failed "
                                "attempt; doubled after each further one.")
    backoff_max: Duration = Field(timedelta(minutes=30), description="Longest pause.")


class WebhookChannel(_Channel):
    """A JSON POST; with ``secret``, signed with HMAC-SHA256."""

    type: Literal["webhook"]
    url: str
    secret: Secret | None = None


class DingTalkChannel(_Channel):
    """A DingTalk group robot; ``url`` is its webhook with the access token, ``secret`` the
    robot's signing secret (加签) if it has one."""

    type: Literal["dingtalk"]
    url: str
    secret: Secret | None = None


class WeComChannel(_Channel):
    """A WeCom (企业微信) group robot; ``url`` is its webhook with the key."""

    type: Literal["wecom"]
    url: str


class FeishuChannel(_Channel):
    """A Feishu (飞书) custom bot; ``secret`` is its signature-verification secret if set."""

    type: Literal["feishu"]
    url: str
    secret: Secret | None = None


class EmailChannel(_Channel):
    """Email through an SMTP server; ``starttls`` upgrades the connection, ``ssl`` connects over
    TLS from the start (port 465)."""

    type: Literal["email"]
    host: str
    port: int = Field(587, ge=1, le=65535)
    sender: str
    to: list[str] = Field(min_length=1)
    username: str | None = None
    password: Secret | None = None
    starttls: bool = True
    ssl: bool = False


Channel = Annotated[WebhookChannel | DingTalkChannel | WeComChannel | FeishuChannel
                    | EmailChannel, Field(discriminator="type")]


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class QuietHours(_Strict):
    """A daily span in local time (``22:00``-``08:00`` crosses midnight) in which a rule's
    messages wait, unless critical, and go out as one digest when it ends."""

    start: time
    end: time

    @model_validator(mode="before")
    @classmethod
    def _span(cls, value: object) -> object:
        if isinstance(value, str):
            start, sep, end = value.partition("-")
            if not sep:
                raise ValueError(f"{value!r} is not a span such as 22:00-08:00")
            return {"start": start.strip(), "end": end.strip()}
        return value

    def end_of(self, moment: datetime) -> datetime | None:
        """When the quiet span containing the aware ``moment`` ends (in its zone), or None."""
        local = moment.time().replace(tzinfo=None)
        if self.start == self.end:
            return None
        if self.start < self.end:
            inside = self.start <= local < self.end
        else:
            inside = local >= self.start or local < self.end
        if not inside:
            return None
        end = moment.replace(hour=self.end.hour, minute=self.end.minute, second=0,
                             microsecond=0)
        return end if end > moment else end + timedelta(days=1)


class Throttle(_Strict):
    """At most ``max_messages`` per ``period`` for each of a rule's channels; what waits for
    room is digested with whatever joins it meanwhile."""

    max_messages: int = Field(ge=1)
    period: Duration


class Rule(_Strict):
    """Which notices go where. Each match field left empty matches everything; ``keywords``
    matches a notice with any of them; ``min_score`` only notices with a score."""

    name: str = Field(min_length=1, max_length=128)
    kinds: list[Literal["alert", "surge", "crawl_health"]] = []
    sources: list[str] = []
    keywords: list[str] = []
    min_score: float | None = Field(None, ge=0, le=1)
    channels: list[str] = Field(min_length=1)
    severity: Severity = Severity.WARNING
    group_by: list[Literal["kind", "source", "keyword", "..."]] = []
    group_wait: Duration = timedelta(seconds=30)
    group_interval: Duration = timedelta(minutes=5)
    throttle: Throttle | None = None
    quiet_hours: QuietHours | None = None
    timezone: str | None = Field(None, description="Of quiet_hours; None: the section's.")
    continue_: bool = Field(False, alias="continue")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return _zone_name(value) if value is not None else None


class Notifications(_Strict):
    """The whole section. Without rules nothing is sent (the outbox still fills)."""

    channels: dict[str, Channel] = {}
    rules: list[Rule] = []
    timezone: str = "Asia/Shanghai"
    poll_interval_s: float = Field(2.0, gt=0, description="How often the dispatcher looks for "
                                   "new notices and due messages.")
    lease_s: float = Field(60.0, gt=0, description="How long a dispatcher holds a message it is "
                           "sending beyond the channel's timeout; after that another dispatcher "
                           "(or this one, restarted) takes it over.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _zone_name(value)

    @model_validator(mode="after")
    def _rules_name_channels(self) -> Notifications:
        names = [rule.name for rule in self.rules]
        if len(set(names)) != len(names):
            raise ValueError("rule names must be unique")
        for rule in self.rules:
            unknown = sorted(set(rule.channels) - set(self.channels))
            if unknown:
                raise ValueError(f"rule {rule.name!r} names unknown channels {unknown}")
        return self

    def zone(self, rule: Rule) -> ZoneInfo:
        return ZoneInfo(rule.timezone or self.timezone)


def _zone_name(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value
