"""`yuqing notify run` killed (SIGKILL) while a receiver holds its request open, then started
again: every message arrives exactly once (a resent copy carries the same delivery id) or, on a
channel that cannot recognise a copy, is marked failed. And SIGTERM stops it cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pipeline.store.deliveries import DeliveryState
from pipeline.store.models import Delivery
from tests.pipeline.notify.conftest import add, notice
from tests.utils.background import wait_until
from tests.utils.receivers import HttpReceiver

pytestmark = pytest.mark.integration

NOTICES = 4


def _config(path: Path, database_url: str, kind: str, url: str) -> Path:
    secret = 'secret = "k"\n' if kind == "webhook" else ""
    path.write_text(f"""
data_dir = {json.dumps(str(path.parent))}
database_url = {json.dumps(database_url)}

[notifications]
poll_interval_s = 0.2
lease_s = 1

[notifications.channels.out]
type = "{kind}"
url = {json.dumps(url)}
timeout_s = 2
backoff_s = "1s"
{secret}
[[notifications.rules]]
name = "each"
channels = ["out"]
group_by = ["..."]
group_wait = 0
""", encoding="utf-8")
    return path


@contextmanager
def _dispatcher(config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {name: value for name, value in os.environ.items()
           if not name.upper().startswith("YUQING_")}
    with log.open("ab") as out:
        child = subprocess.Popen([sys.executable, "-m", "pipeline", "notify", "run"],
                                 env={**env, "YUQING_CONFIG": str(config)},
                                 stdout=out, stderr=subprocess.STDOUT)
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)


def _deliveries(engine: Engine) -> list[Delivery]:
    with Session(engine) as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def _settled(engine: Engine) -> bool:
    deliveries = _deliveries(engine)
    return len(deliveries) == NOTICES and all(
        d.state in (DeliveryState.SENT, DeliveryState.FAILED) for d in deliveries)


@pytest.mark.parametrize("kind", ["webhook", "dingtalk"])
def test_killed_mid_send_then_restarted(kind: str, database_url: str, engine: Engine,
                                        tmp_path: Path) -> None:
    with HttpReceiver(kind, secret="k" if kind == "webhook" else None) as receiver:
        config = _config(tmp_path / "yuqing.toml", database_url, kind, receiver.url)
        log = tmp_path / "dispatcher.log"
        add(engine, *(notice(n) for n in range(NOTICES)))
        receiver.hold.clear()
        with _dispatcher(config, log) as first:
            assert receiver.waiting.wait(30), log.read_text()
            first.kill()
            first.wait(10)
        receiver.hold.set()
        with _dispatcher(config, log) as second:
            wait_until(lambda: _settled(engine), 60, "every message sent or failed")
            second.send_signal(signal.SIGTERM)
            assert second.wait(15) == 0, log.read_text()

    deliveries = _deliveries(engine)
    interrupted = deliveries[0]  # the first message was the one held open
    if kind == "webhook":
        assert {d.state for d in deliveries} == {DeliveryState.SENT}
        ids = [r.headers["x-yuqing-delivery"] for r in receiver.received]
        assert sorted(set(ids)) == sorted(str(d.id) for d in deliveries)
        assert len(ids) == NOTICES + 1, "only the interrupted message was sent twice"
        assert ids.count(str(interrupted.id)) == 2
        keys = sorted({(r.headers["x-yuqing-delivery"], n["key"])
                       for r in receiver.received for n in r.json()["notices"]})
        assert sorted(key for _, key in keys) == sorted(notice(n).key for n in range(NOTICES))
    else:
        assert interrupted.state == DeliveryState.FAILED
        assert "interrupted while sending" in (interrupted.last_error or "")
        assert {d.state for d in deliveries[1:]} == {DeliveryState.SENT}
        texts = [r.json()["markdown"]["text"] for r in receiver.received]
        assert len(texts) == NOTICES, "nothing was posted twice"
        for n in range(NOTICES):
            assert sum(f"https://shop/c{n})" in text for text in texts) == 1
    assert "notification dispatcher stopped" in log.read_text()


def test_notify_test_says_whether_the_channel_took_it(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'unused.db'}"  # the test message skips the store
    env = {name: value for name, value in os.environ.items()
           if not name.upper().startswith("YUQING_")}
    with HttpReceiver("webhook", secret="k") as receiver:
        config = _config(tmp_path / "yuqing.toml", database_url, "webhook", receiver.url)
        command = [sys.executable, "-m", "pipeline", "notify", "test", "--channel", "out"]
        done = subprocess.run(command, env={**env, "YUQING_CONFIG": str(config)},
                              capture_output=True, text=True, timeout=60, check=False)
        assert (done.returncode, done.stdout) == (0, "out: delivered\n"), done.stderr
        assert receiver.received[0].json()["title"] == "Yuqing test notification"
        config.write_text(config.read_text().replace('secret = "k"', 'secret = "wrong"'))
        refused = subprocess.run(command, env={**env, "YUQING_CONFIG": str(config)},
                                 capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith("out: not delivered: HTTP 401")
