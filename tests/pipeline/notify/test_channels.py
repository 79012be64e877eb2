"""Each channel against a real receiver on loopback that checks what the real service checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.notify.channels import SendError, make_sender
from pipeline.notify.render import Message
from pipeline.notify_settings import Notifications
from tests.utils.receivers import HttpReceiver, SmtpReceiver

pytestmark = pytest.mark.integration


class _Row:
    """An outbox row as the dispatcher hands it to a channel."""

    def __init__(self, n: int, body: str = "太差了，再也不买") -> None:
        self.id, self.kind, self.key = n, "alert", f"alert:c{n}:comments:0:{n}"
        self.title, self.body = f"Negative comment on shop (score 0.9{n})", body
        self.source, self.keywords, self.score = "shop", ["京东"], 0.9
        self.url, self.created_at = f"https://shop/c{n}", datetime(2026, 12, 1, tzinfo=UTC)


def _message(count: int = 2, body: str = "太差了，再也不买") -> Message:
    return Message(7, "jd", "warning", "source=shop",
                   tuple(_Row(n, body) for n in range(1, count + 1)))


def _send(channel: dict[str, object], message: Message) -> None:
    config = Notifications.model_validate({"channels": {"c": channel}}).channels["c"]
    make_sender("c", config).send(message)


@pytest.mark.parametrize("secret", ["SEC123", None])
def test_dingtalk_robot_signed(secret: str | None) -> None:
    with HttpReceiver("dingtalk", secret=secret) as robot:
        _send({"type": "dingtalk", "url": robot.url, "secret": secret}
              if secret else {"type": "dingtalk", "url": robot.url}, _message())
    (request,) = robot.received
    assert request.query["access_token"] == "t0k", "the robot's own query is kept"
    assert ("sign" in request.query) == (secret is not None)
    text = request.json()["markdown"]["text"]
    assert "### [WARNING] 2 notices (jd, source=shop)" in text and "太差了" in text


def test_dingtalk_wrong_secret_is_its_errcode() -> None:
    with HttpReceiver("dingtalk", secret="right") as robot, pytest.raises(SendError) as caught:
        _send({"type": "dingtalk", "url": robot.url, "secret": "wrong"}, _message())
    assert str(caught.value) == "dingtalk refused the message: code 310000: sign not match"


def test_feishu_bot_signed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEISHU_SECRET", "fs-secret")
    with HttpReceiver("feishu", secret="fs-secret") as bot:
        _send({"type": "feishu", "url": bot.url, "secret": {"env": "FEISHU_SECRET"}}, _message())
    body = bot.received[0].json()
    assert body["msg_type"] == "text" and "太差了" in body["content"]["text"]


def test_feishu_wrong_secret_is_refused() -> None:
    with HttpReceiver("feishu", secret="right") as bot, pytest.raises(SendError,
                                                                     match="code 19021"):
        _send({"type": "feishu", "url": bot.url, "secret": "wrong"}, _message())


def test_wecom_robot_gets_markdown_within_its_limit() -> None:
    with HttpReceiver("wecom") as robot:
        _send({"type": "wecom", "url": robot.url}, _message(count=40, body="差评" * 60))
    content = robot.received[0].json()["markdown"]["content"]
    assert len(content.encode()) <= 4096
    assert "more (see `yuqing alerts` or the dashboard)" in content


def test_email_over_smtp() -> None:
    with SmtpReceiver() as server:
        _send({"type": "email", "host": "127.0.0.1", "port": server.port, "starttls": False,
               "sender": "yuqing@example.com", "to": ["ops@example.com", "pr@example.com"]},
              _message())
    (mail,) = server.messages
    assert mail["Subject"] == "[WARNING] 2 notices (jd, source=shop)"
    assert mail["Message-ID"] == "<yuqing-delivery-7@example.com>"
    assert server.envelopes[0].rcpt_tos == ["ops@example.com", "pr@example.com"]
    assert "太差了" in mail.get_payload(decode=True).decode()


def test_an_smtp_server_that_is_down_is_a_retryable_failure() -> None:
    with SmtpReceiver() as server:
        port = server.port
    with pytest.raises(SendError) as caught:
        _send({"type": "email", "host": "127.0.0.1", "port": port, "starttls": False,
               "sender": "yuqing@example.com", "to": ["ops@example.com"], "timeout_s": 2},
              _message())
    assert not caught.value.permanent and "ConnectionRefusedError" in str(caught.value)


def test_an_unset_secret_variable_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_SECRET", raising=False)
    with HttpReceiver("webhook") as hook, pytest.raises(ValueError, match="NO_SUCH_SECRET"):
        _send({"type": "webhook", "url": hook.url, "secret": {"env": "NO_SUCH_SECRET"}},
              _message())
