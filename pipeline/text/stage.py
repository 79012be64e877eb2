"""The whole text stage as one plain object: clean → correct → segment → match keywords.

Correction runs before segmentation so that jieba sees the fixed words, and it gets the
configured keywords as protected terms so that a brand spelled oddly on purpose stays as written.
Beam (``pipeline.text.beam``), training and the CLI all call :meth:`TextStage.process_batch`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.config import Settings
from pipeline.text.clean import TextRejected, clean
from pipeline.text.correct import Correction, Corrector, Edit
from pipeline.text.keywords import KeywordMatcher
from pipeline.text.resources import lm_dir
from pipeline.text.segment import get_segmenter


@dataclass(frozen=True)
class ProcessedText:
    cleaned: str
    """After normalisation, before correction: what the comment said, tidied."""
    text: str
    """After correction: what the models score and the alert shows."""
    tokens: tuple[str, ...]
    keywords: tuple[str, ...]
    edits: tuple[Edit, ...]


class TextStage:
    """The loaded corrector and segmenter: build one per worker, reuse it for every comment."""

    def __init__(self, settings: Settings, corrector: Corrector | None) -> None:
        self.max_chars = settings.max_text_chars
        self.keywords = tuple(settings.keywords)
        self.corrector = corrector
        self.segmenter = get_segmenter(self.keywords)
        self.matcher = KeywordMatcher(self.keywords)

    @classmethod
    def load(cls, settings: Settings) -> TextStage:
        """The stage these settings describe, the corrector's LM read from their location."""
        return cls(settings, Corrector.load(lm_dir(settings)) if settings.correct_text else None)

    def process(self, raw: str) -> ProcessedText:
        """Raises :class:`~pipeline.text.clean.TextRejected` for text the stage refuses."""
        (result,) = self.process_batch([raw])
        if isinstance(result, TextRejected):
            raise result
        return result

    def process_batch(self, raws: Sequence[str]) -> list[ProcessedText | TextRejected]:
        """One result per text, refusals in place, so one bad comment cannot sink a batch; the
        corrector scores the whole batch in one go, ten times faster than text by text."""
        results: list[ProcessedText | TextRejected] = []
        accepted: list[tuple[int, str]] = []
        for raw in raws:
            try:
                accepted.append((len(results), clean(raw, max_chars=self.max_chars)))
                results.append(TextRejected("pending"))
            except TextRejected as rejected:
                results.append(rejected)
        cleaned = [text for _, text in accepted]
        if self.corrector is None:
            corrections = [Correction(text, ()) for text in cleaned]
        else:
            corrections = self.corrector.correct_batch(cleaned, self.keywords)
        for (index, before), correction in zip(accepted, corrections, strict=True):
            results[index] = ProcessedText(
                cleaned=before,
                text=correction.text,
                tokens=tuple(self.segmenter.cut(correction.text)),
                keywords=tuple(self.matcher.match(correction.text)),
                edits=correction.edits,
            )
        return results
