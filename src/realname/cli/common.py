"""What every command shares: the two consoles, errors rendered as one line (never a
traceback), the progress bar, and loading the engines, the policy and the service's parts.

Everything heavy is imported inside the functions: importing this module loads no model and
imports nothing of :mod:`realname.service`.
"""

from __future__ import annotations

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
    "EngineOpt",
    "console",
    "err_console",
    "load_liveness_runtime",
    "load_runtime",
    "one_line_errors",
    "percent",
    "progress_bar",
    "require_folder",
    "service_context",
    "service_settings",
]

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


def _fail(exc: RealnameError) -> None:
    from rich.markup import escape

    # escaped: a detail such as "pip install 'realname[dlib]'" is not markup
    err_console.print(f"[bold red]error {exc.code}[/]: {escape(exc.detail)}")
    raise typer.Exit(2 if isinstance(exc, InputError) else 3)


def require_folder(data: Path) -> None:
    """An evaluation's data folder, or the input error that names it."""
    if not data.is_dir():
        raise InputError(f"data folder {data} does not exist")


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
    unusable input, 3 otherwise), an invalid setting as one sentence naming the variable."""
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
        raise typer.Exit(3) from None
    except SettingsError as exc:  # a value pydantic-settings could not even decode
        sentence = escape(str(exc).split("\n")[0])
        err_console.print(f"[bold red]error SETUP_INVALID[/]: {sentence}", soft_wrap=True)
        raise typer.Exit(3) from None


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
    from realname.engines import load_engines
    from realname.policy import load_policy

    settings = Settings()
    engines = load_engines(settings.face_detector, settings.face_embedder, settings.landmarker)
    policy = load_policy(settings.policy_file)
    if policy.liveness is None:
        raise InputError(f"policy {policy.version} has no liveness section")
    return engines, policy


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
