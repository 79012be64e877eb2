"""What a profile's crawls have seen, kept in the store between crawls.

A scheduled crawl must produce only what is new or edited, and stop paging once it reaches what
it has seen; otherwise every crawl re-sends the whole site, and the job re-reads and re-scores it
all. Each comment id is kept with a hash of its text (an edit changes the hash), in a window of
the ``new_items.seen_ids`` most recently seen ids: a source never sends the same comment years
apart.

A comment counts as seen for later crawls only once Kafka acknowledged it (:meth:`confirm`): one
that was not delivered, or whose acknowledgement had not arrived when the crawl was killed, is
new again to the next crawl, which sends it again (the store keeps one alert per comment id).
"""

from __future__ import annotations

import hashlib
from enum import StrEnum


class Seen(StrEnum):
    NEW = "new"
    EDITED = "edited"
    KNOWN = "known"


def _text_hash(text: str | None) -> str:
    return hashlib.blake2b((text or "").encode(), digest_size=8).hexdigest()


class SeenComments:
    """One profile's seen comments during one crawl, starting from what earlier crawls kept."""

    def __init__(self, kept: dict[str, str], window: int) -> None:
        self._window = window
        self._kept = dict(kept)  # what later crawls may take as seen
        self._met = dict(kept)  # what this crawl met, acknowledged or not
        self.changed = False

    def check(self, comment_id: str, text: str | None) -> Seen:
        """Whether the comment is new, edited or known, remembering it as it is now."""
        digest = _text_hash(text)
        before = self._met.pop(comment_id, None)  # re-inserted: most recently seen last
        self._met[comment_id] = digest
        if before is None:
            return Seen.NEW
        if before != digest:
            return Seen.EDITED
        self._keep(comment_id, digest)  # nothing to send: seen now, for the window's order
        return Seen.KNOWN

    def confirm(self, comment_id: str) -> None:
        """Kafka acknowledged the comment (or its dead letter) as this crawl met it."""
        if (digest := self._met.get(comment_id)) is not None:
            self._keep(comment_id, digest)

    def _keep(self, comment_id: str, digest: str) -> None:
        self._kept.pop(comment_id, None)
        self._kept[comment_id] = digest
        self.changed = True

    def kept(self) -> dict[str, str]:
        """The ``window`` most recently seen ids that later crawls may skip."""
        return dict(list(self._kept.items())[-self._window:])
