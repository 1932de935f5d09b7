"""The ``inspect`` sub-app: ``export`` the regulator's inspection package of a period (the audit
slice with its signed heads, the reports, the flags, the versions, a signed manifest) and
``verify`` one offline, with no database and no service (:mod:`realname.records.inspection`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from realname.cli.common import (
    EXIT_CODES,
    EXIT_NOT_PASSED,
    console,
    one_line_errors,
    require_file,
    service_context,
    shown,
)
from realname.errors import InputError

__all__ = ["inspect_app"]

inspect_app = typer.Typer(
    help="The regulator's inspection package: export a period, verify it offline.",
    no_args_is_help=True,
)


def parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option} {text!r} is not a date (YYYY-MM-DD)") from None


def _public_key(path: Path) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    require_file(path)
    try:
        loaded = load_pem_public_key(path.read_bytes())
    except ValueError:  # not PEM, or a PEM that holds no public key
        raise InputError(f"{shown(path)} is not a PEM public key") from None
    if not isinstance(loaded, Ed25519PublicKey):
        raise InputError(f"{shown(path.name)} is not an Ed25519 public key")
    return loaded


@inspect_app.command("export", epilog=EXIT_CODES)
def inspect_export(
    start: Annotated[str, typer.Option("--from", help="First local day, YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--to", help="Last local day, YYYY-MM-DD (inclusive)")],
    out: Annotated[Path, typer.Option("--out", help="Folder to create (must not hold files)")],
    period: Annotated[
        str, typer.Option("--period", help="The report's rows: day, week or month")
    ] = "day",
    public_key: Annotated[
        Path | None,
        typer.Option("--public-key", help="Also write the audit public key (PEM) here"),
    ] = None,
) -> None:
    """Write the inspection package of the local days --from..--to into --out (verify it with
    `realname inspect verify`, given the audit public key)."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from realname.service.usecases.inspection_export import export_package

    with one_line_errors():
        first, last = parse_day(start, "--from"), parse_day(end, "--to")
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise InputError(f"{shown(out)} exists and is not an empty folder")
        if public_key is not None and public_key.is_dir():
            raise InputError(f"{shown(public_key)} is a folder: give a file name to write")
        ctx = service_context()
        try:
            summary = export_package(ctx, out, first, last, period)
            if public_key is not None:
                pem = ctx.audit.signing_key.public_key().public_bytes(
                    Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
                )
                public_key.write_bytes(pem)
        finally:
            ctx.database.dispose()
    console.print(
        f"wrote {shown(out)}: {first}..{last}, {summary.period_entries} entries of the period "
        f"({summary.entries} in the slice), {summary.heads} signed heads, {summary.flags} flags, "
        f"signed by key {summary.key_id}",
        soft_wrap=True,
    )


@inspect_app.command("verify", epilog=EXIT_CODES)
def inspect_verify(
    package: Annotated[Path, typer.Argument(help="An inspection package (a folder)")],
    public_key: Annotated[
        Path,
        typer.Option("--public-key", help="The service's audit public key (PEM)", readable=False),
    ],
) -> None:
    """Check an inspection package offline; exit 1 and name every file, entry or signature that
    is wrong."""
    from rich.markup import escape

    from realname.records.inspection import verify_package

    with one_line_errors():
        if not package.exists():
            raise InputError(f"{shown(package)} does not exist")
        key = _public_key(public_key)
        result = verify_package(package, key)
    if result.ok:
        console.print(f"[green]OK[/]: {escape(result.reason)} (key {result.key_id})")
        for note in result.notes:
            console.print(f"  [yellow]note[/]: {escape(note)}", soft_wrap=True)
        return
    console.print(f"[red]TAMPERED[/]: {len(result.problems)} problem(s) in {shown(package)}")
    for problem in result.problems:
        console.print(f"  - {escape(shown(problem.message))}", soft_wrap=True)
    raise typer.Exit(EXIT_NOT_PASSED)
