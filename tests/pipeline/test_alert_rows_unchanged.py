"""The alert rows the job makes from a fixed input, compared with those it made before.

Speed work on the text stage and the scorer (a faster segmenter, a vectorised corrector) must not
change a single stored row. Each row is kept as a hash of its canonical JSON without the score
(so the committed file holds none of the review texts), with the score beside it. A score is
compared within ``SCORE_TOLERANCE``: float32 kernels differ in the last bits from one CPU to
another (an AMD machine without AVX-512 moved 17 of 1,000 scores by 1e-6). After a change that
is meant to change rows (a new model, a new corrector), regenerate it with ``UPDATE_GOLDEN=1
pytest`` on this file, and say why in the commit.
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
# Scores of one text differ in the last float bits with its batch and with the CPU's kernels; a
# change to the text stage or the model moves them by far more.
SCORE_TOLERANCE = 1e-5


def _rows() -> dict[str, dict[str, float | str]]:
    settings = Settings(keywords=KEYWORDS, model="lstm")
    stage = TextStage.load(settings)
    scorer = load_scorer(settings)
    handler = scorer.model_handler()
    model = handler.load_model()
    crawled = datetime(2026, 1, 1, tzinfo=UTC)
    records = [record.model_copy(update={"crawled_at": crawled})
               for record in cycled_records(COMMENTS, source="golden")]
    rows: dict[str, dict[str, float | str]] = {}
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
            rows[record.id] = {"row": _digest(row), "score": round(row.score, 7)}
    return rows


def _digest(row: AlertRow) -> str:
    fields = {key: value for key, value in row.as_dict().items() if key != "score"}
    canonical = json.dumps(fields, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def test_alert_rows_are_unchanged() -> None:
    rows = _rows()
    if os.environ.get("UPDATE_GOLDEN"):
        lines = (f"{json.dumps(key)}: {json.dumps(row, sort_keys=True)}"
                 for key, row in sorted(rows.items()))
        GOLDEN.write_text("{\n" + ",\n".join(lines) + "\n}\n")
    expected = json.loads(GOLDEN.read_text())
    assert len(rows) > COMMENTS * 0.95
    assert rows.keys() == expected.keys()
    changed = sorted(key for key, row in rows.items()
                     if row["row"] != expected[key]["row"]
                     or abs(row["score"] - expected[key]["score"]) > SCORE_TOLERANCE)
    assert not changed, f"{len(changed)} of {len(rows)} alert rows changed, e.g. {changed[:5]}"
