"""The ``keys`` sub-app: ``rotate`` moves every stored field to the newest data key, in
batches, while the service keeps serving (see :mod:`realname.service.usecases.keys`)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from realname.cli.common import EXIT_CODES, console, one_line_errors, service_context

__all__ = ["keys_app"]

keys_app = typer.Typer(help="Keys rotated without downtime.", no_args_is_help=True)


@keys_app.command("rotate", epilog=EXIT_CODES)
def keys_rotate(
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per transaction")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Re-encrypt every stored field with the newest data key (the last of REALNAME_DATA_KEYS
    or of the key file's data_keys), BATCH rows a transaction, while the service serves. A
    field that a request rewrote meanwhile is left as that request wrote it (counted as
    raced). Add the new key last and restart every instance first; remove an old key only
    after a run that moved nothing."""
    from realname.service.usecases.keys import ENCRYPTED, rotate_data_keys

    with one_line_errors():
        ctx = service_context()
        with Progress(console=console, transient=True, disable=as_json) as bar:
            task = bar.add_task("re-encrypting", total=len(ENCRYPTED))
            seen: set[str] = set()

            def progress(name: str, rows: int) -> None:
                bar.update(task, description=f"re-encrypting {name}")
                if name not in seen:
                    seen.add(name)
                    bar.advance(task)

            report = rotate_data_keys(ctx, batch=batch, progress=progress)
        ctx.database.dispose()
    if as_json:
        console.print_json(json.dumps(report.to_dict()))
        return
    table = Table(title="data keys rotated")
    for column in ("field", "moved", "already current", "rewritten meanwhile"):
        table.add_column(column)
    for spec in ENCRYPTED:
        name = spec.name
        table.add_row(
            name,
            str(report.moved.get(name, 0)),
            str(report.current.get(name, 0)),
            str(report.raced.get(name, 0)),
        )
    console.print(table)
    console.print(f"{report.total_moved} values moved to the newest data key")
