"""The expected outcome of scoring, computed without the code the stream job scores with.

The job serves the LSTM folded (``FoldedBiLSTM``), batched by ``padded_inference_fn`` inside
RunInference. The oracle here rebuilds the model as training left it (``BiLSTMClassifier``) and
scores through ``negative_probabilities``, the training code's own read-out; only the text stage,
which has tests of its own, is shared. A bug in the serving path cannot agree with itself here.
"""

from __future__ import annotations

from models.lstm import PACKAGED_ARTIFACT, load_artifact, negative_probabilities
from pipeline.config import Settings
from pipeline.text.clean import TextRejected
from pipeline.text.stage import TextStage


def expected_scores(settings: Settings, texts: list[str]) -> list[float | None]:
    """P(negative) of each raw text under the configured LSTM; None where the text stage refuses
    it."""
    assert settings.model == "lstm", "the oracle rebuilds the LSTM"
    model, vocab, _card = load_artifact(settings.model_path or PACKAGED_ARTIFACT)
    processed = TextStage.load(settings).process_batch(texts)
    kept = [i for i, p in enumerate(processed) if not isinstance(p, TextRejected)]
    scores = negative_probabilities(model, [vocab.encode(processed[i].text) for i in kept])
    by_index = dict(zip(kept, scores.tolist(), strict=True))
    return [by_index.get(i) for i in range(len(texts))]


def expected_alerts(settings: Settings, comments: list[tuple[str, str]]) -> set[str]:
    """Ids of the (id, raw text) comments whose P(negative) reaches the alert threshold."""
    scores = expected_scores(settings, [text for _id, text in comments])
    return {comment_id for (comment_id, _text), score in zip(comments, scores, strict=True)
            if score is not None and score >= settings.alert_threshold}
