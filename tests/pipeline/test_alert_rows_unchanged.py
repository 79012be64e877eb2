"""The alert rows the job makes from a fixed input, compared with those it made before.

Speed work on the text stage and the scorer (a faster segmenter, a vectorised corrector) must not
change a single stored row. Each row is kept as a hash of its canonical JSON, so the committed
file holds none of the review texts. After a change that is meant to change rows (a new model, a
new corrector), regenerate it with ``UPDATE_GOLDEN=1 pytest`` on this file, and say why in
the commit.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from devkit.hostile import cycled_records
from pipeline.alerts import Prepared, alert_row
from pipeline.config import Settings
from pipeline.records import AlertRow, Lineage
from pipeline.scoring import load_scorer
from pipeline.text.clean import TextRejected
from pipeline.text.stage import TextStage

GOLDEN = Path(__file__).parent / "golden" / "alert_rows.json"
COMMENTS = 1000
BATCH = 256  # the job's text-stage batch
KEYWORDS = ["酒店", "京东", "手机", "华为Mate60"]  # protected terms, as an operator sets them
SCORE_DIGITS = 6  # scores of one text may differ in the last float bits with its batch


def _rows() -> dict[str, str]:
    settings = Settings(keywords=KEYWORDS, model="lstm")
    stage = TextStage.load(settings)
    scorer = load_scorer(settings)
    handler = scorer.model_handler()
    model = handler.load_model()
    crawled = datetime(2026, 1, 1, tzinfo=UTC)
    records = [record.model_copy(update={"crawled_at": crawled})
               for record in cycled_records(COMMENTS, source="golden")]
    hashes: dict[str, str] = {}
    for start in range(0, len(records), BATCH):
        batch = records[start:start + BATCH]
        texts = stage.process_batch([record.text for record in batch])
        accepted = [(number, record, text)
                    for number, (record, text) in enumerate(zip(batch, texts, strict=True),
                                                            start=start)
                    if not isinstance(text, TextRejected)]
        inputs = [scorer.encode(text.text, list(text.tokens)) for _, _, text in accepted]
        for (number, record, text), result in zip(
                accepted, handler.run_inference(inputs, model), strict=True):
            lineage = Lineage(topic="golden", partition=0, offset=number)
            comment = Prepared(record=record, lineage=lineage, raw=b"", clean_text=text.text,
                               tokens=list(text.tokens), keywords=list(text.keywords))
            row = alert_row(comment, scorer.negative_probability(result), model=scorer.name,
                            model_version=scorer.version, threshold=settings.alert_threshold)
            hashes[record.id] = _digest(row)
    return hashes


def _digest(row: AlertRow) -> str:
    fields = {**row.as_dict(), "score": round(row.score, SCORE_DIGITS)}
    canonical = json.dumps(fields, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def test_alert_rows_are_unchanged() -> None:
    rows = _rows()
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(rows, indent=0, sort_keys=True) + "\n")
    expected = json.loads(GOLDEN.read_text())
    assert len(rows) > COMMENTS * 0.95
    changed = sorted(key for key in expected if rows.get(key) != expected[key])
    assert rows.keys() == expected.keys()
    assert not changed, f"{len(changed)} of {len(rows)} alert rows changed, e.g. {changed[:5]}"
