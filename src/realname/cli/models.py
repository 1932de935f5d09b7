"""``models``: the model files, their licence, pinned SHA-256, optional extra and status."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from realname.cli.common import console
from realname.errors import ExtraNotInstalledError, RealnameError

__all__ = ["models"]


def _short_sha256(digest: str) -> str:
    """``8f2383e4…2fa4``: the way the model cards quote a digest."""
    return f"{digest[:8]}…{digest[-4:]}"


def models(
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Verify every SHA-256; exit 3 if a file of the default install (or of an "
            "installed extra) is missing or altered",
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the list as JSON, with the full SHA-256")
    ] = False,
) -> None:
    """List the model files, their licence, pinned SHA-256, optional extra and status.

    A model of an optional extra that is not installed is reported, not a failure."""
    rows, failed = _model_rows(check)
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        _print_models(rows)
    if failed:
        raise typer.Exit(3)


def _model_rows(check: bool) -> tuple[list[dict[str, Any]], bool]:
    """One row per model file (verified when ``check``), and whether a required one failed."""
    from realname.engines.models import MODEL_FILES, extra_install_hint, resolve_model

    rows: list[dict[str, Any]] = []
    failed = False
    for key, model in MODEL_FILES.items():
        error: RealnameError | None = None
        try:
            resolve_model(key, verify=check)
            status = "sha256 ok" if check else "present"
        except ExtraNotInstalledError as exc:
            status, error = f"not installed (optional: realname[{model.extra}])", exc
        except RealnameError as exc:
            status, error, failed = f"{exc.code}: {exc.detail}", exc, True
        rows.append(
            {
                "key": key,
                "package": model.pip_spec,
                "file": model.relative_path,
                "licence": model.licence,
                "commercial_use": model.commercial_use,
                "sha256": model.sha256,
                "extra": model.extra,
                "install": extra_install_hint(model.extra) if model.extra else None,
                "status": status,
                "error": error.code if error is not None else None,
            }
        )
    return rows, failed


def _print_models(rows: list[dict[str, Any]]) -> None:
    """The table, then a licence warning for each model that may not be used commercially."""
    from rich.markup import escape

    table = Table(title="model files")
    for column in ("key", "extra", "licence", "sha256", "status"):
        table.add_column(column)
    for row in rows:
        licence = escape(row["licence"])
        if not row["commercial_use"]:
            licence = f"[bold red]⚠ {licence}[/]"
        status = escape(row["status"])
        if row["error"] is not None:
            colour = "yellow" if row["error"] == ExtraNotInstalledError.code else "red"
            status = f"[{colour}]{status}[/]"
        extra = escape(f"realname[{row['extra']}]") if row["extra"] else "-"
        table.add_row(row["key"], extra, licence, _short_sha256(row["sha256"]), status)
    console.print(table)
    for row in rows:
        if not row["commercial_use"]:
            where = f"realname[{row['extra']}] ({row['install']})" if row["extra"] else "-"
            console.print(
                f"[bold red]licence warning[/]: {row['key']} ({escape(row['licence'])}) "
                f"may not be used commercially; it comes only with the optional extra "
                f"{escape(where)}",
                soft_wrap=True,
            )
