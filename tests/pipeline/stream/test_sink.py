"""WriteRows in a TestPipeline against a real SQLite store."""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from sqlalchemy.orm import Session

from pipeline.records import DeadLetter, Lineage
from pipeline.store.engine import make_engine
from pipeline.store.migrations import upgrade
from pipeline.store.queries import add_dead_letters, select_dead_letters
from pipeline.stream.sink import WriteRows


def test_write_rows_writes_each_bundle_to_the_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    letters = [DeadLetter(stage="parse", reason=f"r{i}", raw=b"x", lineage=Lineage(
        topic="comments", partition=0, offset=i)) for i in range(5)]
    with BeamTestPipeline() as pipeline:
        _ = (pipeline | beam.Create(letters)
             | beam.ParDo(WriteRows(url, add_dead_letters, "dead_letters")))
    with Session(make_engine(url)) as session:
        stored = select_dead_letters(session)
    assert sorted(letter.reason for letter in stored) == [f"r{i}" for i in range(5)]
