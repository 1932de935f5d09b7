"""``eval idcard``: field accuracy of the card reader over generated cards at two distortion
levels and the card samples of a data folder. Registered on the ``eval`` sub-app by
:mod:`realname.cli.evaluate`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import typer
from rich.table import Table

from realname.cli.common import (
    console,
    one_line_errors,
    percent,
    progress_bar,
    require_folder,
    require_output,
)
from realname.cli.idcard import load_card_reader
from realname.errors import InputError

__all__ = ["eval_idcard"]

_LEVELS = ("moderate", "hard")


def _table(summaries: list[dict[str, Any]]) -> Table:
    table = Table(title="ID card reading: exact-match rate per field")
    table.add_column("field")
    for s in summaries:
        table.add_column(f"{s['name']} ({s['cards']})", justify="right")
    for name in summaries[0]["field_exact"]:
        table.add_row(name, *(percent(s["field_exact"][name]) for s in summaries))
    table.add_row("every field (lowest)", *(percent(s["all_fields_exact"]) for s in summaries))
    table.add_row(
        "wrong number passing the check",
        *(str(s["wrong_number_passed_check"]) for s in summaries),
    )
    table.add_row(
        "photos unreadable",
        *(", ".join(f"{k} {v}" for k, v in s["unreadable"].items()) or "0" for s in summaries),
    )
    table.add_row(
        "s per photo (median / p95)",
        *(f"{s['photo_s_median']:.2f} / {s['photo_s_p95']:.2f}" for s in summaries),
    )
    return table


def _printed(data: Path, count: int, seed: int) -> dict[str, Any]:
    from realname.cli.common import load_runtime
    from realname.evaluation.printed_portrait import evaluate_printed_portraits

    engines, policy = load_runtime(None)
    with progress_bar("printed portraits") as update:
        result = evaluate_printed_portraits(
            data, engines, policy, count=count, seed=seed, progress=update
        )
    return result.summary(policy, engines.embedder.name)


def _print_printed(summary: dict[str, Any]) -> None:
    table = Table(
        title=f"Printed portrait as the reference: {summary['people']} LFW people, "
        f"{summary['impostor_pairs']['printed']} impostor pairs"
    )
    for column in ("FMR target", "reference", "FMR", "FNMR", "threshold"):
        table.add_column(column, justify="right")
    for label, kinds in summary["at_policy"].items():
        strict = summary["printed_threshold_for"][label]
        for kind, rates in kinds.items():
            threshold = strict["policy_threshold"]
            table.add_row(
                label, kind, f"{rates['fmr']:.2e}", percent(rates["fnmr"]), f"{threshold:.4f}"
            )
        table.add_row(
            label,
            "printed, own threshold",
            f"{strict['fmr']:.2e}",
            percent(strict["fnmr"]),
            f"{strict['threshold']:.4f}",
        )
    console.print(table)
    console.print(f"failed to enrol: {summary['failed_to_enrol']}")


def _check_options(levels: tuple[str, ...], data: Path | None, json_out: Path | None) -> None:
    """Returns nothing; raises ``InputError`` for an unknown level, a ``--data`` that is not a
    folder or a ``--json`` that cannot be written."""
    unknown = [lv for lv in levels if lv not in _LEVELS]
    if unknown:
        raise InputError(f"--level {unknown[0]} is not a level; known: moderate, hard")
    if data is not None:
        require_folder(data)
    require_output(json_out)


def _generated_summaries(
    reader: Any, levels: tuple[str, ...], count: int, seed: int, day: date
) -> list[dict[str, Any]]:
    """The summaries of ``count`` generated cards read at each of ``levels``, in their order
    (none when ``count`` is 0)."""
    from realname.evaluation.idcard_eval import evaluate_generated

    summaries: list[dict[str, Any]] = []
    for lv in levels if count else ():
        with progress_bar(f"generated cards, {lv}") as update:
            result = evaluate_generated(
                reader,
                count,
                cast("Literal['moderate', 'hard']", lv),
                seed=seed,
                today=day,
                progress=update,
            )
        summaries.append(result.summary())
    return summaries


def _print_samples(samples: list[dict[str, Any]]) -> None:
    """Print each card sample's reasons found against those expected (returns nothing)."""
    for s in samples:
        verdict = "flagged" if s["flagged"] else "[red]NOT flagged[/]"
        console.print(
            f"{s['file']}: reasons {', '.join(s['reasons']) or 'none'} ({verdict}: "
            f"expected {', '.join(s['expected_reasons'])})"
        )


def eval_idcard(
    data: Annotated[
        Path | None,
        typer.Option(help="Folder laid out as ../shared/data: also read its card samples"),
    ] = None,
    generated: Annotated[
        int, typer.Option(min=0, help="Generated cards per distortion level")
    ] = 200,
    level: Annotated[
        list[str] | None, typer.Option(help="Only these levels: moderate, hard (repeatable)")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the generated cards")] = 0,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the results as JSON")
    ] = None,
    today: Annotated[
        str | None, typer.Option(help="The date cards are checked on (default today)")
    ] = None,
    portraits: Annotated[
        int,
        typer.Option(
            min=0,
            help="With --data: LFW people whose photo is printed on a card, photographed and "
            "matched as the reference (printed against chip portraits)",
        ),
    ] = 0,
) -> None:
    """Exact-match rate per field, ID number exact, wrong numbers that passed the check
    character (must be 0) and seconds per photo, over generated cards (front and back, each
    photographed) at the moderate and hard levels, and the card samples of --data."""
    from realname.evaluation.idcard_eval import evaluate_samples

    levels = tuple(level) if level else _LEVELS
    with one_line_errors():
        _check_options(levels, data, json_out)
        day = date.fromisoformat(today) if today else date.today()
        reader = load_card_reader()
        samples: list[dict[str, Any]] = []
        summaries = _generated_summaries(reader, levels, generated, seed, day)
        if data is not None:
            result, samples = evaluate_samples(reader, data, today=day)
            summaries.append(result.summary())
        printed = _printed(data, portraits, seed) if portraits and data is not None else None
    if printed is not None:
        _print_printed(printed)
    if not summaries:
        raise typer.Exit(0)
    console.print(_table(summaries))
    _print_samples(samples)
    if json_out:
        payload = {
            "levels": summaries,
            "samples": samples,
            "printed_portraits": printed,
            "reader": reader.version,
        }
        json_out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        console.print(f"wrote {json_out}")
