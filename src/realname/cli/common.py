"""What every command shares: the two consoles, the exit codes, errors rendered as one line
(never a traceback), checks of the files a command reads and writes, the progress bar, and
loading the engines, the policy and the service's parts.

Exit codes, the same for every command (:data:`EXIT_CODES` is the text each command's help
ends with)::

    0  passed: MATCH, LIVE, PASSED, OK (or the command did what it was asked)
    1  not passed, a result: NO MATCH, NOT LIVE, FAILED, TAMPERED, a broken invariant
    2  unusable input or usage: a missing, unreadable, empty or corrupt file, a folder where
       a file belongs, bad options (Typer's own usage errors exit 2 too)
    3  cannot run: invalid settings, a model file missing or altered, a conflict with the
       service's records, or an internal error (a bug: its traceback is printed)

Everything heavy is imported inside the functions: importing this module loads no model and
imports nothing of :mod:`realname.service`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from realname.errors import InputError, RealnameError
from realname.settings import Settings

if TYPE_CHECKING:
    from realname.service.settings import ServiceSettings

__all__ = [
    "EXIT_CODES",
    "EXIT_INPUT",
    "EXIT_NOT_PASSED",
    "EXIT_SETUP",
    "EngineOpt",
    "console",
    "err_console",
    "exit_unless",
    "load_liveness_engines",
    "load_liveness_policy",
    "load_liveness_runtime",
    "load_runtime",
    "one_line_errors",
    "percent",
    "progress_bar",
    "require_engine",
    "require_file",
    "require_fmr",
    "require_folder",
    "require_output",
    "service_context",
    "service_settings",
    "shown",
]

EXIT_NOT_PASSED = 1  # a result: no match, not live, failed, tampered
EXIT_INPUT = 2  # unusable input or usage (Typer's usage errors exit 2 as well)
EXIT_SETUP = 3  # cannot run: settings, model files, the service's records, a bug

#: The end of every command's help (Typer's epilog: paragraphs are kept, lines are joined).
EXIT_CODES = (
    "Exit codes: 0 passed (MATCH, LIVE, PASSED, OK, or done);\n\n"
    "1 not passed, a result (NO MATCH, NOT LIVE, FAILED, TAMPERED, a broken invariant);\n\n"
    "2 unusable input or usage (a missing, unreadable, empty or corrupt file, bad options);\n\n"
    "3 cannot run (invalid settings, a model file missing or altered, a conflict with the "
    "service's records, an internal error). Errors are one line: error CODE: sentence."
)

console = Console()
if not console.is_terminal:  # logs and CI: wide enough for the evaluation tables
    console = Console(width=160)
err_console = Console(stderr=True)

# The settings classes whose validation errors are one sentence: the core's and the service's
# (named, not imported: importing the CLI must not import the service).
_SETTINGS_CLASSES = (Settings.__name__, "ServiceSettings")

EngineOpt = Annotated[
    str | None, typer.Option("--engine", help="Embedding engine: sface or dlib-resnet")
]


def shown(text: object) -> str:
    """``text`` (a path, a message naming one) printable on any console: a file name's bytes
    that are not UTF-8 (Python keeps them as lone surrogates) shown as ``\\xff``."""
    return str(text).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _fail(exc: RealnameError) -> None:
    from rich.markup import escape

    # escaped: a detail such as "pip install 'realname[dlib]'" is not markup
    err_console.print(f"[bold red]error {exc.code}[/]: {escape(shown(exc.detail))}", soft_wrap=True)
    raise typer.Exit(EXIT_INPUT if isinstance(exc, InputError) else EXIT_SETUP)


def exit_unless(passed: bool) -> None:
    """Exit 1 when a result did not pass (after it has been printed)."""
    if not passed:
        raise typer.Exit(EXIT_NOT_PASSED)


def require_folder(data: Path) -> None:
    """An evaluation's data folder, or the input error that names it."""
    if not data.is_dir():
        raise InputError(f"data folder {data} does not exist")


def require_file(path: Path, *, folder_ok: bool = False) -> None:
    """A file to read (with ``folder_ok`` also a folder: a clip's frames), or the input error
    that says what is wrong with it: missing, a folder, not a regular file, not readable."""
    if not path.exists():  # a broken link too
        raise InputError(f"{path} does not exist")
    if path.is_dir():
        if folder_ok:
            return
        raise InputError(f"{path} is a folder, not a file")
    if not path.is_file():
        raise InputError(f"{path} is not a regular file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path} cannot be read (permission denied)")


def require_engine(name: str | None) -> None:
    """``--engine``: an embedding engine of the registry, or the usage error that lists them
    (a configured ``REALNAME_FACE_EMBEDDER`` that is unknown stays a setup error)."""
    from realname.engines import EMBEDDERS

    if name is not None and name not in EMBEDDERS:
        raise InputError(
            f"--engine {name} is not an embedding engine; known: {', '.join(EMBEDDERS)}"
        )


def require_fmr(policy: Any, engine: str, fmr: str | None) -> None:
    """``--fmr``: an operating point the policy has for ``engine``, or the usage error that
    lists them (an engine missing from the policy is the policy's error, reported later)."""
    calibration = policy.engines.get(engine)
    if fmr is None or calibration is None or fmr in calibration.operating_points:
        return
    known = ", ".join(calibration.operating_points)
    raise InputError(f"--fmr {fmr} is not an operating point of {engine}; known: {known}")


def require_output(path: Path | None) -> None:
    """A file to write (checked before any work is done), or the input error that names it:
    its folder must exist, and it must not be a folder itself."""
    if path is None:
        return
    if path.is_dir():
        raise InputError(f"{path} is a folder: give a file name to write")
    folder = path.parent
    if not folder.is_dir():
        raise InputError(f"cannot write {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise InputError(f"cannot write {path}: the folder {folder} is not writable")


def _settings_sentence(exc: Any) -> str:
    """One sentence naming each invalid ``REALNAME_*`` variable and why (never its value: a
    setting may be a key)."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        variable = f"REALNAME_{field.upper()}" if field else "a REALNAME_* setting"
        problems.append(f"{variable} ({error['msg'][:1].lower()}{error['msg'][1:]})")
    verb = "is" if len(problems) == 1 else "are"
    return f"{' and '.join(problems)} {verb} not valid; fix it in the environment or .env."


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Errors as one line, never a traceback: the library's with their code (exit 2 for an
    unusable input, 3 otherwise), an invalid setting as one sentence naming the variable, and a
    file the system refused to read or write (missing, a folder, no permission: a race past
    :func:`require_file`) as ``INPUT_INVALID`` naming it (exit 2)."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError
    from rich.markup import escape

    try:
        yield
    except RealnameError as exc:
        _fail(exc)
    except ValidationError as exc:
        if exc.title not in _SETTINGS_CLASSES:
            raise
        sentence = escape(_settings_sentence(exc))
        err_console.print(f"[bold red]error SETUP_INVALID[/]: {sentence}", soft_wrap=True)
        raise typer.Exit(EXIT_SETUP) from None
    except SettingsError as exc:  # a value pydantic-settings could not even decode
        sentence = escape(str(exc).split("\n")[0])
        err_console.print(f"[bold red]error SETUP_INVALID[/]: {sentence}", soft_wrap=True)
        raise typer.Exit(EXIT_SETUP) from None
    except OSError as exc:
        if exc.filename is None:
            raise
        reason = (exc.strerror or type(exc).__name__).lower()
        _fail(InputError(f"{os.fsdecode(exc.filename)}: {reason}"))


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr; the body gets ``update(done, total)``."""
    with Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def load_runtime(engine: str | None) -> tuple[Any, Any]:
    """The configured detector with ``engine`` (or the configured embedder), and the policy."""
    from realname.engines import load_engines
    from realname.policy import load_policy

    settings = Settings()
    engines = load_engines(settings.face_detector, engine or settings.face_embedder)
    return engines, load_policy(settings.policy_file)


def load_liveness_runtime() -> tuple[Any, Any]:
    """The configured engines with the landmarker, and a policy that has a liveness section."""
    policy = load_liveness_policy()
    return load_liveness_engines(), policy


def load_liveness_policy() -> Any:
    """The configured policy, which must have a liveness section (read before the engines
    load, so that an unusable clip is refused at once)."""
    from realname.policy import load_policy

    policy = load_policy(Settings().policy_file)
    if policy.liveness is None:
        raise InputError(f"policy {policy.version} has no liveness section")
    return policy


def load_liveness_engines() -> Any:
    """The configured detector, embedder and landmarker."""
    from realname.engines import load_engines

    settings = Settings()
    return load_engines(settings.face_detector, settings.face_embedder, settings.landmarker)


def percent(value: float | None) -> str:
    """A rate as ``12.34%``, or ``n/a``."""
    return "n/a" if value is None else f"{100 * value:.2f}%"


def service_settings(**values: Any) -> ServiceSettings:
    """The service's settings (``REALNAME_*`` variables or .env; ``values`` override them)."""
    from realname.service.settings import ServiceSettings

    return ServiceSettings(**values)


def service_context(settings: ServiceSettings | None = None) -> Any:
    """The service's parts without the web app: settings and keys checked, database migrated."""
    from realname.service.app import build_context
    from realname.service.store.migrate import upgrade

    ctx = build_context(settings or service_settings())
    upgrade(ctx.database)
    return ctx
