"""The ``keys`` sub-app: ``rotate`` moves every stored row to the newest index key and every
stored field to the newest data key, in batches, while the service keeps serving (see
:mod:`realname.service.usecases.keys`); ``new-signing-key`` and ``hand-over`` roll the audit
signing key over with a signed hand-over entry (see :mod:`realname.records.audit`)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from realname.cli.common import (
    EXIT_CODES,
    console,
    one_line_errors,
    require_file,
    require_output,
    service_context,
    shown,
)
from realname.errors import InputError

if TYPE_CHECKING:
    from realname.service.usecases.keys import RotationReport

__all__ = ["keys_app"]

keys_app = typer.Typer(help="Keys rotated without downtime.", no_args_is_help=True)


@keys_app.command("rotate", epilog=EXIT_CODES)
def keys_rotate(
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per transaction")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Re-index every row that holds its plaintext under the newest index key (the last of
    REALNAME_INDEX_KEYS or of the key file's index_keys), then re-encrypt every stored field
    with the newest data key (the last of REALNAME_DATA_KEYS or of data_keys), BATCH rows a
    transaction, while the service serves. A row or field that a request rewrote meanwhile is
    left as that request wrote it (counted as raced: run again). Add the new key last and
    restart every instance first; remove an old data key only after a run that moved nothing,
    an old index key only once nothing is left under it (the run says when)."""
    from realname.service.usecases.keys import ENCRYPTED, REINDEXED, rotate_data_keys

    with one_line_errors():
        ctx = service_context()
        with Progress(console=console, transient=True, disable=as_json) as bar:
            task = bar.add_task("re-encrypting", total=len(REINDEXED) + len(ENCRYPTED))
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
    _print_reindexed(report)


def _print_reindexed(report: RotationReport) -> None:
    from realname.service.usecases.keys import REINDEXED

    table = Table(title="index keys rotated")
    for column in ("table", "re-indexed", "rewritten meanwhile", "duplicates"):
        table.add_column(column)
    for entry in REINDEXED:
        name = entry.name
        table.add_row(
            name,
            str(report.reindexed.get(name, 0)),
            str(report.reindex_raced.get(name, 0)),
            str(report.duplicates.get(name, 0)),
        )
    console.print(table)
    console.print(f"{report.total_reindexed} rows moved to the newest index key")
    left = report.old_index
    if left:
        listed = ", ".join(f"{name} {n}" for name, n in sorted(left.items()))
        console.print(f"left under an old index key: {listed}: run again before removing it")
        return
    expiring = ", ".join(f"{name} {n}" for name, n in sorted(report.expiring.items()))
    until = report.expiring_until.isoformat(timespec="seconds") if report.expiring_until else "now"
    console.print(
        f"left to expire under an old index key: {expiring or 'none'} (and look-up budgets); "
        f"an old index key can be removed after {until}"
    )


@keys_app.command("new-signing-key", epilog=EXIT_CODES)
def keys_new_signing_key(
    out: Annotated[
        Path, typer.Option("--out", help="File for the new private key (base64, mode 0600)")
    ],
    public_out: Annotated[Path, typer.Option("--public-out", help="File for its public key (PEM)")],
) -> None:
    """Generate an audit signing key: the private key in the form REALNAME_AUDIT_SIGNING_KEY
    takes (never printed), its public key as PEM for `realname keys hand-over` and for
    regulators. Neither file may exist already."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    with one_line_errors():
        for path in (out, public_out):
            if path.exists():
                raise InputError(f"{shown(path.name)} exists: choose a new file")
            require_output(path)
        key = Ed25519PrivateKey.generate()
        raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(base64.b64encode(raw).decode() + "\n")
        public_out.write_bytes(
            key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        )
    console.print(f"wrote {out} (private, 0600) and {public_out} (public)")


@keys_app.command("hand-over", epilog=EXIT_CODES)
def keys_hand_over(
    new_public_key: Annotated[
        Path,
        typer.Option(
            "--new-public-key", help="PEM public key of the new signing key", readable=False
        ),
    ],
) -> None:
    """Roll the audit signing key over: append a hand-over entry naming the current and the
    new public key, signed with the current key (the service must still run with it). Then
    set REALNAME_AUDIT_SIGNING_KEY to the new key and restart the instances one after
    another; `audit verify` follows the hand-over from either key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from realname.records.audit import Actor, key_id

    with one_line_errors():
        require_file(new_public_key)
        try:
            loaded = load_pem_public_key(new_public_key.read_bytes())
        except ValueError:
            raise InputError(f"{shown(new_public_key.name)} is not a PEM public key") from None
        if not isinstance(loaded, Ed25519PublicKey):
            raise InputError(f"{shown(new_public_key.name)} is not an Ed25519 public key")
        ctx = service_context()
        old = key_id(ctx.keys.signing_key.public_key())
        entry = ctx.audit.hand_over(Actor("cli"), loaded)
        ctx.database.dispose()
    console.print(
        f"entry {entry.seq}: audit signing key handed over from {old} to {key_id(loaded)}; "
        "now set REALNAME_AUDIT_SIGNING_KEY to the new key and restart every instance"
    )
