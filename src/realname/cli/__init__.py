"""The ``realname`` command line: a Typer app, one module per command group.

:mod:`~realname.cli.main` holds the root app (the console script) and registers the commands;
:mod:`~realname.cli.common` what every command shares (the consoles, errors as one line, the
progress bar, loading engines, policy and the service's parts); then :mod:`~realname.cli.match`
(``match``, ``liveness``, ``verify``), :mod:`~realname.cli.evaluate` (``calibrate`` and ``eval``,
with :mod:`~realname.cli.attacks` for ``eval attacks``), :mod:`~realname.cli.models`,
:mod:`~realname.cli.audit`, :mod:`~realname.cli.admin` (``admin``, ``check``, ``purge``) and
:mod:`~realname.cli.serve` (``serve``, ``demo``). The CLI may import the core, evaluation and
the service, the last two only inside the commands that need them, so that importing the CLI
loads no model and imports no service; nothing imports the CLI (import-linter contracts).
"""
