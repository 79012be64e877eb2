"""The reference a faultless job would store, computed without the job's code, and the audit
of a store against it: what is lost, what is duplicated.

The fault bench (``yuqing bench faults``) audits every row with it, and the job's tests check
their alerts against the same oracle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from devkit.hostile import HostileKind
from models.lstm import PACKAGED_ARTIFACT, load_artifact, negative_probabilities
from pipeline.config import Settings
from pipeline.errors import OperatorError
from pipeline.store.engine import make_engine
from pipeline.store.models import Alert, AlertVersion, StoredDeadLetter
from pipeline.text.clean import TextRejected
from pipeline.text.stage import TextStage


class Oracle:
    """P(negative) of raw texts, computed without the code the job scores with.

    The job serves the LSTM folded (``FoldedBiLSTM``), batched by ``padded_inference_fn`` inside
    RunInference. This rebuilds the model as training left it (``BiLSTMClassifier``) and scores
    through ``negative_probabilities``, the training code's own read-out; only the text stage,
    which has tests of its own, is shared. A bug in the serving path cannot agree with itself
    here. Loaded once per bench (the text stage alone takes seconds), and each distinct text is
    scored once, so a bench's cycled texts cost one lap.
    """

    def __init__(self, settings: Settings) -> None:
        if settings.model != "lstm":
            raise OperatorError(f"the reference rebuilds the LSTM; YUQING_MODEL is "
                                  f"{settings.model!r}: unset it for this bench")
        if settings.source_thresholds:
            # The benches' comments carry made-up sources; one threshold keeps the check exact.
            raise OperatorError("the reference labels at one alert threshold; "
                                "YUQING_SOURCE_THRESHOLDS is set: unset it for this bench")
        self.threshold = settings.alert_threshold
        self._model, self._vocab, _card = load_artifact(settings.model_path or PACKAGED_ARTIFACT)
        self._stage = TextStage.load(settings)

    def scores(self, texts: Sequence[str]) -> list[float | None]:
        """One per text; None where the text stage refuses it."""
        distinct = list(dict.fromkeys(texts))
        processed = self._stage.process_batch(distinct)
        kept = [i for i, p in enumerate(processed) if not isinstance(p, TextRejected)]
        scores = negative_probabilities(self._model,
                                        [self._vocab.encode(processed[i].text) for i in kept])
        by_text = {distinct[i]: score for i, score in zip(kept, scores.tolist(), strict=True)}
        return [by_text.get(text) for text in texts]


def expected_scores(settings: Settings, texts: list[str]) -> list[float | None]:
    """P(negative) of each raw text under the configured LSTM (see :class:`Oracle`); None where
    the text stage refuses it."""
    return Oracle(settings).scores(texts)


def expected_alerts(settings: Settings, comments: list[tuple[str, str]]) -> set[str]:
    """Ids of the (id, raw text) comments whose P(negative) reaches the alert threshold."""
    scores = expected_scores(settings, [text for _id, text in comments])
    return {comment_id for (comment_id, _text), score in zip(comments, scores, strict=True)
            if score is not None and score >= settings.alert_threshold}


Position = tuple[str, int, int]  # topic, partition, offset


@dataclass(frozen=True)
class Reference:
    """What a faultless run stores for a row's input."""

    sent: frozenset[str]  # every comment id in the input
    alerts: frozenset[str]  # ids whose alert must stand
    rejected: frozenset[str]  # ids the text stage must turn into a dead letter
    hostile: dict[Position, HostileKind]  # one dead letter each, at its Kafka position


def reference(oracle: Oracle, comments: Sequence[tuple[str, str]],
              hostile: dict[Position, HostileKind] | None = None) -> Reference:
    scores = oracle.scores([text for _id, text in comments])
    verdicts = list(zip((comment_id for comment_id, _text in comments), scores, strict=True))
    return Reference(
        sent=frozenset(comment_id for comment_id, _score in verdicts),
        alerts=frozenset(comment_id for comment_id, score in verdicts
                         if score is not None and score >= oracle.threshold),
        rejected=frozenset(comment_id for comment_id, score in verdicts if score is None),
        hostile=hostile or {},
    )


@dataclass(frozen=True)
class Audit:
    """The store compared with the reference, row by row."""

    lost_alerts: int  # alerts the reference raises that are missing or withdrawn
    lost_rejections: int  # comments the text stage refuses with no dead letter for them
    lost_hostile: int  # hostile messages with no dead letter at their position
    extra_alerts: int  # alert rows the reference does not raise (ids not sent, or not negative)
    extra_versions: int  # the same version of a comment stored more than once
    extra_dead_letters: int  # a second letter for one Kafka message, or one for a valid comment
    wrong_reasons: int  # hostile messages dead-lettered without the reason their kind names

    @property
    def lost(self) -> int:
        return self.lost_alerts + self.lost_rejections + self.lost_hostile

    @property
    def duplicated(self) -> int:
        return self.extra_alerts + self.extra_versions + self.extra_dead_letters


def audit(database_url: str, expected: Reference) -> Audit:
    """Read the store and count what is missing and what is extra against ``expected``."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            alerts = session.execute(select(Alert.comment_id, Alert.withdrawn_at)).all()
            versions = session.execute(
                select(func.count())
                .select_from(AlertVersion)
                .group_by(AlertVersion.comment_id, AlertVersion.crawled_at,
                          AlertVersion.raw_text)).scalars().all()
            letters = session.execute(select(
                StoredDeadLetter.stage, StoredDeadLetter.reason, StoredDeadLetter.record_id,
                StoredDeadLetter.kafka_topic, StoredDeadLetter.kafka_partition,
                StoredDeadLetter.kafka_offset)).all()
    finally:
        engine.dispose()
    standing = {comment_id for comment_id, withdrawn_at in alerts if withdrawn_at is None}
    per_position = Counter((topic, partition, offset)
                           for _stage, _reason, _id, topic, partition, offset in letters
                           if topic is not None)
    refused = {record_id for stage, _reason, record_id, *_position in letters
               if stage == "text" and record_id in expected.rejected}
    unexpected = [letter for letter in letters
                  if (letter.kafka_topic, letter.kafka_partition, letter.kafka_offset)
                  not in expected.hostile and letter.record_id not in expected.rejected]
    reasons = {(letter.kafka_topic, letter.kafka_partition, letter.kafka_offset): letter.reason
               for letter in letters}
    return Audit(
        lost_alerts=len(expected.alerts - standing),
        lost_rejections=len(expected.rejected - refused),
        lost_hostile=sum(position not in per_position for position in expected.hostile),
        extra_alerts=sum(comment_id not in expected.alerts for comment_id, _when in alerts),
        extra_versions=sum(count - 1 for count in versions),
        extra_dead_letters=sum(count - 1 for count in per_position.values()) + len(unexpected),
        wrong_reasons=sum(position in reasons and kind.reason not in reasons[position]
                          for position, kind in expected.hostile.items()),
    )
