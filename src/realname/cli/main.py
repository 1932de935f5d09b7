"""``realname``: the root Typer app (the console script ``realname.cli.main:app``).

It assembles the command tree and nothing else; the commands live one module per group:
``match``, ``liveness`` and ``verify`` in :mod:`realname.cli.match`; ``idcard`` in
:mod:`realname.cli.idcard`; ``calibrate`` and the ``eval`` sub-app in
:mod:`realname.cli.evaluate` (``eval attacks`` in :mod:`realname.cli.attacks`, ``eval idcard``
in :mod:`realname.cli.idcard_eval`); ``models`` in :mod:`realname.cli.models`; the ``audit`` sub-app
in :mod:`realname.cli.audit`; the ``inspect`` sub-app (``inspect export`` and ``inspect verify``:
the regulator's inspection package) in :mod:`realname.cli.inspect`; ``report`` (the inspection
report and its anomaly flags) in :mod:`realname.cli.report`; ``purge`` and the ``admin`` and
``check`` sub-apps in :mod:`realname.cli.admin`; ``serve`` and ``demo`` in
:mod:`realname.cli.serve`. The root commands are registered here, in the order ``realname
--help`` lists them, and every command's help ends with the exit codes
(:data:`realname.cli.common.EXIT_CODES`). A crash (a bug) prints its traceback and exits 3,
never 1, which means "not passed".
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import typer

from realname.cli.admin import admin_app, check_app, purge
from realname.cli.audit import audit_app
from realname.cli.common import EXIT_CODES, EXIT_SETUP, err_console
from realname.cli.evaluate import calibrate, eval_app
from realname.cli.idcard import IDCARD_HELP, idcard
from realname.cli.inspect import inspect_app
from realname.cli.keys import keys_app
from realname.cli.match import LIVENESS_HELP, VERIFY_HELP, liveness, match, verify
from realname.cli.models import models
from realname.cli.report import REPORT_HELP, report
from realname.cli.serve import DEMO_HELP, HTTPS_HELP, demo, run_uvicorn, serve

__all__ = ["app"]


class _Realname(typer.Typer):
    """The root app, whose unexpected errors are one line and exit 3 (cannot run): Python's own
    exit status for one, 1, is the code of a result that did not pass. The traceback is for
    developers: shown only with ``REALNAME_DEBUG=1``."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:  # a bug: one sentence for the user, the exit status fixed
            if os.environ.get("REALNAME_DEBUG", "") not in ("", "0"):
                traceback.print_exc()
            err_console.print(
                f"[bold red]error INTERNAL[/]: an unexpected error (a bug), "
                f"{type(exc).__name__}; run again with REALNAME_DEBUG=1 for the traceback",
                soft_wrap=True,
                markup=True,
                highlight=False,
            )
            sys.exit(EXIT_SETUP)


app = _Realname(
    name="realname",
    help="Real-name registration with portrait matching: offline, CPU-only.",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(eval_app, name="eval")
app.add_typer(audit_app, name="audit")
app.add_typer(inspect_app, name="inspect")
app.add_typer(admin_app, name="admin")
app.add_typer(check_app, name="check")
app.add_typer(keys_app, name="keys")
epilogs = {
    liveness: LIVENESS_HELP,
    verify: VERIFY_HELP,
    idcard: IDCARD_HELP,
    report: REPORT_HELP,
    serve: HTTPS_HELP,
    demo: DEMO_HELP,
}
for command in (match, calibrate, liveness, verify, idcard, report, purge, serve, models, demo):
    app.command(epilog=epilogs.get(command))(command)
for typer_app in (app, eval_app, audit_app, admin_app, check_app):
    for info in typer_app.registered_commands:  # every command's help ends with the codes
        info.epilog = f"{info.epilog}\n\n{EXIT_CODES}" if info.epilog else EXIT_CODES

_run_uvicorn = run_uvicorn  # the name tests/service/server_process.py runs the server by


if __name__ == "__main__":  # pragma: no cover
    app()
