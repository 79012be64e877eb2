"""Options several commands share, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Model = Annotated[str | None, typer.Option(
    help="Scorer name: lstm, bert, or package.module:Class (default: YUQING_MODEL).")]
ModelPath = Annotated[Path | None, typer.Option(
    help="Artifact directory (default: YUQING_MODEL_PATH, else the model's own default).")]
Epochs = Annotated[int, typer.Option(min=1, help="Most epochs; the best dev one is kept.")]
HiddenDim = Annotated[int, typer.Option(min=8, help="LSTM units per direction.")]
Stride = Annotated[int, typer.Option(min=1, help="Characters per LSTM step.")]
MaxLen = Annotated[int, typer.Option(min=8, help="Characters read per comment.")]
Extra = Annotated[list[Path] | None, typer.Option(
    "--extra", dir_okay=False, metavar="FILE",
    help="Labelled examples to add to the train split, one JSON object a line with text and "
         "label (what `yuqing export feedback` writes); repeatable. Never added to dev or test: "
         "an example whose text is a dev or test text is dropped, and the log counts it.")]
