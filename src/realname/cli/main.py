"""``realname``: the root Typer app (the console script ``realname.cli.main:app``).

It assembles the command tree and nothing else; the commands live one module per group:
``match``, ``liveness`` and ``verify`` in :mod:`realname.cli.match`; ``calibrate`` and the
``eval`` sub-app in :mod:`realname.cli.evaluate` (``eval attacks`` in
:mod:`realname.cli.attacks`); ``models`` in :mod:`realname.cli.models`; the ``audit`` sub-app
in :mod:`realname.cli.audit`; ``purge`` and the ``admin`` and ``check`` sub-apps in
:mod:`realname.cli.admin`; ``serve`` and ``demo`` in :mod:`realname.cli.serve`. The root
commands are registered here, in the order ``realname --help`` lists them.
"""

from __future__ import annotations

import typer

from realname.cli.admin import admin_app, check_app, purge
from realname.cli.audit import audit_app
from realname.cli.evaluate import calibrate, eval_app
from realname.cli.match import liveness, match, verify
from realname.cli.models import models
from realname.cli.serve import demo, run_uvicorn, serve

__all__ = ["app"]

app = typer.Typer(
    name="realname",
    help="Real-name registration with portrait matching: offline, CPU-only.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(eval_app, name="eval")
app.add_typer(audit_app, name="audit")
app.add_typer(admin_app, name="admin")
app.add_typer(check_app, name="check")
for command in (match, calibrate, liveness, verify, purge, serve, models, demo):
    app.command()(command)

_run_uvicorn = run_uvicorn  # the name tests/service/server_process.py runs the server by


if __name__ == "__main__":  # pragma: no cover
    app()
