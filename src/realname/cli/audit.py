"""The ``audit`` sub-app: ``export`` the service's tamper-evident audit chain with its signed
heads, and ``verify`` an export offline (no database needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from realname.cli.common import (
    EXIT_NOT_PASSED,
    console,
    one_line_errors,
    require_file,
    require_output,
    service_context,
    shown,
)
from realname.errors import InputError

__all__ = ["audit_app"]

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(
    export: Annotated[Path, typer.Argument(help="An audit export (JSON lines)", readable=False)],
    public_key: Annotated[
        Path | None,
        typer.Option("--public-key", help="PEM public key that signed the heads", readable=False),
    ] = None,
) -> None:
    """Check an exported audit log offline; exit 1 and name the first bad entry if tampered."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from realname.records.audit import read_export, verify_chain

    with one_line_errors():
        require_file(export)
        if public_key is not None:
            require_file(public_key)
        try:
            entries, heads = read_export(export)
        except UnicodeDecodeError:
            raise InputError(f"{export} is not an audit export (not UTF-8 text)") from None
        key = None
        if public_key is not None:
            try:
                loaded = load_pem_public_key(public_key.read_bytes())
            except ValueError:  # not PEM, or a PEM that holds no public key
                raise InputError(f"{public_key} is not a PEM public key") from None
            if not isinstance(loaded, Ed25519PublicKey):
                raise InputError(f"{shown(public_key.name)} is not an Ed25519 public key")
            key = loaded
        result = verify_chain(entries, heads, key)
    if result.ok:
        signed = "signatures checked" if key else "signatures NOT checked (no --public-key)"
        console.print(
            f"[green]OK[/]: {result.entries} entries, {result.heads} signed heads, {signed}"
        )
        return
    console.print(f"[red]TAMPERED[/]: {result.reason}")
    raise typer.Exit(EXIT_NOT_PASSED)


@audit_app.command("export")
def audit_export(
    out: Annotated[Path, typer.Option("--out", help="JSON lines file to write")],
    public_key: Annotated[
        Path | None, typer.Option("--public-key", help="Also write the PEM public key here")
    ] = None,
) -> None:
    """Export the service's audit chain and signed heads (verify with `realname audit verify`)."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    with one_line_errors():
        require_output(out)
        require_output(public_key)
        ctx = service_context()
        ctx.audit.sign()
        entries, heads = ctx.audit.export(out)
        if public_key is not None:
            pem = ctx.keys.signing_key.public_key().public_bytes(
                Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
            )
            public_key.write_bytes(pem)
        ctx.database.dispose()
    console.print(f"wrote {shown(out)}: {entries} entries, {heads} signed heads", soft_wrap=True)
