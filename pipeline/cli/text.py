"""``yuqing correct``: the text stage on one comment, to see what the models will read."""

from __future__ import annotations

from typing import Annotated

import typer


def correct(
    text: Annotated[str, typer.Argument(help="A comment, as crawled.")],
    raw: Annotated[bool, typer.Option(help="Skip the clean step; correct the text as given.")]
    = False,
) -> None:
    """Print the cleaned, corrected text, then one line per edit; configured keywords stay as is."""
    from pipeline.config import get_settings
    from pipeline.text.clean import TextRejected, clean
    from pipeline.text.correct import Corrector
    from pipeline.text.resources import lm_dir

    settings = get_settings()
    try:
        cleaned = text if raw else clean(text, max_chars=settings.max_text_chars)
    except TextRejected as rejected:
        raise typer.BadParameter(rejected.reason, param_hint="TEXT") from None
    result = Corrector.load(lm_dir(settings)).correct(cleaned, settings.keywords)
    typer.echo(result.text)
    for edit in result.edits:
        typer.echo(f"{edit.position}\t{edit.original} -> {edit.replacement}\tgain {edit.gain:.1f}")
