"""Sending one message to one channel, each with a timeout, saying whether a failure is worth
retrying.

Written on httpx and smtplib rather than a multi-channel library: Apprise, the best-kept one,
builds the DingTalk, WeCom and Feishu addresses itself (so they cannot point at a proxy or a test
receiver), signs no generic webhook, and reports only success or failure, not the robot's
``errcode`` that tells a bad signature from a rate limit.

``dedup`` says whether the receiver can recognise a message sent twice: the generic webhook
carries the delivery id in ``X-Yuqing-Delivery`` and email a ``Message-ID`` made from it, so a
message whose sender died mid-send is sent again; the chat robots have no such key, so the
dispatcher marks such a message failed rather than risk posting it twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import httpx

from pipeline.notify.render import Message
from pipeline.notify_settings import (
    Channel,
    DingTalkChannel,
    EmailChannel,
    FeishuChannel,
    WebhookChannel,
    WeComChannel,
)

# Longest message each accepts (WeCom counts 4096 bytes of UTF-8: a third in Chinese characters).
_TEXT_LIMITS = {"webhook": 20000, "dingtalk": 18000, "wecom": 1300, "feishu": 18000,
                "email": 100000}
# Statuses that say "later", not "never".
_TRANSIENT_STATUSES = {408, 425, 429}


class SendError(Exception):
    """A failed attempt; ``permanent`` when retrying cannot help (a refused address, a bad
    request). ``str()`` is one line and never contains a secret."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


class Sender:
    """One configured channel."""

    dedup = False

    def __init__(self, name: str, config: Channel) -> None:
        self.name = name
        self.config = config

    @property
    def limit(self) -> int:
        return _TEXT_LIMITS[self.config.type]

    def send(self, message: Message) -> None:
        raise NotImplementedError


class _Http(Sender):
    def _post(self, url: str | httpx.URL, **request: Any) -> httpx.Response:
        try:
            response = httpx.post(url, timeout=self.config.timeout_s, **request)
        except httpx.HTTPError as error:
            raise SendError(f"{type(error).__name__}: {error}") from None
        if response.status_code >= 400:
            raise SendError(f"HTTP {response.status_code}: {response.text[:200]}",
                            permanent=response.status_code < 500
                            and response.status_code not in _TRANSIENT_STATUSES)
        return response

    def _reply(self, response: httpx.Response, *codes: str) -> None:
        """Chat robots answer 200 with an error code in the body (a bad signature, a rate
        limit), so a 200 alone is not a delivery."""
        try:
            reply = response.json()
        except ValueError:
            raise SendError(f"reply is not JSON: {response.text[:200]}") from None
        code = next((reply[name] for name in codes if isinstance(reply, dict) and name in reply),
                    None)
        if code != 0:
            message = reply.get("errmsg") or reply.get("msg") if isinstance(reply, dict) else None
            raise SendError(f"{self.config.type} refused the message: code {code}: {message}")


class Webhook(_Http):
    """JSON POST. With a secret, ``X-Yuqing-Signature: sha256=<hex>`` is the HMAC-SHA256 of
    ``<X-Yuqing-Timestamp>.<body>``, so a receiver can refuse forged and replayed requests."""

    config: WebhookChannel
    dedup = True

    def send(self, message: Message) -> None:
        body = json.dumps(message.as_json(), ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-Yuqing-Timestamp": timestamp,
                   "X-Yuqing-Delivery": str(message.delivery_id)}
        if self.config.secret is not None:
            headers["X-Yuqing-Signature"] = "sha256=" + webhook_signature(
                self.config.secret.reveal(), timestamp, body)
        self._post(self.config.url, content=body, headers=headers)


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def dingtalk_sign(secret: str, timestamp_ms: str) -> str:
    """DingTalk's 加签: base64 of HMAC-SHA256 over ``timestamp\\nsecret``, keyed by the secret."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def feishu_sign(secret: str, timestamp_s: str) -> str:
    """Feishu's signature: base64 of HMAC-SHA256 keyed by ``timestamp\\nsecret`` over nothing."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


class DingTalk(_Http):
    config: DingTalkChannel

    def send(self, message: Message) -> None:
        url = httpx.URL(self.config.url)
        if self.config.secret is not None:
            timestamp = str(int(time.time() * 1000))
            # Added to the access_token already in the robot's URL (httpx's params= replaces it).
            url = url.copy_merge_params({
                "timestamp": timestamp,
                "sign": dingtalk_sign(self.config.secret.reveal(), timestamp)})
        body = {"msgtype": "markdown",
                "markdown": {"title": message.title, "text": message.markdown(self.limit)}}
        self._reply(self._post(url, json=body), "errcode")


class WeCom(_Http):
    config: WeComChannel

    def send(self, message: Message) -> None:
        body = {"msgtype": "markdown", "markdown": {"content": message.markdown(self.limit)}}
        self._reply(self._post(self.config.url, json=body), "errcode")


class Feishu(_Http):
    config: FeishuChannel

    def send(self, message: Message) -> None:
        body: dict[str, Any] = {"msg_type": "text",
                                "content": {"text": message.text(self.limit)}}
        if self.config.secret is not None:
            timestamp = str(int(time.time()))
            body |= {"timestamp": timestamp,
                     "sign": feishu_sign(self.config.secret.reveal(), timestamp)}
        # Newer bots answer {"code": 0}, older ones {"StatusCode": 0}.
        self._reply(self._post(self.config.url, json=body), "code", "StatusCode")


class Email(Sender):
    """One email to all of ``to``. Its ``Message-ID`` is made from the delivery id, so a copy
    sent again after a crash is recognisable (and dropped by mail systems that deduplicate)."""

    config: EmailChannel
    dedup = True

    def send(self, message: Message) -> None:
        config = self.config
        mail = EmailMessage()
        mail["Subject"] = message.title
        mail["From"] = config.sender
        mail["To"] = ", ".join(config.to)
        mail["Date"] = formatdate(localtime=False)
        domain = config.sender.rpartition("@")[2].strip("> ") or "yuqing.invalid"
        mail["Message-ID"] = f"<yuqing-delivery-{message.delivery_id}@{domain}>"
        mail.set_content(message.text(self.limit))
        try:
            smtp: smtplib.SMTP = (
                smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout_s,
                                 context=ssl.create_default_context()) if config.ssl
                else smtplib.SMTP(config.host, config.port, timeout=config.timeout_s))
            with smtp:
                if config.starttls and not config.ssl:
                    smtp.starttls(context=ssl.create_default_context())
                if config.username:
                    smtp.login(config.username,
                               config.password.reveal() if config.password else "")
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as error:
            raise SendError(f"SMTP refused the recipients: {sorted(error.recipients)}",
                            permanent=True) from None
        except smtplib.SMTPResponseException as error:
            raise SendError(f"SMTP {error.smtp_code}: {error.smtp_error.decode(errors='replace')}",
                            permanent=500 <= error.smtp_code < 600) from None
        except (OSError, smtplib.SMTPException) as error:
            raise SendError(f"SMTP {type(error).__name__}: {error}") from None


_SENDERS: dict[str, type[Sender]] = {"webhook": Webhook, "dingtalk": DingTalk, "wecom": WeCom,
                                     "feishu": Feishu, "email": Email}


def make_sender(name: str, config: Channel) -> Sender:
    return _SENDERS[config.type](name, config)
