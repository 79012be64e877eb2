"""What a profile's crawls have seen, kept in the store between crawls.

A scheduled crawl must produce only what is new or edited, and stop paging once it reaches what
it has seen; otherwise every crawl re-sends the whole site, and the job re-reads and re-scores it
all. Each comment id is kept with a hash of its text (an edit changes the hash), in a window of
the ``new_items.seen_ids`` most recently seen ids: a source never sends the same comment years
apart.

The state is saved when a crawl ends with every message delivered to Kafka. A crawl that could
not deliver saves nothing, so the next one fetches and sends the same comments again (the store
keeps one alert per comment id).
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

from sqlalchemy.orm import Session

from pipeline.store.crawls import crawl_seen, save_crawl_seen
from pipeline.store.engine import make_engine


class Seen(StrEnum):
    NEW = "new"
    EDITED = "edited"
    KNOWN = "known"


def _text_hash(text: str | None) -> str:
    return hashlib.blake2b((text or "").encode(), digest_size=8).hexdigest()


class SeenComments:
    """One profile's seen comments for one crawl: read at its start, saved at its end."""

    def __init__(self, database_url: str, profile_id: str, window: int) -> None:
        self._database_url, self._profile_id, self._window = database_url, profile_id, window
        with Session(make_engine(database_url)) as session:
            self._seen = crawl_seen(session, profile_id)
        self.new = self.edited = 0

    def check(self, comment_id: str, text: str | None) -> Seen:
        """Whether the comment is new, edited or known, remembering it as it is now."""
        digest = _text_hash(text)
        before = self._seen.pop(comment_id, None)  # re-inserted: most recently seen last
        self._seen[comment_id] = digest
        if before is None:
            self.new += 1
            return Seen.NEW
        if before != digest:
            self.edited += 1
            return Seen.EDITED
        return Seen.KNOWN

    def save(self) -> None:
        """Keeps the ``window`` most recently seen ids."""
        newest = dict(list(self._seen.items())[-self._window:])
        with Session(make_engine(self._database_url)) as session, session.begin():
            save_crawl_seen(session, self._profile_id, newest)
