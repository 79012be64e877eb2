"""Writing to the store from the job: one transaction per bundle, before the bundle commits.

A store that cannot be reached (a database failing over, a restart, a locked SQLite file) is
waited out: the write is retried with capped exponential backoff for up to
``store_retry_max_s``. Meanwhile the bundle does not finish, so its offsets stay uncommitted and
nothing is lost if the job dies.

A store that refuses the data itself (a value too long for its column, a constraint, a trigger,
an encoding the server will not take) cannot be waited out, and failing the bundle would fail it
again after every restart, from the same offsets: one bad row would stop the job for good. So
the bundle is written again one row at a time, and each row the store refuses becomes a dead
letter with stage ``store``, the driver's reason and the bytes that arrived; the other rows are
stored and the offsets commit. A writer of dead letters does the same, its substitute letter
saying which letter was refused and why. A letter the store refuses even then is logged as an
ERROR with its Kafka position, the one place left to find it, and the job goes on.

Errors in the SQL, the schema or the permissions (PostgreSQL's SQLSTATE class 42: a dropped
table, a revoked grant) are no row's fault, and dead-lettering would throw every row away: they
fail the bundle at once, uncommitted, so that a restart after the fix resumes from its offsets.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Self

import apache_beam as beam
from apache_beam.metrics import Metrics
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from pipeline.alerts import Scored
from pipeline.config import Settings
from pipeline.records import AlertRow, DeadLetter, Lineage, Surge, SurgeSubject
from pipeline.store.engine import StoreError, display_url, make_engine
from pipeline.store.outbox import Notice, NoticeKind, enqueue
from pipeline.store.queries import add_dead_letters, record_scores
from pipeline.store.surges import add_surges
from pipeline.stream import progress

log = logging.getLogger(__name__)

_DEFAULTS = Settings.model_fields

STORE_REFUSED = "store_refused"
"""The counter of rows a writer was given that the store refused: each is dead-lettered, or
counted again under :data:`LETTERS_LOST` if its dead letter is refused as well."""
LETTERS_LOST = "dead_letters_lost"

# SQLSTATE class 42, "syntax error or access rule violation": an undefined table or column, a
# missing privilege. Whatever the rows hold, these fail them all.
_NOT_THE_ROWS = "42"


class StoreUnavailable(StoreError):
    """The store stayed unreachable longer than the job may wait; the bundle was not committed."""


@dataclass(frozen=True)
class StoreRetry:
    """How :class:`WriteRows` waits out an unreachable store.

    The first pauses are short because most outages are blips; the cap keeps a store that
    returns after a long fail-over from sitting idle for minutes before the next attempt.
    """

    max_s: float = _DEFAULTS["store_retry_max_s"].default
    backoff_max_s: float = _DEFAULTS["store_retry_backoff_max_s"].default
    first_backoff_s: float = 0.5
    warn_every_s: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(max_s=settings.store_retry_max_s,
                   backoff_max_s=settings.store_retry_backoff_max_s)

    def backoff_s(self, attempt: int) -> float:
        """The pause after failed attempt number ``attempt`` (1-based)."""
        return min(self.first_backoff_s * 2 ** (attempt - 1), self.backoff_max_s)


def is_transient(error: DBAPIError) -> bool:
    """Whether the store failing to take a write may pass by itself: the connection or the server,
    not the rows or the SQL."""
    return isinstance(error, OperationalError | InterfaceError) or error.connection_invalidated


def refuses_the_rows(error: DBAPIError) -> bool:
    """Whether the store refused the data it was given, so that some row is to blame: neither an
    outage nor a statement, schema or grant that is wrong for every row alike."""
    sqlstate = getattr(error.orig, "sqlstate", None) or ""
    return not is_transient(error) and not sqlstate.startswith(_NOT_THE_ROWS)


class WriteRows(beam.DoFn):
    """Buffer a bundle's rows and write them in one transaction before the bundle ends.

    Writing in ``finish_bundle`` is what makes the source's offset commit safe: the runner
    finalizes (commits) a bundle only after this has returned, so every row must be stored, or
    kept as a dead letter (``letter_for`` makes it, from the row and the driver's reason), or
    logged where it can be found; otherwise this raises.
    """

    def __init__(self, database_url: str, write: Callable[[Session, list[Any]], None],
                 counter: str, letter_for: Callable[[Any, str], DeadLetter],
                 retry: StoreRetry | None = None) -> None:
        self._database_url = database_url
        self._where = display_url(database_url)
        self._write = write
        self._letter_for = letter_for
        self._retry = retry or StoreRetry()
        self._counter = counter
        self._engine: Engine | None = None

    def setup(self) -> None:
        self._engine = make_engine(self._database_url)

    def start_bundle(self) -> None:
        self._rows: list[Any] = []

    def process(self, row: Any) -> None:
        self._rows.append(row)

    def finish_bundle(self) -> None:
        if not self._rows:
            return
        refused = self._store(self._write, self._rows)
        _count(self._counter, len(self._rows) - len(refused))
        _count(STORE_REFUSED, len(refused))
        letters: list[DeadLetter] = []
        for row, cause in refused:
            letter = self._letter_for(row, cause)
            log.warning("the store refused %s at %s: %s; keeping it as a dead letter",
                        letter.record_id or "a message", _position(letter.lineage), cause)
            letters.append(letter)
        lost = self._store(add_dead_letters, letters)
        _count("dead_letters", len(letters) - len(lost))
        _count(LETTERS_LOST, len(lost))
        for letter, cause in lost:
            log.error("lost the dead letter for %s: the store refused it too (%s); the message is "
                      "on Kafka at %s, refused because: %s", letter.record_id or "a message",
                      cause, _position(letter.lineage), letter.reason)
        self._rows = []

    def teardown(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def _store(self, write: Callable[[Session, list[Any]], None], rows: list[Any]
               ) -> list[tuple[Any, str]]:
        """Write ``rows`` in one transaction or, if the store refuses that, each in its own, in
        the order they came; return the rows it refused, with the driver's reason.

        One at a time rather than by bisection: refusals are rare, and a row alone is written
        just as it would have been had it come in a bundle of its own.
        """
        if not rows:
            return []
        try:
            self._write_until_stored(write, rows)
        except DBAPIError as error:
            if not refuses_the_rows(error):
                raise
        else:
            return []
        refused: list[tuple[Any, str]] = []
        for row in rows:
            try:
                self._write_until_stored(write, [row])
            except DBAPIError as error:
                if not refuses_the_rows(error):
                    raise
                refused.append((row, _cause(error)))
        return refused

    def _write_until_stored(self, write: Callable[[Session, list[Any]], None], rows: list[Any]
                            ) -> None:
        assert self._engine is not None, "setup() opens the engine"
        attempts = _Attempts(self._where, self._retry)
        while True:
            try:
                with Session(self._engine) as session, session.begin():
                    write(session, rows)
            except DBAPIError as error:
                if not is_transient(error):
                    raise
                # Connections opened before the failure may be dead; the next attempt opens anew.
                self._engine.dispose()
                time.sleep(attempts.failed(error))
            else:
                attempts.succeeded()
                return


# A notice carries enough of the comment to act on from a phone; the URL leads to the rest.
_NOTICE_TEXT_CHARS = 500


def record_scored(session: Session, scored: list[Scored]) -> None:
    """Store the scored comments and, in the same transaction, put a notice in the outbox for
    each alert raised or reinstated, so a notice exists exactly when its alert does."""
    raised = record_scores(session, [item.row for item in scored])
    enqueue(session, [alert_notice(row) for row in raised])


def alert_notice(row: AlertRow) -> Notice:
    """The notice of a raised alert, keyed by the version that raised it: a replay of that
    message adds nothing, a later edit that raises it again is a new notice."""
    text = _shortened(row.raw_text)
    keywords = f"\nkeywords: {', '.join(row.keywords)}" if row.keywords else ""
    return Notice(
        kind=NoticeKind.ALERT,
        key=f"alert:{row.comment_id}:{row.kafka_topic}:{row.kafka_partition}:{row.kafka_offset}",
        title=f"Negative comment on {row.source} (score {row.score:.2f})",
        body=f"{text}{keywords}", source=row.source, keywords=tuple(row.keywords),
        score=row.score, url=row.url)


def _shortened(text: str) -> str:
    return text if len(text) <= _NOTICE_TEXT_CHARS else f"{text[:_NOTICE_TEXT_CHARS]}…"


def scored_letter(scored: Scored, cause: str) -> DeadLetter:
    """A refused comment's letter: the alerts table keeps no raw bytes, so ``scored`` brings
    them."""
    row = scored.row
    return DeadLetter(stage="store", reason=f"the store refused the comment's row: {cause}",
                      raw=scored.raw, record_id=row.comment_id,
                      lineage=Lineage(topic=row.kafka_topic, partition=row.kafka_partition,
                                      offset=row.kafka_offset))


def substitute_letter(letter: DeadLetter, cause: str) -> DeadLetter:
    """What is kept of a dead letter the store refused: the same message, in the store's words."""
    return DeadLetter(stage="store", reason=f"the store refused this {letter.stage} dead letter "
                      f"({cause}); its reason was: {letter.reason}", raw=letter.raw,
                      record_id=letter.record_id, lineage=letter.lineage)


def write_alerts(database_url: str, retry: StoreRetry | None = None) -> WriteRows:
    """The writer of :class:`~pipeline.alerts.Scored` comments into the alerts."""
    return WriteRows(database_url, record_scored, "scores_written", scored_letter, retry)


def write_dead_letters(database_url: str, retry: StoreRetry | None = None) -> WriteRows:
    """The writer of dead letters; one the store refuses is replaced by its substitute."""
    return WriteRows(database_url, add_dead_letters, "dead_letters", substitute_letter, retry)


def record_surges(session: Session, surges: list[Surge]) -> None:
    """Store the surges and put each one's notice in the outbox in the same transaction."""
    add_surges(session, surges)
    enqueue(session, [surge_notice(surge) for surge in surges])


def surge_notice(surge: Surge) -> Notice:
    """The notice of a surge: the window, the count against the baseline, the worst comments."""
    title = (f"Surge: {surge.count} negative comments about {surge.subject} "
             f"({surge.subject_kind}) in {_minutes(surge)} min (usually "
             f"{surge.baseline_mean:.1f})")
    lines = [f"Window {surge.window_start.isoformat()} to {surge.window_end.isoformat()}: "
             f"{surge.count} negatives; baseline {surge.baseline_mean:.1f} ± "
             f"{surge.baseline_std:.1f}, threshold {surge.threshold:.1f}.",
             *(f"- ({comment.score:.2f}) {_shortened(comment.text)}"
               for comment in surge.top_comments)]
    keyword = surge.subject_kind is SurgeSubject.KEYWORD
    return Notice(
        kind=NoticeKind.SURGE,
        key=f"surge:{surge.subject_kind}:{surge.subject}:{surge.window_start.isoformat()}",
        title=title, body="\n".join(lines), source=None if keyword else surge.subject,
        keywords=(surge.subject,) if keyword else (), score=None, url=None)


def surge_letter(surge: Surge, cause: str) -> DeadLetter:
    """A surge the store refused: kept as JSON, since no Kafka message carried it."""
    return DeadLetter(stage="store", reason=f"the store refused a surge's row: {cause}",
                      raw=json.dumps(asdict(surge), default=str, ensure_ascii=False).encode(),
                      record_id=f"surge:{surge.subject_kind}:{surge.subject}")


def write_surges(database_url: str, retry: StoreRetry | None = None) -> WriteRows:
    """The writer of surges and their notices."""
    return WriteRows(database_url, record_surges, "surges_written", surge_letter, retry)


def _minutes(surge: Surge) -> int:
    return round((surge.window_end - surge.window_start).total_seconds() / 60)


def _count(name: str, n: int) -> None:
    """Add to the progress line's running total and to the job's Beam metric alike."""
    if n:
        Metrics.counter("yuqing", name).inc(n)
        progress.add(name, n)


def _position(lineage: Lineage | None) -> str:
    if lineage is None:
        return "no Kafka position"
    return f"topic {lineage.topic} partition {lineage.partition} offset {lineage.offset}"


class _Attempts:
    """The attempts at writing one bundle, or one row of it: their backoff, the outage's
    warnings, its end.

    A warning at the first failure and then one every ``warn_every_s``, rather than one per
    attempt: a fail-over would otherwise fill the log with the same line.
    """

    def __init__(self, where: str, retry: StoreRetry) -> None:
        self._where = where
        self._retry = retry
        self._started = time.monotonic()
        self._failed = 0
        self._warned_at: float | None = None

    def failed(self, error: DBAPIError) -> float:
        """Note a failed attempt; return how long to wait before the next one, or raise
        :class:`StoreUnavailable` once the store has been unreachable for ``max_s``."""
        self._failed += 1
        now = time.monotonic()
        down_s = now - self._started
        if down_s >= self._retry.max_s:
            raise StoreUnavailable(
                f"store at {self._where} unreachable for {down_s:.0f} s ({self._failed} "
                f"attempts, limit store_retry_max_s={self._retry.max_s:g}): {_cause(error)}; "
                "the bundle's offsets were not committed, so a restart resumes from them"
            ) from None
        if self._warned_at is None or now - self._warned_at >= self._retry.warn_every_s:
            self._warned_at = now
            log.warning("store at %s unreachable for %.0f s (attempt %d): %s; retrying, "
                        "offsets held", self._where, down_s, self._failed, _cause(error))
        return min(self._retry.backoff_s(self._failed), self._retry.max_s - down_s)

    def succeeded(self) -> None:
        if self._failed:
            log.info("store at %s is back after %.0f s (%d failed attempts); writing on",
                     self._where, time.monotonic() - self._started, self._failed)


def _cause(error: DBAPIError) -> str:
    """The driver's own message, first line only: SQLAlchemy's adds the statement, its
    parameters (rows of comment text) and a link."""
    lines = str(error.orig).strip().splitlines()
    return lines[0] if lines else type(error.orig).__name__
