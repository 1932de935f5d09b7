"""Running the service's records from the shell: the ``admin`` sub-app (outlets and users,
audited as actor ``cli``), the ``check`` sub-app (the registration invariants) and ``purge``
(retention enforced now)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from realname.cli.common import console, one_line_errors, service_context

__all__ = ["admin_app", "check_app", "purge"]

admin_app = typer.Typer(help="Outlets and users of the service (audited).", no_args_is_help=True)
check_app = typer.Typer(help="Check the service's records against its rules.", no_args_is_help=True)


@admin_app.command("create-outlet")
def admin_create_outlet(
    name: Annotated[str, typer.Argument(help="Outlet name")],
    hours: Annotated[
        str | None,
        typer.Option("--hours", help="Local opening hours HH:MM-HH:MM (out-of-hours flag)"),
    ] = None,
) -> None:
    """Create an outlet (audited, actor `cli`)."""
    from realname.records.audit import Actor
    from realname.service.usecases.people import create_outlet

    with one_line_errors():
        ctx = service_context()
        outlet = create_outlet(ctx.database, ctx.audit, Actor("cli"), name, ctx.now(), hours)
        ctx.database.dispose()
    console.print(f"outlet {outlet.id}: {outlet.name}")


@admin_app.command("create-user")
def admin_create_user(
    username: Annotated[str, typer.Argument(help="Login name")],
    role: Annotated[str, typer.Option("--role", help="clerk, supervisor, auditor or admin")],
    outlet: Annotated[
        str | None, typer.Option("--outlet", help="Outlet name (clerks and supervisors)")
    ] = None,
    all_outlets: Annotated[
        bool,
        typer.Option(
            "--all-outlets", help="A supervisor of no outlet, who sees every outlet (regional)"
        ),
    ] = False,
    password: Annotated[
        str | None, typer.Option("--password", help="Prompted for when omitted")
    ] = None,
    employee: Annotated[
        str | None,
        typer.Option(
            "--employee",
            help="The person behind the account (shared by their clerk and "
            "supervisor accounts: deciding one's own cases is flagged)",
        ),
    ] = None,
) -> None:
    """Create a user with an argon2id password hash (audited, actor `cli`). A clerk needs
    --outlet; a supervisor needs --outlet, or --all-outlets to see every outlet."""
    from realname.records.audit import Actor
    from realname.service.usecases.people import create_user

    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with one_line_errors():
        ctx = service_context()
        user = create_user(
            ctx.database,
            ctx.audit,
            Actor("cli"),
            username=username,
            password=password,
            role=role,
            outlet=outlet,
            now=ctx.now(),
            all_outlets=all_outlets,
            employee=employee,
        )
        ctx.database.dispose()
    where = user.outlet or ("all outlets" if all_outlets else "-")
    console.print(f"user {user.id}: {user.username} ({user.role}, outlet {where})")


@check_app.command("invariants")
def check_invariants(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Check the registration rules on the service's records: the cap per ID, one ID per
    active number, every number bound from a verified session used once, no session stuck
    mid-capture, reviews agreeing with their sessions, the audit chain intact. Exit 1 if any
    is broken."""
    from realname.service.usecases.invariants import check_invariants as run_check

    with one_line_errors():
        ctx = service_context()
        report = run_check(ctx)
        ctx.database.dispose()
    if as_json:
        console.print_json(json.dumps(report.to_dict()))
    else:
        table = Table(title="registration invariants")
        for column in ("rule", "status", "count", "examples"):
            table.add_column(column)
        broken = {v.rule: v for v in report.violations}
        for rule in report.checked:
            v = broken.get(rule)
            status = "[green]ok[/]" if v is None else f"[red]BROKEN[/]: {v.detail}"
            table.add_row(rule, status, "" if v is None else str(v.count), _examples(v))
        console.print(table)
        console.print(
            f"{report.sessions} sessions, {report.active_numbers} active numbers, "
            f"{report.audit_entries} audit entries checked"
        )
    if not report.ok:
        raise typer.Exit(1)


def _examples(violation: Any) -> str:
    return "" if violation is None else ", ".join(violation.examples)


def purge() -> None:
    """Enforce retention now: review evidence, ended sessions' data, identities past retention."""
    from realname.records.audit import Actor
    from realname.service.usecases.purge import purge as run_purge

    with one_line_errors():
        ctx = service_context()
        report = run_purge(ctx, Actor("cli"))
        ctx.database.dispose()
    console.print(
        f"purged: {report.evidence} review evidence, {report.sessions} sessions' data, "
        f"{report.identities} identities, {report.tokens} tokens"
    )
