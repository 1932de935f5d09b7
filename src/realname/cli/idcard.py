"""``idcard``: read a photographed resident ID card (front, and optionally back) and print what
was read, field by field, with the cross-check reasons. ``eval idcard`` lives in
:mod:`realname.cli.idcard_eval`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from realname.cli.common import console, exit_unless, one_line_errors, require_file, shown
from realname.errors import InputError
from realname.settings import Settings

__all__ = ["IDCARD_HELP", "idcard", "load_card_reader"]

IDCARD_HELP = (
    "Exit 0 when every cross-check passed, 1 when the card was read with reasons (a failing "
    "check character, a printed date or sex that disagrees with the number, an expired card, "
    "a side or field not read), 2 when no card could be read (CARD_NOT_FOUND, MULTIPLE_CARDS)."
)


def load_card_reader(settings: Settings | None = None) -> Any:
    """The configured card reader, loaded (``REALNAME_CARD_READER``; ``none`` is refused)."""
    from realname.cards import create_card_reader

    name = (settings or Settings()).card_reader
    if name == "none":
        raise InputError("REALNAME_CARD_READER is none: card reading is switched off")
    reader = create_card_reader(name)
    reader.load()
    return reader


def _print(reading: Any) -> None:
    table = Table(title=f"ID card ({reading.engine} {reading.version})")
    for column in ("field", "read", "confidence", "side"):
        table.add_column(column)
    for f in reading.fields:
        table.add_row(f.name, f.text, f"{f.confidence:.2f}", f.side)
    console.print(table)
    sides = ", ".join(f"{s.side} (turned {s.orientation} degrees)" for s in reading.sides)
    console.print(f"sides: {sides}; read in {reading.elapsed_s:.2f} s")
    if reading.passed:
        console.print("[bold green]READ[/]: every cross-check passed")
    else:
        console.print(f"[bold red]READ WITH REASONS[/]: {', '.join(reading.reasons)}")


def idcard(
    images: Annotated[
        list[Path], typer.Argument(help="The card photo: the front, then optionally the back")
    ],
    json_out: Annotated[bool, typer.Option("--json", help="Print the reading as JSON")] = False,
    portrait: Annotated[
        Path | None, typer.Option(help="Write the printed portrait (PNG) to this file")
    ] = None,
    today: Annotated[
        str | None, typer.Option(help="The date to check validity on (YYYY-MM-DD; default today)")
    ] = None,
) -> None:
    """Read a photographed resident ID card: every field with its confidence, the sides found,
    and the cross-checks (check character, printed birth date and sex against the number, the
    validity period)."""
    import cv2

    from realname.media.image import load_image

    with one_line_errors():
        for path in images:
            require_file(path)
        try:
            day = date.fromisoformat(today) if today else date.today()
        except ValueError:
            raise InputError(f"--today {today} is not a date (YYYY-MM-DD)") from None
        photos = [load_image(path) for path in images]
        reader = load_card_reader()
        reading = reader.read(photos, today=day)
    if json_out:
        console.print_json(json.dumps(reading.to_dict(), ensure_ascii=False))
    else:
        _print(reading)
    if portrait is not None and reading.portrait is not None:
        cv2.imwrite(str(portrait), reading.portrait)
        console.print(f"printed portrait written to {shown(portrait)}")
    exit_unless(reading.passed)
