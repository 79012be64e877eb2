"""``yuqing replay`` as an operator runs it, in a fresh process: the dry run reports, --apply
writes, and a bad time is one line."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.records import Label
from pipeline.store.engine import make_engine
from pipeline.store.migrations import upgrade
from pipeline.store.models import Alert, Comment
from pipeline.store.queries import record_scores
from tests.pipeline.cli.test_errors import one_line, yuqing
from tests.pipeline.test_replay import ARTIFACT, old_row

TEXTS = ["房间干净，服务热情，下次还来住这家酒店", "太差了，再也不买，客服也不理人",
         "物流很快，包装完好，质量不错", "屏幕有坏点，退货还要自己付运费，太坑了"]


def test_dry_run_then_apply(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'yuqing.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session, session.begin():  # the old model had them all backwards
        record_scores(session, [old_row(n, text) for n, text in enumerate(TEXTS)])
    env = {"YUQING_DATABASE_URL": url, "YUQING_CORRECT_TEXT": "false"}
    args = ("replay", "--model", "lstm", "--model-path", str(ARTIFACT))

    dry = yuqing(*args, "--json", **env)
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)
    assert (report["rescored"], report["raised"], report["withdrawn"]) == (4, 2, 2)
    assert not report["applied"]
    with Session(engine) as session:
        assert set(session.scalars(select(Comment.model_version))) == {"lstm-0.9.0"}

    done = yuqing(*args, "--apply", **env)
    assert done.returncode == 0, done.stderr
    assert "2 alerts were raised, 2 were withdrawn" in " ".join(done.stdout.split())
    with Session(engine) as session:
        negative = set(session.scalars(select(Comment.comment_id)
                                       .where(Comment.label == Label.NEGATIVE)))
        standing = set(session.scalars(select(Alert.comment_id)
                                       .where(Alert.withdrawn_at.is_(None))))
    assert standing == negative == {"demo-shop:001", "demo-forum:003"}


def test_a_bad_until_is_one_line(tmp_path: Path) -> None:
    done = yuqing("replay", "--until", "yesterday",
                  YUQING_DATABASE_URL=f"sqlite:///{tmp_path / 'yuqing.db'}")
    assert done.returncode == 2
    assert "--until" in one_line(done) and "'yesterday'" in one_line(done)
