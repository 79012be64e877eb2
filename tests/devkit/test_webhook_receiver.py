"""``yuqing demo-webhook``'s receiver, fed by the real dispatcher: what the README's walk-through
shows a newcomer, and what a real receiver must check."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from devkit.webhook_receiver import WebhookReceiver, describe
from pipeline.notify.channels import webhook_signature
from pipeline.notify.dispatcher import Dispatcher
from pipeline.notify_settings import Notifications
from pipeline.store.engine import make_engine
from pipeline.store.migrations import upgrade
from pipeline.store.outbox import Notice, NoticeKind, enqueue

NOTICE = Notice(kind=NoticeKind.ALERT, key="alert:c1:comments:0:1",
                title="Negative comment on shop (score 0.97)", body="差评", source="shop",
                keywords=("京东",), score=0.97, url="https://shop.example/c1")


@pytest.mark.integration
def test_a_dispatched_notice_is_shown_once_and_forgeries_are_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'yuqing.db'}"
    upgrade(url)
    engine = make_engine(url)
    shown: list[dict[str, Any]] = []
    receiver = WebhookReceiver(show=shown.append, secret="s3cret").start()
    try:
        with Session(engine) as session, session.begin():
            enqueue(session, [NOTICE])
        settings = Notifications.model_validate({
            "channels": {"local": {"type": "webhook", "url": receiver.url, "secret": "s3cret"}},
            "rules": [{"name": "everything", "channels": ["local"], "group_wait": 0}]})
        Dispatcher(engine, settings).run_once()
        [message] = shown
        assert [notice["key"] for notice in message["notices"]] == [NOTICE.key]
        assert describe(message).splitlines()[1:] == [
            f"  - {NOTICE.title}", f"    {NOTICE.body}", f"    {NOTICE.url}"]

        body = json.dumps(message).encode()
        now = str(int(time.time()))
        signed = {"X-Yuqing-Timestamp": now, "X-Yuqing-Delivery": str(message["delivery"]),
                  "X-Yuqing-Signature": "sha256=" + webhook_signature("s3cret", now, body)}
        again = httpx.post(receiver.url, content=body, headers=signed, timeout=5)
        assert again.json() == {"status": "duplicate, already shown"} and len(shown) == 1
        forged = httpx.post(receiver.url, content=body, timeout=5, headers={
            **signed, "X-Yuqing-Delivery": "999", "X-Yuqing-Signature": "sha256=00"})
        stale = str(int(time.time()) - 3600)
        replayed = httpx.post(receiver.url, content=body, timeout=5, headers={
            **signed, "X-Yuqing-Delivery": "998", "X-Yuqing-Timestamp": stale,
            "X-Yuqing-Signature": "sha256=" + webhook_signature("s3cret", stale, body)})
        assert (forged.status_code, replayed.status_code) == (401, 401)
        assert len(shown) == 1 and receiver.refused == 2
    finally:
        receiver.stop()
        engine.dispose()
